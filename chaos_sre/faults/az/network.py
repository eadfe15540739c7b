"""What a blackhole of an AZ touches and how it cuts: the one VPC it may reach, the runner's
subnets it must not, the load balancers and groups it shrinks, the run's deny-all network ACL."""

import logging
from typing import Any

from chaos_sre.aws import call, call_on_new, paginate, tag_dict
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.az.checks import SuspendedProcesses
from chaos_sre.faults.registry import PlannedCall, Share, Target
from chaos_sre.safety.ledger import Ledger
from chaos_sre.safety.runner import runner_network_interfaces
from chaos_sre.services.ec2 import subnet_vpcs

logger = logging.getLogger("chaostoolkit")
RUN_TAG = "chaos-sre:fault"
RUN_ID_TAG = "chaos-sre:run"
"""Tags the deny-all network ACLs a run creates with the run (its ledger's name), so its rollback
deletes those and no other run's."""
ACL_NOT_FOUND = "InvalidNetworkAclID.NotFound"
"""EC2's answer for a network ACL it does not know (yet: a new one is eventually consistent)."""
AZ_REBALANCE = "AZRebalance"


def scoped_vpc(ec2: Any, vpc_id: str | None, groups: list[dict[str, Any]],
                balancers: list[dict[str, Any]]) -> str:
    """The one VPC a blackhole may touch: ``vpc_id``, else the VPC of the named ASGs and load
    balancers; refused when they are in several, or in another than ``vpc_id``, or none is named."""
    group_subnets = {g["AutoScalingGroupName"]: [s for s in g["VPCZoneIdentifier"].split(",") if s]
                     for g in groups}
    vpc_of = subnet_vpcs(ec2, [s for subnets in group_subnets.values() for s in subnets])
    owners = {f"Auto Scaling group {name}": {vpc_of[s] for s in subnets}
              for name, subnets in group_subnets.items()}
    owners.update({f"load balancer {b['LoadBalancerName']}": {b["VpcId"]} for b in balancers})
    named = set().union(*owners.values()) if owners else set()
    if vpc_id:
        strays = sorted(owner for owner, vpcs in owners.items() if vpcs != {vpc_id})
        if strays:
            raise ValidationError(f"{', '.join(strays)} not in {vpc_id} (vpc_id): refusing a "
                                  "blackhole across VPCs")
        return vpc_id
    if len(named) > 1:
        raise ValidationError(f"the named Auto Scaling groups and load balancers span VPCs "
                              f"{', '.join(sorted(named))}: set vpc_id to the one to cut the AZ "
                              "off in")
    if not named:
        raise ValidationError("name the VPC to cut the AZ off in (vpc_id), or the service's "
                              "asg_names or load_balancer_names: by AZ and tags alone the "
                              "blackhole would reach every VPC of the region")
    return named.pop()


def refuse_runner_subnets(ec2: Any, vpc_id: str, subnet_ids: set[str]) -> set[str]:
    """Refuse to cut off a subnet that holds the runner's own network interface; return the
    runner's subnets in ``vpc_id`` (none when it runs elsewhere)."""
    runner = runner_network_interfaces(ec2, vpc_id)
    held = {subnet: eni for subnet, eni in runner.items() if subnet in subnet_ids}
    if held:
        where = ", ".join(f"{subnet} ({eni})" for subnet, eni in sorted(held.items()))
        raise ValidationError(f"refusing to blackhole the runner's own subnet {where}: it could "
                              "not reach AWS to roll back; narrow tags to the service's subnets "
                              "or run from another subnet")
    return set(runner)


MANAGERS = {
    "eks:nodegroup-name": "an Amazon EKS managed node group (eks:nodegroup-name)",
    "elasticbeanstalk:environment-name":
        "an Elastic Beanstalk environment (elasticbeanstalk:environment-name)",
    "AmazonECSManaged": "an Amazon ECS capacity provider with managed scaling (AmazonECSManaged)",
}
"""Tags by which a service that owns an Auto Scaling group marks it. The owner keeps the group's
settings (subnets, capacity, processes) as its own configuration says: EKS through its
service-linked role AWSServiceRoleForAmazonEKSNodegroup, Elastic Beanstalk on every environment
update, ECS by its managed scaling policy; a change made behind its back is overwritten, or
makes the owner report the group as misconfigured."""


