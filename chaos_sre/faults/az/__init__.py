"""Availability Zone faults: lose an AZ's instances, or cut the AZ off the network.

This module is what experiments name (``chaos_sre.faults.az``): the two faults' declarations and
plans. What they choose with is in :mod:`~chaos_sre.faults.az.selection` and
:mod:`~chaos_sre.faults.az.network`, what else a cut reaches in
:mod:`~chaos_sre.faults.az.dependents`, how each change is undone in
:mod:`~chaos_sre.faults.az.inverses`, and how the run knows they took effect in
:mod:`~chaos_sre.faults.az.checks`.

Every mutation is preceded by a ledger entry with the resource's pre-state and
the inverse operation (``chaos_sre.safety.ledger``); ``restore_az`` replays
those inverses, so a rollback restores NACL associations, ASG subnets and load
balancer subnets exactly as they were, and cancels the run's zonal shifts.
"""

import logging
from typing import Any

from chaos_sre.aws import aws_client, call, call_on_new, paginate
from chaos_sre.errors import ValidationError
from chaos_sre.faults.az import inverses  # noqa: F401 - registers the inverses
from chaos_sre.faults.az.checks import GroupSubnets, InstancesTaken, LoadBalancerSubnets, SubnetAcl
from chaos_sre.faults.az.dependents import interfaces_by_owner, refuse_cut_dependencies
from chaos_sre.faults.az.fis import blackhole_in_fis, terminate_in_fis
from chaos_sre.faults.az.network import (
    ACL_NOT_FOUND,
    RUN_TAG,
    balancers_to_shrink,
    create_deny_acl,
    groups_to_shrink,
    named_balancers,
    network_calls,
    network_targets,
    refuse_managed_groups,
    refuse_runner_subnets,
    scoped_vpc,
    suspend_az_rebalance,
)
from chaos_sre.faults.az.selection import (
    Mode,
    health_to_restore,
    names,
    refuse_ungrouped,
    select_targets,
    shares,
    tag_map_of,
)
from chaos_sre.faults.az.zonal_shift import (
    MOVES,
    SET_SUBNETS,
    ZONAL_SHIFT,
    balancers_to_shift,
    check_minutes,
    shift_calls,
    start_zonal_shifts,
    zone_id,
)
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Target, fault
from chaos_sre.safety.ledger import Ledger
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.ec2 import acl_of, az_subnets, service_instances
from chaos_sre.services.elb import resource_tags

__all__ = ["blackhole_az", "restore_az", "select_targets", "terminate_az_instances"]

logger = logging.getLogger("chaostoolkit")
TERMINATE_BATCH = 1000
INSTANCES = "arn:aws:ec2:*:*:instance/*"
NETWORK_ACLS = "arn:aws:ec2:*:*:network-acl/*"
GROUPS = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"
DENY_ACL_REQUESTED = (("StringEquals", f"aws:RequestTag/{RUN_TAG}", "deny-all"),)
LOAD_BALANCERS = "arn:aws:elasticloadbalancing:*:*:loadbalancer/*"
"""Zonal shift actions take no resource ARN: IAM scopes them by the load balancer's ARN in
``arc-zonal-shift:ResourceIdentifier`` ("IAM and permissions for zonal shift",
https://docs.aws.amazon.com/r53recovery/latest/dg/security_iam_service-with-iam-zonal-shift.html)."""
"""The deny-all ACL is created with its tag (as AWS FIS's network policy does: create and tag
only ACLs that carry the tool's tag)."""
DENY_ACL = (("StringEquals", f"aws:ResourceTag/{RUN_TAG}", "deny-all"),)
"""Entries are added to, and deletes made of, only ACLs that carry the tool's tag."""
KMS_GRANT_FOR_EC2 = (("Bool", "kms:GrantIsForAWSResource", "true"),
                     ("StringLike", "kms:ViaService", "ec2.*.amazonaws.com"))
"""Stop mode's restore starts instances; EC2 creates a grant on a customer managed key of their
EBS volumes on the caller's behalf, which needs kms:CreateGrant for an AWS resource
(https://repost.aws/knowledge-center/kms-iam-ec2-permission), made through EC2 alone
(kms:ViaService, "AWS KMS condition keys": ``ec2.REGION.amazonaws.com``), not a grant on any
key for any service."""


