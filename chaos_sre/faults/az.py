"""Availability Zone faults: lose an AZ's instances, or cut the AZ off the network.

Every mutation is preceded by a ledger entry with the resource's pre-state and
the inverse operation (``chaos_sre.safety.ledger``); ``restore_az`` replays
those inverses, so a rollback restores NACL associations, ASG subnets and load
balancer subnets exactly as they were.
"""

import logging
import math
import random
from typing import Any, Literal

from chaos_sre.aws import aws_client, call, call_on_new, paginate, tag_dict
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, Share, Target, fault
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.safety.runner import runner_network_interfaces
from chaos_sre.services.autoscaling import auto_scaling_group, imbalance
from chaos_sre.services.ec2 import (
    acl_of,
    az_subnets,
    service_instances,
    still_running,
    subnet_vpcs,
)
from chaos_sre.services.elb import resource_tags
from chaos_sre.waiting import poll

__all__ = ["blackhole_az", "restore_az", "terminate_az_instances"]

logger = logging.getLogger("chaostoolkit")
TERMINATE_BATCH = 1000
RUN_TAG = "chaos-sre:fault"
INSTANCES = "arn:aws:ec2:*:*:instance/*"
NETWORK_ACLS = "arn:aws:ec2:*:*:network-acl/*"
GROUPS = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"
DENY_ACL_REQUESTED = (("StringEquals", f"aws:RequestTag/{RUN_TAG}", "deny-all"),)
"""The deny-all ACL is created with its tag (as AWS FIS's network policy does: create and tag
only ACLs that carry the tool's tag)."""
DENY_ACL = (("StringEquals", f"aws:ResourceTag/{RUN_TAG}", "deny-all"),)
"""Entries are added to, and deletes made of, only ACLs that carry the tool's tag."""
KMS_GRANT_FOR_EC2 = (("Bool", "kms:GrantIsForAWSResource", "true"),)
"""Stop mode's restore starts instances; EC2 creates a grant on a customer managed key of their
EBS volumes on the caller's behalf, which needs kms:CreateGrant for an AWS resource
(https://repost.aws/knowledge-center/kms-iam-ec2-permission)."""
RUN_ID_TAG = "chaos-sre:run"
"""Tags the deny-all network ACLs a run creates with the run (its ledger's name), so its rollback
deletes those and no other run's."""
ACL_NOT_FOUND = "InvalidNetworkAclID.NotFound"
"""EC2's answer for a network ACL it does not know (yet: a new one is eventually consistent)."""
ASG_TAG = "aws:autoscaling:groupName"
AZ_REBALANCE = "AZRebalance"
REBALANCE_TIMEOUT_SECONDS = 600.0
"""How long the resume of AZRebalance waits for the group to be balanced again."""
REBALANCE_POLL_SECONDS = 10.0
"""AWS seconds between two looks at the group's balance (1 s in the lab at its time scale 0.1)."""
START_TIMEOUT_SECONDS = 300.0
"""How long the stop mode's restore waits for the instances it started to run."""
START_POLL_SECONDS = 5.0
"""AWS seconds between two looks at the started instances."""
REPLACES_STOPPED = ("HealthCheck", "ReplaceUnhealthy")
"""Auto Scaling processes that replace a stopped instance (it fails the EC2 health check)."""
MODES = ("all", "count", "percent")
Mode = Literal["all", "count", "percent"]


def _tags(tags: dict[str, str] | str | None) -> dict[str, str]:
    if tags is None or tags == "":
        return {}
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    parsed = {}
    for item in str(tags).split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"tags must look like key=value,key=value, got {tags!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def _names(names: list[str] | str | None) -> list[str]:
    if names is None or names == "":
        return []
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return [str(n) for n in names]


def select_targets(ids: list[str], mode: str, count: int | None, percent: float | None,
                   seed: int | None) -> list[str]:
    """Pick instances: all of them, ``count`` of them or ``percent`` % (rounded up), at random."""
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "all":
        return sorted(ids)
    if mode == "count":
        if count is None or int(count) < 1:
            raise ValidationError("mode count needs count >= 1")
        wanted = min(int(count), len(ids))
    else:
        if percent is None or not 0 < float(percent) <= 100:
            raise ValidationError("mode percent needs 0 < percent <= 100")
        wanted = math.ceil(float(percent) / 100 * len(ids))
    return sorted(random.Random(seed).sample(sorted(ids), wanted))


