"""How each change of the AZ faults is undone: the ledger's inverses (typed, with the inverses
each builds on) - network ACL associations, the run's deny-all ACLs, Auto Scaling groups' subnets
and AZRebalance, load balancers' subnets and zonal shifts, stopped instances."""

import time
from typing import Any

import pydantic

from chaos_sre.aws import aws_client, call, call_on_new, paginate
from chaos_sre.aws.polling import poll_seconds
from chaos_sre.errors import AWSError
from chaos_sre.faults.az.network import ACL_NOT_FOUND, AZ_REBALANCE, RUN_ID_TAG, RUN_TAG
from chaos_sre.faults.az.zonal_shift import run_shifts
from chaos_sre.safety.ledger import Inverse, Settings, inverse
from chaos_sre.services.autoscaling import auto_scaling_group, imbalance
from chaos_sre.services.ec2 import acl_of
from chaos_sre.timescale import aws_seconds, wall_seconds
from chaos_sre.waiting import poll

REBALANCE_TIMEOUT_SECONDS = 600.0
"""How long the resume of AZRebalance waits for the group to be balanced again."""
REBALANCE_POLL_SECONDS = poll_seconds("autoscaling")
"""AWS seconds between two looks at the group's balance (:mod:`chaos_sre.aws.polling`)."""
START_TIMEOUT_SECONDS = 300.0
"""How long the stop mode's restore waits for the instances it started to run."""
START_POLL_SECONDS = poll_seconds("ec2")
"""AWS seconds between two looks at the started instances."""


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


class CancelZonalShifts(Inverse):
    """The run's ARC zonal shifts of a load balancer, cancelled."""

    load_balancer_arn: str
    run: str


class StartInstances(Inverse):
    """Stopped instances started again (and, ``mark_healthy``, their group's unhealthy mark
    cleared: a ledger from before marks were restored names none)."""

    instance_ids: list[str]
    timeout_seconds: float = START_TIMEOUT_SECONDS
    mark_healthy: list[str] = pydantic.Field(default_factory=list)


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


@inverse("cancel_zonal_shifts", CancelZonalShifts, after=["restore_nacl"])
def _cancel_zonal_shifts(op: CancelZonalShifts, configuration: Settings, secrets: Settings) -> str:
    """Cancel the load balancer's active zonal shifts that carry the run's comment (another
    run's or a person's shift stays); one that ended meanwhile (expired) needs nothing."""
    arc = aws_client("arc-zonal-shift", configuration, secrets)
    ours = [s["zonalShiftId"] for s in run_shifts(arc, op.load_balancer_arn, op.run)]
    for shift_id in ours:
        try:
            call(arc, "cancel_zonal_shift", zonalShiftId=shift_id)
        except AWSError as error:
            if error.code != "ConflictException":  # it expired between the list and the cancel
                raise
    name = op.load_balancer_arn.split("/")[-2]
    return f"zonal shift {', '.join(ours)} of {name} cancelled" if ours else \
        f"no zonal shift of {name} by this run is active"


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

    deadline = time.monotonic() + wall_seconds(op.timeout_seconds)
    poll(check, what="instances running after StartInstances",
         timeout_seconds=op.timeout_seconds,
         interval_seconds=START_POLL_SECONDS, describe=lambda waiting: f"not yet: {', '.join(waiting)}")
    started = f"started {stopped}" if stopped else f"{', '.join(ids)} already running"
    if not op.mark_healthy:
        return started
    _mark_healthy(aws_client("autoscaling", configuration, secrets),
                  aws_client("elbv2", configuration, secrets), op.mark_healthy,
                  max(START_POLL_SECONDS, aws_seconds(deadline - time.monotonic())))
    return f"{started}; marked {', '.join(op.mark_healthy)} healthy in their Auto Scaling group again"


def _mark_healthy(autoscaling: Any, elbv2: Any, ids: list[str], timeout_seconds: float) -> None:
    """Clear the Unhealthy mark the group's HealthCheck process set while the instances were
    stopped (it "never automatically recovers"; with ReplaceUnhealthy resumed the group would
    replace them): once the group's load balancer finds them healthy (ELB health checks; else at
    once), SetInstanceHealth Healthy - not before, or HealthCheck marks them again."""
    groups = {i["InstanceId"]: i["AutoScalingGroupName"] for i in paginate(
        autoscaling, "describe_auto_scaling_instances", "AutoScalingInstances", InstanceIds=ids)}
    described = {g["AutoScalingGroupName"]: g for g in paginate(
        autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
        AutoScalingGroupNames=sorted(set(groups.values())))} if groups else {}

    def unhealthy_targets() -> tuple[bool, list[str]]:
        waiting = []
        for instance, name in sorted(groups.items()):
            group = described[name]
            if group.get("HealthCheckType") != "ELB":
                continue
            for arn in group.get("TargetGroupARNs") or []:
                health = call(elbv2, "describe_target_health", TargetGroupArn=arn,
                              Targets=[{"Id": instance}])["TargetHealthDescriptions"]
                if not health or health[0]["TargetHealth"]["State"] != "healthy":
                    waiting.append(instance)
        return not waiting, waiting

    poll(unhealthy_targets, what="started instances healthy in their load balancer's target groups",
         timeout_seconds=timeout_seconds, interval_seconds=START_POLL_SECONDS,
         describe=lambda waiting: f"not yet: {', '.join(waiting)}")
    for instance in sorted(groups):
        call(autoscaling, "set_instance_health", InstanceId=instance, HealthStatus="Healthy",
             ShouldRespectGracePeriod=False)


def _instances(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    return [i for r in paginate(ec2, "describe_instances", "Reservations", InstanceIds=ids)
            for i in r["Instances"]]