def refuse_managed_groups(groups: list[dict[str, Any]]) -> None:
    """Refuse to change the subnets or processes of an Auto Scaling group another AWS service
    manages (``MANAGERS``): the deny-all network ACL cuts its instances off all the same, so the
    group need only be left out of ``asg_names``."""
    managed = {g["AutoScalingGroupName"]: MANAGERS[tag["Key"]] for g in groups
               for tag in g.get("Tags") or [] if tag["Key"] in MANAGERS}
    if managed:
        which = "; ".join(f"{name} belongs to {owner}" for name, owner in sorted(managed.items()))
        raise ValidationError(
            f"refusing to change Auto Scaling groups another service manages: {which}; leave "
            "them out of asg_names (the network ACL still cuts their instances in the AZ off)")


def network_targets(az: str, subnets: list[dict[str, Any]], groups: list[dict[str, Any]],
                    balancers: list[dict[str, Any]], balancer_tags: dict[str, dict[str, str]]
                    ) -> tuple[list[Target], list[Share]]:
    """What a blackhole touches, for the guardrails: the AZ's subnets, the ASGs and load
    balancers (with ``balancer_tags``, by ARN), and the share of each group's instances in the AZ."""
    targets = [Target(f"ec2:subnet/{s['SubnetId']}", tag_dict(s.get("Tags")), az) for s in subnets]
    targets += [Target(f"autoscaling:{g['AutoScalingGroupName']}", tag_dict(g.get("Tags")))
                for g in groups]
    targets += [Target(f"elbv2:{b['LoadBalancerName']}", balancer_tags.get(b["LoadBalancerArn"], {}))
                for b in balancers]
    shares = [Share(f"Auto Scaling group {g['AutoScalingGroupName']}",
                    sum(1 for i in g["Instances"] if i["AvailabilityZone"] == az), len(g["Instances"]))
              for g in groups if g["Instances"]]
    return targets, shares


NEW_ACL = "network-acl/*"


def network_calls(ec2: Any, vpc_id: str, subnets: list[dict[str, Any]],
                  groups: list[tuple[dict[str, Any], list[str]]],
                  balancers: list[tuple[dict[str, Any], list[str], list[str]]],
                  balancer_tags: dict[str, dict[str, str]]) -> list[PlannedCall]:
    """Every call a blackhole and its restore make: the run's deny-all ACL created and tagged in
    ``vpc_id``, its entries, the subnets' associations swapped and swapped back, the ACL deleted;
    the shrunk groups' AZRebalance suspended and resumed and their subnets changed both ways; the
    shrunk load balancers' subnets set both ways."""
    vpcs = list(paginate(ec2, "describe_vpcs", "Vpcs", VpcIds=[vpc_id]))
    vpc_tags = tag_dict(vpcs[0].get("Tags")) if vpcs else {}
    requested = {f"aws:RequestTag/{RUN_TAG}": "deny-all"}
    ours = {RUN_TAG: "deny-all"}
    calls = [PlannedCall("ec2:CreateNetworkAcl", f"vpc/{vpc_id}", vpc_tags, requested),
             PlannedCall("ec2:CreateNetworkAcl", NEW_ACL, context=requested),
             PlannedCall("ec2:CreateTags", NEW_ACL,
                         context={**requested, "ec2:CreateAction": "CreateNetworkAcl"}),
             PlannedCall("ec2:CreateNetworkAclEntry", NEW_ACL, ours),
             PlannedCall("ec2:DeleteNetworkAcl", NEW_ACL, ours),
             PlannedCall("ec2:ReplaceNetworkAclAssociation", NEW_ACL, ours),
             PlannedCall("ec2:ReplaceNetworkAclAssociation", NEW_ACL)]
    calls += [PlannedCall("ec2:ReplaceNetworkAclAssociation", f"subnet/{s['SubnetId']}",
                          tag_dict(s.get("Tags"))) for s in subnets]
    for group, _ in groups:
        tags = tag_dict(group.get("Tags"))
        suspended = {p["ProcessName"] for p in group.get("SuspendedProcesses") or []}
        actions = ["UpdateAutoScalingGroup"] + (
            [] if AZ_REBALANCE in suspended else ["SuspendProcesses", "ResumeProcesses"])
        calls += [PlannedCall(f"autoscaling:{a}", group["AutoScalingGroupARN"], tags) for a in actions]
    calls += [PlannedCall("elasticloadbalancing:SetSubnets", b["LoadBalancerArn"],
                          balancer_tags.get(b["LoadBalancerArn"], {})) for b, _, _ in balancers]
    return calls


def named_balancers(elbv2: Any, names: list[str]) -> list[dict[str, Any]]:
    """The load balancers ``names`` (none: []); a name AWS does not know is a one-line error."""
    if not names:
        return []
    try:
        return list(paginate(elbv2, "describe_load_balancers", "LoadBalancers", Names=names))
    except AWSError as error:
        if error.code != "LoadBalancerNotFound":
            raise
        raise ValidationError(f"load_balancer_names: {', '.join(names)} - at least one is not a "
                              "load balancer of this account and Region (LoadBalancerNotFound); "
                              "name the service's ALB, or pass \"\" to leave load balancers as "
                              "they are") from error


