"""Probes on the AWS state of a service's web tier (read only, paginated)."""

import ipaddress
from typing import Any

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.aws.polling import poll_wall_seconds
from chaos_sre.errors import AWSError
from chaos_sre.permissions import requires
from chaos_sre.services.autoscaling import auto_scaling_group
from chaos_sre.services.elb import target_group, target_group_arn
from chaos_sre.timescale import wall_seconds
from chaos_sre.waiting import WaitTimeout, poll

__all__ = [
    "asg_at_desired_capacity",
    "availability_zone_of",
    "healthy_target_count",
    "healthy_targets_per_az",
    "instances_per_az",
    "wait_for_healthy_targets",
]

MAX_WAIT_SECONDS = 3600.0


def _count_by_zone(zones: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for zone in zones:
        counts[zone] = counts.get(zone, 0) + 1
    return dict(sorted(counts.items()))


@requires("elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth")
def healthy_target_count(
    target_group_name: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> int:
    """Number of targets the load balancer reports `healthy` in a target group.

    Example tolerance: `{"type": "range", "range": [6, 6]}` for all six
    instances of the lab's `web` tier.
    """
    client = aws_client("elbv2", configuration, secrets)
    arn = target_group_arn(client, target_group_name)
    health = call(client, "describe_target_health", TargetGroupArn=arn)["TargetHealthDescriptions"]
    return sum(1 for t in health if t["TargetHealth"]["State"] == "healthy")


@requires("elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth")
def wait_for_healthy_targets(
    target_group_name: str,
    count: int,
    timeout_seconds: float = 300.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> int:
    """Wait until at least `count` targets are healthy; return the healthy count.

    Polls DescribeTargetHealth every 5 AWS seconds for at most `timeout_seconds`
    (capped at one hour) and returns the last count, so a tolerance such as
    `{"type": "range", "range": [6, 1000]}` fails when the tier did not heal
    in time.
    """
    def check() -> tuple[bool, int]:
        healthy = healthy_target_count(target_group_name, configuration, secrets)
        return healthy >= count, healthy

    try:
        return poll(check, what=f"{count} healthy targets in {target_group_name}",
                    timeout_seconds=min(wall_seconds(timeout_seconds), MAX_WAIT_SECONDS),
                    interval_seconds=poll_wall_seconds("elasticloadbalancing"), aws_time=False)
    except WaitTimeout:
        return healthy_target_count(target_group_name, configuration, secrets)


@requires("autoscaling:DescribeAutoScalingGroups")
def instances_per_az(
    asg_name: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, int]:
    """In-service instances of an Auto Scaling group, counted per Availability Zone.

    Returns e.g. `{"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}`.
    """
    group = auto_scaling_group(aws_client("autoscaling", configuration, secrets), asg_name)
    return _count_by_zone([i["AvailabilityZone"] for i in group["Instances"]
                           if i["LifecycleState"] == "InService"])


@requires("elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
          "ec2:DescribeInstances", "ec2:DescribeSubnets")
def healthy_targets_per_az(
    target_group_name: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Healthy targets of a target group per Availability Zone, e.g. `{"us-east-1a": 2, ...}`.

    Instance targets are placed by DescribeInstances; IP targets (ECS tasks on awsvpc, for
    instance) by the subnet of the target group's VPC whose CIDR holds the address."""
    client = aws_client("elbv2", configuration, secrets)
    group = target_group(client, target_group_name)
    healthy = [t["Target"]["Id"] for t in
               call(client, "describe_target_health",
                    TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
               if t["TargetHealth"]["State"] == "healthy"]
    if not healthy:
        return {}
    ec2 = aws_client("ec2", configuration, secrets)
    kind = group.get("TargetType", "instance")
    if kind == "ip":
        subnets = [(ipaddress.ip_network(s["CidrBlock"]), s["AvailabilityZone"])
                   for s in paginate(ec2, "describe_subnets", "Subnets",
                                     Filters=[{"Name": "vpc-id", "Values": [group["VpcId"]]}])]
        return _count_by_zone([zone for address in healthy for network, zone in subnets
                               if ipaddress.ip_address(address) in network])
    if kind != "instance":
        raise AWSError(f"target group {target_group_name} has {kind} targets, which have no "
                       "Availability Zone to count by")
    return _count_by_zone([i["Placement"]["AvailabilityZone"]
                           for r in paginate(ec2, "describe_instances", "Reservations",
                                             InstanceIds=healthy)
                           for i in r["Instances"]])


@requires("autoscaling:DescribeAutoScalingGroups")
def asg_at_desired_capacity(
    asg_name: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> bool:
    """True when the Auto Scaling group has as many InService instances as it desires."""
    group = auto_scaling_group(aws_client("autoscaling", configuration, secrets), asg_name)
    in_service = sum(1 for i in group["Instances"] if i["LifecycleState"] == "InService")
    return in_service == group["DesiredCapacity"]


@requires("ec2:DescribeSubnets", "ec2:DescribeInstances")
def availability_zone_of(
    resource_id: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> str:
    """The Availability Zone of an EC2 instance (`i-...`) or subnet (`subnet-...`)."""
    ec2 = aws_client("ec2", configuration, secrets)
    if resource_id.startswith("subnet-"):
        subnets = list(paginate(ec2, "describe_subnets", "Subnets", SubnetIds=[resource_id]))
        return str(subnets[0]["AvailabilityZone"])
    if resource_id.startswith("i-"):
        for reservation in paginate(ec2, "describe_instances", "Reservations", InstanceIds=[resource_id]):
            return str(reservation["Instances"][0]["Placement"]["AvailabilityZone"])
    raise AWSError(f"cannot tell the Availability Zone of {resource_id!r}")