@fault(
    reads=[Permission("ec2:DescribeInstances"), Permission("autoscaling:DescribeAutoScalingGroups")],
    permissions=[Permission("ec2:TerminateInstances", INSTANCES, targets=True),
                 Permission("ec2:StopInstances", INSTANCES, targets=True, when="stop"),
                 Permission("ec2:StartInstances", INSTANCES, targets=True, when="stop"),
                 Permission("kms:CreateGrant", "arn:aws:kms:*:*:key/*", KMS_GRANT_FOR_EC2,
                            when="stop")],
    inverses=["start_instances"],
    effects=["terminate", "stop"],
)
def terminate_az_instances(
    az: str,
    tags: dict[str, str] | str | None = None,
    asg_names: list[str] | str | None = None,
    mode: Mode = "all",
    count: int | None = None,
    percent: float | None = None,
    seed: int | None = None,
    stop: bool = False,
    allow_total_outage: bool = False,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Terminate (or stop, with `stop: true`) the running instances of one Availability Zone.

    Stop mode is refused for instances of an Auto Scaling group that replaces
    unhealthy instances (it would terminate them); its restore starts them and
    waits until they run. Instances are chosen by `tags` (`{"app": "web"}` or `"app=web,env=staging"`)
    and/or `asg_names`; `mode` is `all`, `count` (with `count`) or `percent`
    (with `percent`), chosen at random with `seed`. Refuses a selection of
    zero instances, and one that takes every instance of the service in every
    AZ unless `allow_total_outage` is true. Calls are batched (1000 ids per
    TerminateInstances/StopInstances). With `dry_run` the targets are printed
    and nothing changes. Returns the instance ids and the number of calls.
    """
    tag_map, groups = _tags(tags), _names(asg_names)
    if not tag_map and not groups:
        raise ValidationError("select instances with tags and/or asg_names")
    ec2 = aws_client("ec2", configuration, secrets)
    service = service_instances(ec2, aws_client("autoscaling", configuration, secrets),
                                 tag_map, groups)
    in_az = [i["id"] for i in service if i["az"] == az]
    targets = select_targets(in_az, mode, count, percent, seed)
    if not targets:
        raise ValidationError(f"no running instances match in {az} (tags {tag_map}, ASGs {groups})")
    if len(targets) == len(service) and not allow_total_outage:
        raise ValidationError(
            f"refusing to take all {len(service)} instances of the service: every one is in {az} "
            "(set allow_total_outage to true to run it anyway)")
    verb = "stop" if stop else "terminate"
    if stop:
        _refuse_stopping_replaced_instances(aws_client("autoscaling", configuration, secrets),
                                            service, set(targets))

    def apply(ledger: Ledger) -> dict[str, Any]:
        calls = 0
        for first in range(0, len(targets), TERMINATE_BATCH):
            batch = targets[first:first + TERMINATE_BATCH]
            undo = {"op": "start_instances", "instance_ids": batch} if stop else None
            with ledger.mutation("ec2:instances", verb, {"instance_ids": batch, "state": "running",
                                                         "availability_zone": az}, undo):
                call(ec2, "stop_instances" if stop else "terminate_instances", InstanceIds=batch)
            calls += 1
        logger.info(f"chaos-sre: {verb} {len(targets)} instance(s) in {az} in {calls} call(s)")
        return {"calls": calls}

    chosen = set(targets)
    return Plan(targets=[Target(f"ec2:instance/{i['id']}", i["tags"], i["az"]) for i in service
                         if i["id"] in chosen],
                shares=_shares(service, chosen), apply=apply,
                summary={"action": verb, "availability_zone": az, "instance_ids": targets,
                         "calls": 0},
                action=f"{verb} {len(targets)} instance(s) in {az}: {', '.join(targets)}")


def _refuse_stopping_replaced_instances(autoscaling: Any, service: list[dict[str, Any]],
                                        chosen: set[str]) -> None:
    """Refuse stop mode for instances of an ASG that would replace them: a stopped instance fails
    the EC2 health check, and the group terminates it ("Health checks for instances in an Auto
    Scaling group"), so the stop is a termination the restore cannot start again."""
    groups = sorted({i["tags"][ASG_TAG] for i in service if i["id"] in chosen and ASG_TAG in i["tags"]})
    if not groups:
        return
    replacing = [g["AutoScalingGroupName"] for g in paginate(
        autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups", AutoScalingGroupNames=groups)
        if not {p["ProcessName"] for p in g.get("SuspendedProcesses") or []} & set(REPLACES_STOPPED)]
    if replacing:
        raise ValidationError(
            f"refusing to stop instances of Auto Scaling group {', '.join(sorted(replacing))}: "
            "it replaces a stopped instance (EC2 health check), so nothing would be left to "
            "start again; terminate them instead, or suspend the group's ReplaceUnhealthy "
            "process to keep them stopped")


def _shares(service: list[dict[str, Any]], chosen: set[str]) -> list[Share]:
    """Per Auto Scaling group: how many of its running instances the fault takes."""
    totals: dict[str, list[int]] = {}
    for instance in service:
        group = instance["tags"].get(ASG_TAG)
        if group:
            counts = totals.setdefault(group, [0, 0])
            counts[0] += instance["id"] in chosen
            counts[1] += 1
    return [Share(f"Auto Scaling group {g}", n, total) for g, (n, total) in sorted(totals.items())
            if n]


def _scoped_vpc(ec2: Any, vpc_id: str | None, groups: list[dict[str, Any]],
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


def _refuse_runner_subnets(ec2: Any, vpc_id: str, subnet_ids: set[str]) -> None:
    """Refuse to cut off a subnet that holds the runner's own network interface."""
    held = {subnet: eni for subnet, eni in runner_network_interfaces(ec2, vpc_id).items()
            if subnet in subnet_ids}
    if held:
        where = ", ".join(f"{subnet} ({eni})" for subnet, eni in sorted(held.items()))
        raise ValidationError(f"refusing to blackhole the runner's own subnet {where}: it could "
                              "not reach AWS to roll back; narrow tags to the service's subnets "
                              "or run from another subnet")


def _network_targets(az: str, subnets: list[dict[str, Any]], groups: list[dict[str, Any]],
                     balancers: list[dict[str, Any]], elbv2: Any) -> tuple[list[Target], list[Share]]:
    """What a blackhole touches, for the guardrails: the AZ's subnets, the ASGs and load
    balancers, and the share of each group's instances in the AZ."""
    targets = [Target(f"ec2:subnet/{s['SubnetId']}", tag_dict(s.get("Tags")), az) for s in subnets]
    targets += [Target(f"autoscaling:{g['AutoScalingGroupName']}", tag_dict(g.get("Tags")))
                for g in groups]
    tags = resource_tags(elbv2, [b["LoadBalancerArn"] for b in balancers])
    targets += [Target(f"elbv2:{b['LoadBalancerName']}", tags.get(b["LoadBalancerArn"], {}))
                for b in balancers]
    shares = [Share(f"Auto Scaling group {g['AutoScalingGroupName']}",
                    sum(1 for i in g["Instances"] if i["AvailabilityZone"] == az), len(g["Instances"]))
              for g in groups if g["Instances"]]
    return targets, shares


@fault(
    reads=[Permission("ec2:DescribeSubnets"), Permission("ec2:DescribeNetworkAcls"),
           Permission("ec2:DescribeNetworkInterfaces"),
           Permission("autoscaling:DescribeAutoScalingGroups"),
           Permission("elasticloadbalancing:DescribeLoadBalancers"),
           Permission("elasticloadbalancing:DescribeTags")],
    permissions=[Permission("ec2:CreateNetworkAcl", NETWORK_ACLS, DENY_ACL_REQUESTED),
                 Permission("ec2:CreateNetworkAcl", "arn:aws:ec2:*:*:vpc/*", targets=True),
                 Permission("ec2:CreateTags", NETWORK_ACLS,
                            (("StringEquals", "ec2:CreateAction", "CreateNetworkAcl"),
                             *DENY_ACL_REQUESTED)),
                 Permission("ec2:CreateNetworkAclEntry", NETWORK_ACLS, DENY_ACL),
                 Permission("ec2:DeleteNetworkAcl", NETWORK_ACLS, DENY_ACL),
                 Permission("ec2:ReplaceNetworkAclAssociation", NETWORK_ACLS),
                 Permission("ec2:ReplaceNetworkAclAssociation", "arn:aws:ec2:*:*:subnet/*",
                            targets=True),
                 Permission("autoscaling:UpdateAutoScalingGroup", GROUPS, targets=True),
                 Permission("autoscaling:SuspendProcesses", GROUPS, targets=True),
                 Permission("autoscaling:ResumeProcesses", GROUPS, targets=True),
                 Permission("elasticloadbalancing:SetSubnets",
                            "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*", targets=True,
                            when="load_balancer_names")],
    inverses=["delete_fault_network_acls", "restore_nacl", "restore_asg_subnets",
              "resume_az_rebalance", "restore_lb_subnets"],
    effects=["replace_network_acl_association"],
)
def blackhole_az(
    az: str,
    tags: dict[str, str] | str | None = None,
    asg_names: list[str] | str | None = None,
    load_balancer_names: list[str] | str | None = None,
    vpc_id: str | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Cut one Availability Zone off the network, as far as the AWS APIs allow.

    The AZ's subnets in one VPC (chosen by `tags`) are associated with a new
    deny-all network ACL; they are removed from the `asg_names` Auto Scaling
    groups so nothing relaunches there (unless that would leave a group without
    subnets; the group's AZRebalance is suspended first, so the change does not
    churn its instances, and resumed last) and, optionally, from the `load_balancer_names`
    Application Load Balancers (unless that would leave fewer than two AZs; a Network or
    Gateway Load Balancer keeps its subnets, whose nodes the ACL cuts off: removing one would
    delete the node's network interface with its Elastic IP). The VPC is `vpc_id`, else the
    one the named groups and load balancers are in; with neither the fault is
    refused, as it is when a chosen subnet holds the runner's own network
    interface (it could not roll back). An ALB's node in the AZ stays in DNS
    while the subnet is the load balancer's, answering nothing once the ACL
    cuts it off: its subnet is removed before the cut and given back after
    the network is restored, so clients leave it one DNS TTL (60 s) after the
    cut starts. Every change is recorded with its inverse first; `restore_az`
    undoes them, newest first. With `dry_run` the plan is printed only.
    """
    tag_map = _tags(tags)
    ec2 = aws_client("ec2", configuration, secrets)
    plan: dict[str, Any] = {"availability_zone": az, "asg_names": _names(asg_names),
                            "load_balancer_names": _names(load_balancer_names)}
    autoscaling = aws_client("autoscaling", configuration, secrets)
    groups = list(paginate(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
                           AutoScalingGroupNames=plan["asg_names"])) if plan["asg_names"] else []
    elbv2 = aws_client("elbv2", configuration, secrets)
    balancers = _named_balancers(elbv2, plan["load_balancer_names"])
    plan["vpc_id"] = _scoped_vpc(ec2, vpc_id, groups, balancers)
    subnets = az_subnets(ec2, az, plan["vpc_id"], tag_map)
    if not subnets:
        raise ValidationError(f"no subnets in {az} of {plan['vpc_id']} match tags {tag_map}")
    subnet_ids = {s["SubnetId"] for s in subnets}
    _refuse_runner_subnets(ec2, plan["vpc_id"], subnet_ids)
    plan["subnet_ids"] = sorted(subnet_ids)
    shrinkable, plan["load_balancers_left_as_they_are"] = _balancers_to_shrink(balancers, subnet_ids)
    for name, why in plan["load_balancers_left_as_they_are"].items():
        logger.warning(f"chaos-sre: leaving the subnets of load balancer {name} as they are: {why}")

    def apply(ledger: Ledger) -> dict[str, Any]:
        shrunk = _groups_to_shrink(groups, subnet_ids, az)
        for group, _ in shrunk:
            _suspend_az_rebalance(autoscaling, ledger, group)
        for balancer, current, remaining in shrinkable:
            with ledger.mutation(f"elbv2:{balancer['LoadBalancerName']}", "set_subnets",
                                 {"subnets": current},
                                 {"op": "restore_lb_subnets",
                                  "load_balancer_arn": balancer["LoadBalancerArn"],
                                  "subnets": current}):
                call(elbv2, "set_subnets", LoadBalancerArn=balancer["LoadBalancerArn"],
                     Subnets=remaining)
        deny_acl = _create_deny_acl(ec2, ledger, plan["vpc_id"], az)
        for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
            original, association = acl_of(ec2, subnet["SubnetId"])
            with ledger.mutation(f"ec2:subnet/{subnet['SubnetId']}",
                                 "replace_network_acl_association", {"network_acl_id": original},
                                 {"op": "restore_nacl", "subnet_id": subnet["SubnetId"],
                                  "network_acl_id": original}):
                call_on_new(ec2, "replace_network_acl_association", not_found=ACL_NOT_FOUND,
                            AssociationId=association, NetworkAclId=deny_acl)
        for group, remaining in shrunk:
            name = group["AutoScalingGroupName"]
            removed = sorted(set(group["VPCZoneIdentifier"].split(",")) - set(remaining) - {""})
            with ledger.mutation(f"autoscaling:{name}", "update_subnets",
                                 {"vpc_zone_identifier": group["VPCZoneIdentifier"]},
                                 {"op": "restore_asg_subnets", "asg": name, "removed": removed,
                                  "vpc_zone_identifier": group["VPCZoneIdentifier"]}):
                call(autoscaling, "update_auto_scaling_group", AutoScalingGroupName=name,
                     VPCZoneIdentifier=",".join(remaining))
        logger.info(f"chaos-sre: {az} cut off: subnets {', '.join(plan['subnet_ids'])}")
        return {"network_acl_ids": [deny_acl]}

    targets, shares = _network_targets(az, subnets, groups, balancers, elbv2)
    return Plan(targets=targets, shares=shares, summary=plan, apply=apply,
                action=f"blackhole {az}: {plan}")


def _named_balancers(elbv2: Any, names: list[str]) -> list[dict[str, Any]]:
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


def _balancers_to_shrink(balancers: list[dict[str, Any]], subnet_ids: set[str]) -> tuple[
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


def _groups_to_shrink(groups: list[dict[str, Any]], subnet_ids: set[str],
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


def _suspend_az_rebalance(autoscaling: Any, ledger: Ledger, group: dict[str, Any]) -> None:
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
                         {"suspended_processes": suspended},
                         {"op": "resume_az_rebalance", "asg": name}, effect=False):
        call(autoscaling, "suspend_processes", AutoScalingGroupName=name,
             ScalingProcesses=[AZ_REBALANCE])


def _create_deny_acl(ec2: Any, ledger: Ledger, vpc_id: str, az: str) -> str:
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


restore_az = restore_run


class RestoreNacl(Inverse):
    """A subnet back on the network ACL it had."""

    subnet_id: str
    network_acl_id: str


class DeleteFaultNetworkAcls(Inverse):
    """The deny-all network ACLs a run created in a VPC, deleted."""

    vpc_id: str
    run: str | None = None
    """The run whose ACLs go (a ledger from before runs were tagged names none)."""


class RestoreAsgSubnets(Inverse):
    """An Auto Scaling group's subnets in the AZ, given back."""

    asg: str
    vpc_zone_identifier: str
    removed: list[str] | None = None
    """The subnets the fault removed (a ledger from before they were recorded names none)."""


class ResumeAzRebalance(Inverse):
    asg: str
    timeout_seconds: float = REBALANCE_TIMEOUT_SECONDS


class RestoreLbSubnets(Inverse):
    load_balancer_arn: str
    subnets: list[str]


class StartInstances(Inverse):
    instance_ids: list[str]
    timeout_seconds: float = START_TIMEOUT_SECONDS


@inverse("restore_nacl", RestoreNacl)
def _restore_nacl(op: RestoreNacl, configuration: Settings, secrets: Settings) -> str:
    ec2 = aws_client("ec2", configuration, secrets)
    current, association = acl_of(ec2, op.subnet_id)
    if current == op.network_acl_id:
        return f"{op.subnet_id} already on {current}"
    call(ec2, "replace_network_acl_association", AssociationId=association,
         NetworkAclId=op.network_acl_id)
    return f"{op.subnet_id} back on {op.network_acl_id}"


@inverse("delete_fault_network_acls", DeleteFaultNetworkAcls, after=["restore_nacl"])
def _delete_fault_acls(op: DeleteFaultNetworkAcls, configuration: Settings,
                       secrets: Settings) -> str:
    """Delete the deny-all ACLs this run created in the VPC once nothing is associated with them.

    The ACL is found by the run's tag, set in the same call that created it, so a run killed
    before it recorded the ACL's id still cleans it up, and another run's ACL (a concurrent
    blackhole of the same VPC) is left alone. A ledger written before runs were tagged names no
    run: then every unassociated chaos-sre deny-all ACL of the VPC goes, as it did then."""
    ec2 = aws_client("ec2", configuration, secrets)
    filters = [{"Name": "vpc-id", "Values": [op.vpc_id]},
               {"Name": f"tag:{RUN_TAG}", "Values": ["deny-all"]}]
    if op.run:
        filters.append({"Name": f"tag:{RUN_ID_TAG}", "Values": [op.run]})
    deleted = []
    for acl in paginate(ec2, "describe_network_acls", "NetworkAcls", Filters=filters):
        if not acl["Associations"]:  # a rollback right after the creation may not find it yet
            call_on_new(ec2, "delete_network_acl", not_found=ACL_NOT_FOUND,
                        NetworkAclId=acl["NetworkAclId"])
            deleted.append(acl["NetworkAclId"])
    return f"deleted deny-all network ACLs {deleted} in {op.vpc_id}"


@inverse("restore_asg_subnets", RestoreAsgSubnets, after=["restore_nacl"])
def _restore_asg_subnets(op: RestoreAsgSubnets, configuration: Settings, secrets: Settings) -> str:
    """Add back the subnets the fault removed, keeping any other change made to the group since
    (in the order the group had them). A ledger written before removals were recorded sets the
    whole list as it was."""
    autoscaling = aws_client("autoscaling", configuration, secrets)
    if op.removed is None:
        call(autoscaling, "update_auto_scaling_group", AutoScalingGroupName=op.asg,
             VPCZoneIdentifier=op.vpc_zone_identifier)
        return f"ASG {op.asg} subnets back to {op.vpc_zone_identifier}"
    current = [s for s in auto_scaling_group(autoscaling, op.asg)["VPCZoneIdentifier"].split(",")
               if s]
    missing = [s for s in op.removed if s not in current]
    if not missing:
        return f"ASG {op.asg} already has subnets {', '.join(op.removed)}"
    before = op.vpc_zone_identifier.split(",")
    kept = set(current) | set(missing)
    subnets = [s for s in before if s in kept] + [s for s in current if s not in before]
    call(autoscaling, "update_auto_scaling_group", AutoScalingGroupName=op.asg,
         VPCZoneIdentifier=",".join(subnets))
    return f"ASG {op.asg} has subnets {', '.join(missing)} again"


@inverse("resume_az_rebalance", ResumeAzRebalance, after=["restore_asg_subnets"])
def _resume_az_rebalance(op: ResumeAzRebalance, configuration: Settings, secrets: Settings) -> str:
    """Resume AZRebalance and wait until the group is balanced across its AZs again."""
    autoscaling = aws_client("autoscaling", configuration, secrets)
    call(autoscaling, "resume_processes", AutoScalingGroupName=op.asg,
         ScalingProcesses=[AZ_REBALANCE])
    def check() -> tuple[bool, str | None]:
        unbalanced = imbalance(auto_scaling_group(autoscaling, op.asg))
        return unbalanced is None, unbalanced

    poll(check, what=f"ASG {op.asg} balanced across its AZs again (AZRebalance resumed)",
         timeout_seconds=op.timeout_seconds,
         interval_seconds=REBALANCE_POLL_SECONDS)
    return f"ASG {op.asg}: AZRebalance resumed, the group is balanced"


@inverse("restore_lb_subnets", RestoreLbSubnets, after=["restore_nacl"])
def _restore_lb_subnets(op: RestoreLbSubnets, configuration: Settings, secrets: Settings) -> str:
    elbv2 = aws_client("elbv2", configuration, secrets)
    call(elbv2, "set_subnets", LoadBalancerArn=op.load_balancer_arn, Subnets=op.subnets)
    return f"load balancer subnets back to {op.subnets}"


@inverse("start_instances", StartInstances)
def _start_instances(op: StartInstances, configuration: Settings, secrets: Settings) -> str:
    """Start the instances the fault stopped and wait until they run.

    A start can fail after StartInstances answered: an instance whose EBS volume is encrypted
    with a customer managed KMS key goes from pending back to stopped when the caller may not
    kms:CreateGrant on the key (AWS re:Post, "kms-iam-ec2-permission"). The restore fails then,
    naming the instance and its state reason, and stays pending."""
    ec2 = aws_client("ec2", configuration, secrets)
    ids = list(op.instance_ids)
    stopped = [i["InstanceId"] for i in _instances(ec2, ids) if i["State"]["Name"] == "stopped"]
    if stopped:
        call(ec2, "start_instances", InstanceIds=stopped)
    def check() -> tuple[bool, list[str]]:
        states = {i["InstanceId"]: i for i in _instances(ec2, ids)}
        failed = {i: s for i, s in states.items()
                  if i in stopped and s["State"]["Name"] == "stopped" and s.get("StateReason")}
        if failed:
            reasons = "; ".join(f"{i}: {s['StateReason'].get('Message', '')}"
                                for i, s in sorted(failed.items()))
            raise AWSError(f"instances went from pending back to stopped ({reasons}): with "
                           "encrypted EBS volumes the runner needs kms:CreateGrant on their KMS key")
        waiting = sorted(i for i, s in states.items() if s["State"]["Name"] != "running")
        return not waiting, waiting

    poll(check, what="instances running after StartInstances",
         timeout_seconds=op.timeout_seconds,
         interval_seconds=START_POLL_SECONDS, describe=lambda waiting: f"not yet: {', '.join(waiting)}")
    return f"started {stopped}" if stopped else f"{', '.join(ids)} already running"


def _instances(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    return [i for r in paginate(ec2, "describe_instances", "Reservations", InstanceIds=ids)
            for i in r["Instances"]]


@effect_check("terminate", "stop")
def _instances_not_running(intent: Operation, outcome: Any, configuration: Settings,
                           secrets: Settings) -> str | None:
    """The instances the fault took are no longer running (or are gone)."""
    ids = list(intent["pre_state"]["instance_ids"])
    running = still_running(aws_client("ec2", configuration, secrets), ids)
    if running:
        return f"{len(running)} of the {len(ids)} instances it took still run ({', '.join(running)})"
    return None


@effect_check("replace_network_acl_association")
def _subnet_denied(intent: Operation, outcome: Any, configuration: Settings,
                   secrets: Settings) -> str | None:
    """The subnet is associated with a network ACL that denies all traffic both ways."""
    subnet = str(intent["resource"]).split("/", 1)[1]
    ec2 = aws_client("ec2", configuration, secrets)
    current, _ = acl_of(ec2, subnet)
    if current == intent["pre_state"]["network_acl_id"]:
        return f"subnet {subnet} is still on its own network ACL {current}"
    acls = list(paginate(ec2, "describe_network_acls", "NetworkAcls", NetworkAclIds=[current]))
    entries = [e for acl in acls for e in acl.get("Entries", [])]
    denied = {e["Egress"] for e in entries if e.get("RuleAction") == "deny"
              and e.get("CidrBlock") == "0.0.0.0/0" and e.get("Protocol") == "-1"
              and e["RuleNumber"] <= min((x["RuleNumber"] for x in entries
                                          if x["Egress"] == e["Egress"]), default=0)}
    if denied != {False, True}:
        return f"network ACL {current} of subnet {subnet} does not deny all traffic both ways"
    return None