def balancers_to_shrink(balancers: list[dict[str, Any]], subnet_ids: set[str]) -> tuple[
        list[tuple[dict[str, Any], list[str], list[str]]], dict[str, str]]:
    """The load balancers to remove the AZ's subnets from, each with its subnets now and after,
    and why the others are left as they are.

    Only Application Load Balancers lose subnets. Removing a subnet from a Network Load Balancer
    deletes that node's network interface with its Elastic IP or private address, and a
    Gateway Load Balancer refuses it ("Update the Availability Zones for your Network Load
    Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html);
    the deny-all network ACL cuts their nodes in the AZ off all the same.
    """
    shrink, left = [], {}
    for balancer in balancers:
        name = balancer["LoadBalancerName"]
        current = [z["SubnetId"] for z in balancer["AvailabilityZones"]]
        remaining = [s for s in current if s not in subnet_ids]
        if remaining == current:
            continue
        if balancer.get("Type", "application") != "application":
            left[name] = (f"a {balancer['Type']} load balancer's node in the AZ is cut off by the "
                          "network ACL; removing its subnet would delete the node's network "
                          "interface and its addresses")
        elif len(remaining) < 2:
            left[name] = "an Application Load Balancer needs two AZs"
        else:
            shrink.append((balancer, current, remaining))
    return shrink, left


def groups_to_shrink(groups: list[dict[str, Any]], subnet_ids: set[str],
                      az: str) -> list[tuple[dict[str, Any], list[str]]]:
    """(group, its subnets without the AZ's) for each ASG that has subnets in the AZ and others."""
    shrunk = []
    for group in groups:
        current = [s for s in group["VPCZoneIdentifier"].split(",") if s]
        remaining = [s for s in current if s not in subnet_ids]
        if remaining == current:
            continue
        if not remaining:
            logger.warning(f"chaos-sre: ASG {group['AutoScalingGroupName']} has no subnet outside "
                           f"{az}; leaving its subnets as they are")
            continue
        shrunk.append((group, remaining))
    return shrunk


def suspend_az_rebalance(autoscaling: Any, ledger: Ledger, group: dict[str, Any]) -> None:
    """Suspend the group's AZRebalance process for the run, unless it already is.

    Changing a group's subnets starts AZ rebalancing ("Rebalancing activities", EC2 Auto Scaling
    User Guide): instances launched and terminated at the fault, and again when the subnets come
    back. Suspended first, it is resumed last (the ledger replays newest first), after the
    network is restored, and the resume waits until the group is balanced again, so that
    happens inside the run and its verdict."""
    name = group["AutoScalingGroupName"]
    suspended = sorted(p["ProcessName"] for p in group.get("SuspendedProcesses") or [])
    if AZ_REBALANCE in suspended:
        return
    with ledger.mutation(f"autoscaling:{name}", "suspend_processes",
                         SuspendedProcesses(suspended_processes=suspended),
                         {"op": "resume_az_rebalance", "asg": name}, effect=False):
        call(autoscaling, "suspend_processes", AutoScalingGroupName=name,
             ScalingProcesses=[AZ_REBALANCE])


def create_deny_acl(ec2: Any, ledger: Ledger, vpc_id: str, az: str) -> str:
    """A new network ACL in ``vpc_id`` that denies all traffic both ways, tagged with the run so
    its rollback deletes it (and no other run's); recorded before it is created."""
    run_id = ledger.path.stem
    with ledger.mutation(f"ec2:vpc/{vpc_id}", "create_network_acl", None,
                         {"op": "delete_fault_network_acls", "vpc_id": vpc_id, "run": run_id},
                         effect=False) as mutation:
        acl = call(ec2, "create_network_acl", VpcId=vpc_id, TagSpecifications=[{
            "ResourceType": "network-acl",
            "Tags": [{"Key": RUN_TAG, "Value": "deny-all"},
                     {"Key": RUN_ID_TAG, "Value": run_id},
                     {"Key": "Name", "Value": f"chaos-sre-deny-{az}"}]}])
        mutation.applied()
        acl_id = mutation.outcome = str(acl["NetworkAcl"]["NetworkAclId"])
        for egress in (False, True):
            call_on_new(ec2, "create_network_acl_entry", not_found=ACL_NOT_FOUND,
                        NetworkAclId=acl_id, RuleNumber=1, Protocol="-1",
                        RuleAction="deny", Egress=egress, CidrBlock="0.0.0.0/0")
    return acl_id
