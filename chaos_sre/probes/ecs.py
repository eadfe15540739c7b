"""ECS probes: a service's task counts, whether it is stable, its healthy targets, its scaling.

Name the service with `cluster` and `service` (names or ARNs). "Stable" is
what the boto3 `services_stable` waiter checks: one deployment, and as many
running tasks as desired. Healthy targets are counted over the target groups
the service registers its tasks with (DescribeTargetHealth).
"""

import math
import time
from typing import Any

from chaos_sre import values
from chaos_sre.aws import aws_client, call, paginate, tag_dict, wait
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.permissions import requires

__all__ = [
    "running_task_count",
    "scaling_settings",
    "service_healthy_targets",
    "service_is_stable",
    "task_counts",
    "wait_until_stable",
]

DESIRED_COUNT = "ecs:service:DesiredCount"
SUSPENSION_KEYS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                   "ScheduledScalingSuspended")


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """DescribeServices for one ACTIVE service (a missing or deleted one is a one-line error)."""
    answer = call(ecs, "describe_services", cluster=cluster, services=[service], include=["TAGS"])
    found = [s for s in answer.get("services") or [] if s.get("status") == "ACTIVE"]
    if not found:
        raise AWSError(f"ECS service {service} not found (or not ACTIVE) in cluster {cluster}",
                       code="ServiceNotFoundException", operation="describe_services")
    return found[0]


def tags_of(description: dict[str, Any]) -> dict[str, str]:
    """A described service's tags as a dict."""
    return tag_dict(description.get("tags"), "key", "value")


def resource_id(cluster: str, service: str) -> str:
    """The Application Auto Scaling resource id of a service: ``service/CLUSTER/SERVICE``."""
    return f"service/{cluster.split('/')[-1]}/{service.split('/')[-1]}"


def scalable_target(scaling: Any, cluster: str, service: str) -> dict[str, Any] | None:
    """The service's desired-count scalable target as {min, max, suspended}, or None."""
    targets = list(paginate(scaling, "describe_scalable_targets", "ScalableTargets",
                            ServiceNamespace="ecs", ResourceIds=[resource_id(cluster, service)],
                            ScalableDimension=DESIRED_COUNT))
    if not targets:
        return None
    target = targets[0]
    suspended = target.get("SuspendedState") or {}
    return {"min": int(target["MinCapacity"]), "max": int(target["MaxCapacity"]),
            "suspended": {key: bool(suspended.get(key, False)) for key in SUSPENSION_KEYS}}


def settings_of(ecs: Any, scaling: Any, cluster: str, service: str) -> dict[str, Any]:
    """What a desired-count change touches: the desired count and the scalable target."""
    return {"desired_count": int(describe_service(ecs, cluster, service)["desiredCount"]),
            "scalable_target": scalable_target(scaling, cluster, service)}


def is_stable(description: dict[str, Any]) -> bool:
    """The `services_stable` waiter's rule: one deployment, running == desired."""
    return len(description.get("deployments") or []) == 1 \
        and description.get("runningCount") == description.get("desiredCount")


def count_healthy_targets(elbv2: Any, description: dict[str, Any]) -> int:
    """Healthy targets over the target groups of a described service."""
    healthy = 0
    for balancer in description.get("loadBalancers") or []:
        arn = balancer.get("targetGroupArn")
        if not arn:
            continue
        answer = call(elbv2, "describe_target_health", TargetGroupArn=arn)
        healthy += sum(1 for d in answer.get("TargetHealthDescriptions", [])
                       if d["TargetHealth"]["State"] == "healthy")
    return healthy


def wait_healthy(ecs: Any, elbv2: Any, cluster: str, service: str, *, timeout_seconds: float,
                 poll_seconds: float) -> int:
    """Wait until the service has as many healthy targets as desired tasks; return that count."""
    deadline = time.monotonic() + timeout_seconds
    for _ in range(max(1, math.ceil(timeout_seconds / poll_seconds)) + 1):
        description = describe_service(ecs, cluster, service)
        desired = int(description["desiredCount"])
        healthy = count_healthy_targets(elbv2, description) if description.get("loadBalancers") \
            else desired
        if healthy >= desired:
            return healthy
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_seconds)
    raise AWSError(f"ECS service {service} in cluster {cluster} did not have {desired} healthy "
                   f"targets within {timeout_seconds:g} s (it has {healthy})",
                   operation="describe_target_health")


def positive_seconds(name: str, value: Any) -> float:
    """``value`` as a finite number of seconds greater than 0, or a one-line ValidationError."""
    number = values.number(name, value)
    if not number > 0 or math.isinf(number):
        raise ValidationError(f"{name} must be greater than 0, got {value!r}")
    return number


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
    """Healthy targets in the target groups of the service's load balancers."""
    description = describe_service(aws_client("ecs", configuration, secrets), cluster, service)
    return count_healthy_targets(aws_client("elbv2", configuration, secrets), description)


@requires("ecs:DescribeServices", "application-autoscaling:DescribeScalableTargets")
def scaling_settings(cluster: str, service: str, configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The desired count and the Application Auto Scaling target (min, max, suspended) or None."""
    return settings_of(aws_client("ecs", configuration, secrets),
                       aws_client("application-autoscaling", configuration, secrets),
                       cluster, service)


@requires("ecs:DescribeServices")
def wait_until_stable(cluster: str, service: str, timeout_seconds: float = 600,
                      poll_seconds: float = 1, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, int]:
    """Wait (boto3 `services_stable` waiter) until the service is stable; return its task counts."""
    timeout = positive_seconds("timeout_seconds", timeout_seconds)
    poll = positive_seconds("poll_seconds", poll_seconds)
    ecs = aws_client("ecs", configuration, secrets)
    describe_service(ecs, cluster, service)
    wait(ecs, "services_stable", timeout_seconds=timeout, poll_seconds=poll,
         cluster=cluster, services=[service])
    return task_counts(cluster, service, configuration, secrets)
