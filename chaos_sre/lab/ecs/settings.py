"""ECS's profile part and AWS timings (AWS seconds; docs/lab.md gives each source)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EcsProfile:
    """How ECS service ``api`` is built and how the web tier copes when it is down."""

    api_task_count: int
    """Desired count of service ``api`` (its tasks are spread over the three AZs)."""
    image_pull_seconds: float
    """A new task's ``PENDING`` time: pulling the container image."""
    app_start_seconds: float
    """From the container's start (task ``RUNNING``) until the application answers."""
    web_fallback: bool
    """Whether web pages serve a fallback (200) when ``api`` cannot answer; else they fail (500)."""
    scalable_target: tuple[int, int] | None
    """Application Auto Scaling (min, max) of the service's desired count; None: not registered."""


@dataclass(frozen=True)
class EcsTimings:
    """AWS-side delays of ECS that do not depend on the profile."""

    ecs_scheduler_seconds: float = 2.0
    """Mean time between the ECS service scheduler's looks at a service (each gap 0.5x-1.5x)."""
    ecs_provisioning_seconds: float = 10.0
    """A new Fargate task's ``PROVISIONING`` time (capacity and its network interface)."""
    ecs_activating_seconds: float = 2.0
    """``ACTIVATING``: ECS registers the task with its target group, then it is ``RUNNING``."""
    ecs_stopping_seconds: float = 5.0
    """``STOPPING``: the container gets SIGTERM and exits (after draining)."""
    ecs_deprovisioning_seconds: float = 5.0
    """``DEPROVISIONING``: the task's network interface is detached and deleted."""


TIMINGS = EcsTimings()
PROFILES = {
    "resilient": EcsProfile(api_task_count=3, image_pull_seconds=10.0, app_start_seconds=10.0,
                            web_fallback=True, scalable_target=(3, 9)),
    "fragile": EcsProfile(api_task_count=1, image_pull_seconds=30.0, app_start_seconds=90.0,
                          web_fallback=False, scalable_target=None),
}
