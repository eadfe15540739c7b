"""The sample application's part of the account snapshot (tests compare it before and after a run)."""

from typing import Any

from chaos_sre.lab.core.plugin import Clients


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
