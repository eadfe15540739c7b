"""ECS services as faults and probes read them: descriptions, scaling targets, healthy targets.

"Stable" is what the boto3 `services_stable` waiter checks: one deployment, and
as many running tasks as desired. Healthy targets are counted in each target
group the service registers its tasks with (DescribeTargetHealth); the service
has the fewest of any group.
"""

from typing import Any, TypedDict

from chaos_sre.aws import call, tag_dict
from chaos_sre.errors import AWSError
from chaos_sre.services import application_autoscaling
from chaos_sre.services.application_autoscaling import ScalableTarget
from chaos_sre.waiting import poll

DESIRED_COUNT = "ecs:service:DesiredCount"
NAMESPACE = "ecs"
FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """DescribeServices for one ACTIVE service (a missing or deleted one is a one-line error)."""
    answer = call(ecs, "describe_services", cluster=cluster, services=[service], include=["TAGS"])
    found = [s for s in answer.get("services") or [] if s.get("status") == "ACTIVE"]
    if not found:
        raise AWSError(f"ECS service {service} not found (or not ACTIVE) in cluster {cluster}",
                       code="ServiceNotFoundException", operation="describe_services")
    return found[0]


def managed_scaling_groups(ecs: Any, cluster: str, description: dict[str, Any]) -> dict[str, str]:
    """The EC2 capacity providers a described service runs on whose managed scaling is on, with
    their Auto Scaling group ARN: ``{provider name: group ARN}``.

    The service's own capacity provider strategy, else (without a launch type) the cluster's
    default one. Managed scaling sizes the group to the tasks placed on it ("Amazon ECS capacity
    provider managed scaling",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers-managed-scaling.html),
    so the group shrinks when the service's tasks go.
    """
    strategy = description.get("capacityProviderStrategy") or []
    if not strategy and not description.get("launchType"):
        clusters = call(ecs, "describe_clusters", clusters=[cluster]).get("clusters") or []
        strategy = (clusters[0].get("defaultCapacityProviderStrategy") or []) if clusters else []
    names = sorted({str(s["capacityProvider"]) for s in strategy} - FARGATE_PROVIDERS)
    if not names:
        return {}
    providers = call(ecs, "describe_capacity_providers", capacityProviders=names)
    found = {}
    for provider in providers.get("capacityProviders") or []:
        group = provider.get("autoScalingGroupProvider") or {}
        if (group.get("managedScaling") or {}).get("status") == "ENABLED":
            found[str(provider["name"])] = str(group.get("autoScalingGroupArn", ""))
    return found


def tags_of(description: dict[str, Any]) -> dict[str, str]:
    """A described service's tags as a dict."""
    return tag_dict(description.get("tags"), "key", "value")


def resource_id(cluster: str, service: str) -> str:
    """The Application Auto Scaling resource id of a service: ``service/CLUSTER/SERVICE``."""
    return f"service/{cluster.split('/')[-1]}/{service.split('/')[-1]}"


class ServiceSettings(TypedDict):
    """What a desired-count change touches, as the ledger records it before the change."""

    desired_count: int
    scalable_target: ScalableTarget | None


def scalable_target(scaling: Any, cluster: str, service: str) -> ScalableTarget | None:
    """The service's desired-count scalable target as {min, max, suspended}, or None."""
    return application_autoscaling.scalable_target(scaling, NAMESPACE, resource_id(cluster, service),
                                                   DESIRED_COUNT)


def settings_of(ecs: Any, scaling: Any, cluster: str, service: str) -> ServiceSettings:
    """What a desired-count change touches: the desired count and the scalable target."""
    return {"desired_count": int(describe_service(ecs, cluster, service)["desiredCount"]),
            "scalable_target": scalable_target(scaling, cluster, service)}


def is_stable(description: dict[str, Any]) -> bool:
    """The `services_stable` waiter's rule: one deployment, running == desired."""
    return len(description.get("deployments") or []) == 1 \
        and description.get("runningCount") == description.get("desiredCount")


def healthy_targets_per_group(elbv2: Any, description: dict[str, Any]) -> dict[str, int]:
    """Healthy targets in each target group of a described service (by target group ARN)."""
    healthy: dict[str, int] = {}
    for balancer in description.get("loadBalancers") or []:
        arn = balancer.get("targetGroupArn")
        if not arn or arn in healthy:
            continue
        answer = call(elbv2, "describe_target_health", TargetGroupArn=arn)
        healthy[arn] = sum(1 for d in answer.get("TargetHealthDescriptions", [])
                           if d["TargetHealth"]["State"] == "healthy")
    return healthy


def count_healthy_targets(elbv2: Any, description: dict[str, Any]) -> int:
    """The service's healthy targets: the fewest in any of its target groups.

    A service registered with several target groups (a listener each, or a path each) registers
    every task in each, and each group serves its own traffic: the service is as healthy as its
    least healthy group, not as the sum over the groups (which reached the task count with half
    the tasks healthy in two groups).
    """
    return min(healthy_targets_per_group(elbv2, description).values(), default=0)


def wait_healthy(ecs: Any, elbv2: Any, cluster: str, service: str, *, timeout_seconds: float,
                 poll_seconds: float) -> int:
    """Wait (wall seconds) until each target group of the service has as many healthy targets as
    desired tasks; return the fewest healthy in any group."""
    def check() -> tuple[bool, tuple[int, int]]:
        description = describe_service(ecs, cluster, service)
        desired = int(description["desiredCount"])
        healthy = count_healthy_targets(elbv2, description) if description.get("loadBalancers") \
            else desired
        return healthy >= desired, (healthy, desired)

    healthy, _ = poll(check, what=f"ECS service {service} in cluster {cluster} with every target "
                      "healthy", timeout_seconds=timeout_seconds, interval_seconds=poll_seconds,
                      describe=lambda seen: f"{seen[0]} of {seen[1]} healthy", aws_time=False)
    return healthy
