"""The web tier's lines in ``chaos-sre lab status`` and its part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Instances per AZ, target health, cut-off subnets and the load balancer's nodes in DNS."""
    lines = []
    for zone, states in sorted(status.get("instances_by_az", {}).items()):
        lines.append(f"{zone}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    for name, states in sorted(status.get("target_health", {}).items()):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no targets"
        lines.append(f"target group {name}: {counts}")
    if status.get("unreachable_subnets"):
        lines.append(f"unreachable subnets: {', '.join(status['unreachable_subnets'])}")
    for name, nodes in sorted(status.get("load_balancer_nodes", {}).items()):
        shown = ", ".join(n["availability_zone"] + ("" if n["answers"] else " (cut off)")
                          + (" (leaving DNS)" if n["leaving"] else "") for n in nodes)
        lines.append(f"load balancer {name} nodes in DNS: {shown or 'none'}")
    return lines


def snapshot(clients: Clients) -> dict[str, Any]:
    """The web tier's subnets' network ACLs, its Auto Scaling group, its load balancer's
    subnets and its targets' health."""
    ec2, elbv2 = clients("ec2"), clients("elbv2")
    subnets = {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]}
    acls = {a["SubnetId"]: acl["NetworkAclId"] for acl in ec2.describe_network_acls()["NetworkAcls"]
            for a in acl["Associations"] if a["SubnetId"] in subnets}
    group = clients("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    balancer = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
    target_group = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
    health = elbv2.describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
    return {
        "acls": acls, "asg": (group["DesiredCapacity"], sorted(group["VPCZoneIdentifier"].split(",")),
                              sorted(p["ProcessName"] for p in group["SuspendedProcesses"])),
        "lb_subnets": sorted(z["SubnetId"] for z in balancer["AvailabilityZones"]),
        "healthy_web_targets": sorted(t["TargetHealth"]["State"] for t in health),
    }
