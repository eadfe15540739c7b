"""ECS probes: a service's task counts, whether it is stable, its healthy targets, its scaling.

Name the service with `cluster` and `service` (names or ARNs). "Stable" is
what the boto3 `services_stable` waiter checks: one deployment, and as many
running tasks as desired. Healthy targets are counted over the target groups
the service registers its tasks with (DescribeTargetHealth).
"""

from typing import Any

from chaos_sre.aws import aws_client, wait
from chaos_sre.permissions import requires
from chaos_sre.services.ecs import ServiceSettings, count_healthy_targets, describe_service, is_stable, settings_of
from chaos_sre.timescale import wall_seconds
from chaos_sre.values import positive_seconds

__all__ = [
    "running_task_count",
    "scaling_settings",
    "service_healthy_targets",
    "service_is_stable",
    "task_counts",
    "wait_until_stable",
]

@requires("ecs:DescribeServices")
def task_counts(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                secrets: dict[str, Any] | None = None) -> dict[str, int]:
    """The service's desired, running and pending task counts (DescribeServices)."""
    description = describe_service(aws_client("ecs", configuration, secrets), cluster, service)
    return {"desired": int(description["desiredCount"]),
            "running": int(description["runningCount"]),
            "pending": int(description["pendingCount"])}


@requires("ecs:DescribeServices")
def running_task_count(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> int:
    """How many of the service's tasks are RUNNING (for a tolerance such as a range)."""
    return task_counts(cluster, service, configuration, secrets)["running"]


@requires("ecs:DescribeServices")
def service_is_stable(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> bool:
    """True when the service has one deployment and as many running tasks as desired."""
    return is_stable(describe_service(aws_client("ecs", configuration, secrets), cluster, service))


@requires("ecs:DescribeServices", "elasticloadbalancing:DescribeTargetHealth")
def service_healthy_targets(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                         secrets: dict[str, Any] | None = None) -> int:
    """The service's healthy targets: with several target groups, the fewest healthy in any one
    (each group serves its own listener or path; 0 for a service without a load balancer)."""
    description = describe_service(aws_client("ecs", configuration, secrets), cluster, service)
    return count_healthy_targets(aws_client("elbv2", configuration, secrets), description)


@requires("ecs:DescribeServices", "application-autoscaling:DescribeScalableTargets")
def scaling_settings(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> ServiceSettings:
    """The desired count and the Application Auto Scaling target (min, max, suspended) or None."""
    return settings_of(aws_client("ecs", configuration, secrets),
                       aws_client("application-autoscaling", configuration, secrets),
                       cluster, service)


@requires("ecs:DescribeServices")
def wait_until_stable(cluster: str, service: str, timeout_seconds: float = 600,
                      poll_seconds: float = 6, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, int]:
    """Wait (boto3 `services_stable` waiter, every `poll_seconds` AWS seconds) until the
    service is stable; return its task counts."""
    timeout = positive_seconds("timeout_seconds", timeout_seconds)
    poll = positive_seconds("poll_seconds", poll_seconds)
    ecs = aws_client("ecs", configuration, secrets)
    describe_service(ecs, cluster, service)
    wait(ecs, "services_stable", timeout_seconds=wall_seconds(timeout), poll_seconds=wall_seconds(poll),
         cluster=cluster, services=[service])
    return task_counts(cluster, service, configuration, secrets)