@fault(
    reads=[Permission("ec2:DescribeInstances"), Permission("autoscaling:DescribeAutoScalingGroups"),
           Permission("elasticloadbalancing:DescribeTargetHealth")],
    permissions=[Permission("ec2:TerminateInstances", INSTANCES, targets=True),
                 Permission("ec2:StopInstances", INSTANCES, targets=True, when="stop"),
                 Permission("ec2:StartInstances", INSTANCES, targets=True, when="stop"),
                 Permission("autoscaling:SetInstanceHealth", GROUPS, targets=True, when="stop"),
                 Permission("kms:CreateGrant", "arn:aws:kms:*:*:key/*", KMS_GRANT_FOR_EC2,
                            when="stop")],
    inverses=["start_instances"],
    effects=["terminate", "stop"],
    fis=terminate_in_fis,
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
    allow_instances_outside_groups: bool = False,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Terminate (or stop, with `stop: true`) the running instances of one Availability Zone.

    Terminating instances in no Auto Scaling group (chosen by `tags`), which
    nothing replaces, is refused unless `allow_instances_outside_groups` is
    true; the guardrails' `max_percent` counts them as a group of their own.

    Stop mode is refused for instances of an Auto Scaling group that replaces
    unhealthy instances (it would terminate them); its restore starts them,
    waits until they run and, where their group marked them unhealthy while
    they were stopped (HealthCheck running, ReplaceUnhealthy suspended), marks
    them healthy again once the group's load balancer finds them healthy.
    Instances are chosen by `tags` (`{"app": "web"}` or `"app=web,env=staging"`)
    and/or `asg_names`; `mode` is `all`, `count` (with `count`) or `percent`
    (with `percent`), chosen at random with `seed`. Refuses a selection of
    zero instances, and one that takes every instance of the service in every
    AZ unless `allow_total_outage` is true. Calls are batched (1000 ids per
    TerminateInstances/StopInstances). With `dry_run` the targets are printed
    and nothing changes. Returns the instance ids and the number of calls.
    """
    tag_map, groups = tag_map_of(tags), names(asg_names)
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
    if not stop and not allow_instances_outside_groups:
        refuse_ungrouped(service, set(targets))
    marked_ids, health_calls = health_to_restore(
        aws_client("autoscaling", configuration, secrets), service, set(targets)) if stop else ([], [])
    marked = set(marked_ids)

    def apply(ledger: Ledger) -> dict[str, Any]:
        calls = 0
        for first in range(0, len(targets), TERMINATE_BATCH):
            batch = targets[first:first + TERMINATE_BATCH]
            healthy = [i for i in batch if i in marked]
            undo = {"op": "start_instances", "instance_ids": batch,
                    **({"mark_healthy": healthy} if healthy else {})} if stop else None
            with ledger.mutation("ec2:instances", verb, InstancesTaken(
                    instance_ids=batch, state="running", availability_zone=az), undo):
                call(ec2, "stop_instances" if stop else "terminate_instances", InstanceIds=batch)
            calls += 1
        logger.info(f"chaos-sre: {verb} {len(targets)} instance(s) in {az} in {calls} call(s)")
        return {"calls": calls}

    chosen = set(targets)
    taken = [i for i in service if i["id"] in chosen]
    calls = [PlannedCall(f"ec2:{'StopInstances' if stop else 'TerminateInstances'}",
                         f"instance/{i['id']}", i["tags"]) for i in taken]
    if stop:
        calls += [PlannedCall("ec2:StartInstances", f"instance/{i['id']}", i["tags"]) for i in taken]
        calls += health_calls
    return Plan(targets=[Target(f"ec2:instance/{i['id']}", i["tags"], i["az"]) for i in taken],
                shares=shares(service, chosen), apply=apply, calls=calls,
                summary={"action": verb, "availability_zone": az, "instance_ids": targets,
                         "calls": 0},
                action=f"{verb} {len(targets)} instance(s) in {az}: {', '.join(targets)}")


@fault(
    reads=[Permission("ec2:DescribeSubnets"), Permission("ec2:DescribeNetworkAcls"),
           Permission("ec2:DescribeVpcs"), Permission("ec2:DescribeNatGateways"),
           Permission("ec2:DescribeRouteTables"), Permission("ec2:DescribeVpcEndpoints"),
           Permission("ec2:DescribeNetworkInterfaces"), Permission("ec2:DescribeAvailabilityZones"),
           Permission("autoscaling:DescribeAutoScalingGroups"),
           Permission("elasticloadbalancing:DescribeLoadBalancers"),
           Permission("elasticloadbalancing:DescribeTags"),
           Permission("elasticloadbalancing:DescribeLoadBalancerAttributes"),
           Permission("arc-zonal-shift:ListZonalShifts")],
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
                 *(Permission(f"arc-zonal-shift:{action}", condition=(
                     ("StringLike", "arc-zonal-shift:ResourceIdentifier", LOAD_BALANCERS),),
                     when="load_balancer_names") for action in ("StartZonalShift", "CancelZonalShift")),
                 Permission("elasticloadbalancing:SetSubnets",
                            "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*", targets=True,
                            when="load_balancer_move", equals=SET_SUBNETS)],
    inverses=["delete_fault_network_acls", "restore_nacl", "restore_asg_subnets",
              "resume_az_rebalance", "restore_lb_subnets", "cancel_zonal_shifts"],
    effects=["replace_network_acl_association"],
    fis=blackhole_in_fis,
)
def blackhole_az(
    az: str,
    tags: dict[str, str] | str | None = None,
    asg_names: list[str] | str | None = None,
    load_balancer_names: list[str] | str | None = None,
    vpc_id: str | None = None,
    allow_cross_az_nat_gateways: bool = False,
    allow_endpoint_interfaces: bool = False,
    load_balancer_move: str = ZONAL_SHIFT,
    zonal_shift_minutes: int = 60,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Cut one Availability Zone off the network, as far as the AWS APIs allow.

    The AZ's subnets in one VPC (chosen by `tags`) are associated with a new
    deny-all network ACL; they are removed from the `asg_names` Auto Scaling
    groups so nothing relaunches there (unless that would leave a group without
    subnets; the group's AZRebalance is suspended first, so the change does not
    churn its instances, and resumed last). The `load_balancer_names` load balancers'
    traffic leaves the AZ before the cut with an ARC zonal shift (`load_balancer_move`
    "zonal-shift", the default): the AZ's node leaves DNS and the other nodes stop routing to
    the AZ's targets, no setting of the load balancer changes, and the shift expires by
    itself after `zonal_shift_minutes` (60) should the run die before its rollback cancels it.
    A load balancer not registered with ARC (attribute `zonal_shift.config.enabled`) or
    already shifted is refused before any change. With "set-subnets" the AZ's subnet is
    removed from each Application Load Balancer instead (unless that would leave fewer than
    two AZs; a Network or Gateway Load Balancer keeps its subnets, whose nodes the ACL cuts
    off: removing one would delete the node's network interface with its Elastic IP). A group another service manages
    (an EKS managed node group, an Elastic Beanstalk environment's, an ECS capacity provider's
    with managed scaling) is refused in `asg_names`: its owner would undo the change. The VPC is `vpc_id`, else the
    one the named groups and load balancers are in; with neither the fault is
    refused, as it is when a chosen subnet holds the runner's own network
    interface (it could not roll back). A load balancer's node in the AZ stays in DNS
    until it is shifted away (or its subnet removed), answering nothing once the ACL
    cuts it off: it is moved before the cut and given back after the network is
    restored, so clients leave it one DNS TTL (60 s) after the cut starts. The ACL
    cuts every network interface in those subnets: the plan lists them by owner
    type (`network_interfaces`), and a NAT gateway that subnets of other AZs route through is refused unless
    `allow_cross_az_nat_gateways` (always when the runner routes through it), as
    is an interface endpoint the runner calls AWS through unless
    `allow_endpoint_interfaces`. Every change is recorded with its inverse first;
    `restore_az` undoes them, newest first. With `dry_run` the plan is printed only.
    """
    tag_map = tag_map_of(tags)
    ec2 = aws_client("ec2", configuration, secrets)
    plan: dict[str, Any] = {"availability_zone": az, "asg_names": names(asg_names),
                            "load_balancer_names": names(load_balancer_names)}
    autoscaling = aws_client("autoscaling", configuration, secrets)
    groups = list(paginate(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
                           AutoScalingGroupNames=plan["asg_names"])) if plan["asg_names"] else []
    refuse_managed_groups(groups)
    elbv2 = aws_client("elbv2", configuration, secrets)
    balancers = named_balancers(elbv2, plan["load_balancer_names"])
    plan["vpc_id"] = scoped_vpc(ec2, vpc_id, groups, balancers)
    subnets = az_subnets(ec2, az, plan["vpc_id"], tag_map)
    if not subnets:
        raise ValidationError(f"no subnets in {az} of {plan['vpc_id']} match tags {tag_map}")
    subnet_ids = {s["SubnetId"] for s in subnets}
    runner_subnets = refuse_runner_subnets(ec2, plan["vpc_id"], subnet_ids)
    refuse_cut_dependencies(ec2, plan["vpc_id"], subnet_ids, runner_subnets,
                            allow_cross_az_nat_gateways=allow_cross_az_nat_gateways,
                            allow_endpoint_interfaces=allow_endpoint_interfaces)
    plan["subnet_ids"] = sorted(subnet_ids)
    plan["network_interfaces"] = interfaces_by_owner(ec2, plan["subnet_ids"])
    if load_balancer_move not in MOVES:
        raise ValidationError(f"load_balancer_move must be one of {', '.join(MOVES)}, got "
                              f"{load_balancer_move!r}")
    plan["load_balancer_move"] = load_balancer_move
    shifted: list[dict[str, Any]] = []
    shrinkable: list[tuple[dict[str, Any], list[str], list[str]]] = []
    if load_balancer_move == ZONAL_SHIFT:
        minutes = check_minutes(zonal_shift_minutes)
        arc = aws_client("arc-zonal-shift", configuration, secrets)
        shifted = balancers_to_shift(elbv2, arc, balancers, subnet_ids)
        away_from = zone_id(ec2, az) if shifted else ""
        plan["zonal_shifts"] = {b["LoadBalancerName"]: f"away from {away_from} for {minutes} min"
                                for b in shifted}
    else:
        shrinkable, plan["load_balancers_left_as_they_are"] = balancers_to_shrink(balancers, subnet_ids)
        for name, why in plan["load_balancers_left_as_they_are"].items():
            logger.warning(f"chaos-sre: leaving the subnets of load balancer {name} as they are: {why}")

    shrunk = groups_to_shrink(groups, subnet_ids, az)

    def apply(ledger: Ledger) -> dict[str, Any]:
        for group, _ in shrunk:
            suspend_az_rebalance(autoscaling, ledger, group)
        if shifted:
            start_zonal_shifts(arc, ledger, shifted, away_from, az, minutes)
        for balancer, current, remaining in shrinkable:
            with ledger.mutation(f"elbv2:{balancer['LoadBalancerName']}", "set_subnets",
                                 LoadBalancerSubnets(subnets=current),
                                 {"op": "restore_lb_subnets",
                                  "load_balancer_arn": balancer["LoadBalancerArn"],
                                  "subnets": current}):
                call(elbv2, "set_subnets", LoadBalancerArn=balancer["LoadBalancerArn"],
                     Subnets=remaining)
        deny_acl = create_deny_acl(ec2, ledger, plan["vpc_id"], az)
        for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
            original, association = acl_of(ec2, subnet["SubnetId"])
            with ledger.mutation(f"ec2:subnet/{subnet['SubnetId']}",
                                 "replace_network_acl_association", SubnetAcl(network_acl_id=original),
                                 {"op": "restore_nacl", "subnet_id": subnet["SubnetId"],
                                  "network_acl_id": original}):
                call_on_new(ec2, "replace_network_acl_association", not_found=ACL_NOT_FOUND,
                            AssociationId=association, NetworkAclId=deny_acl)
        for group, remaining in shrunk:
            name = group["AutoScalingGroupName"]
            removed = sorted(set(group["VPCZoneIdentifier"].split(",")) - set(remaining) - {""})
            with ledger.mutation(f"autoscaling:{name}", "update_subnets",
                                 GroupSubnets(vpc_zone_identifier=group["VPCZoneIdentifier"]),
                                 {"op": "restore_asg_subnets", "asg": name, "removed": removed,
                                  "vpc_zone_identifier": group["VPCZoneIdentifier"]}):
                call(autoscaling, "update_auto_scaling_group", AutoScalingGroupName=name,
                     VPCZoneIdentifier=",".join(remaining))
        logger.info(f"chaos-sre: {az} cut off: subnets {', '.join(plan['subnet_ids'])}")
        return {"network_acl_ids": [deny_acl]}

    balancer_tags = resource_tags(elbv2, [b["LoadBalancerArn"] for b in balancers])
    targets, shares = network_targets(az, subnets, groups, balancers, balancer_tags)
    calls = network_calls(ec2, plan["vpc_id"], subnets, shrunk, shrinkable, balancer_tags)
    calls += shift_calls(shifted)
    return Plan(targets=targets, shares=shares, summary=plan, apply=apply, calls=calls,
                action=f"blackhole {az}: {plan}")


restore_az = restore_run


