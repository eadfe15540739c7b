"""How a run knows the AZ faults took effect: the ledger operations' effect checks, and the
pre-states they read (what the faults record before each change)."""

from typing import Any, TypedDict, cast

from chaos_sre.aws import aws_client, paginate
from chaos_sre.faults.effects import effect_check
from chaos_sre.safety.ledger import Operation, Settings
from chaos_sre.services.ec2 import acl_of, still_running


class InstancesTaken(TypedDict):
    """Before a terminate or stop: the batch's instances, running, in the AZ."""

    instance_ids: list[str]
    state: str
    availability_zone: str


class SubnetAcl(TypedDict):
    """Before a subnet is put on the deny-all network ACL: the ACL it had."""

    network_acl_id: str


class LoadBalancerSubnets(TypedDict):
    """Before SetSubnets: the load balancer's subnets."""

    subnets: list[str]


class GroupSubnets(TypedDict):
    """Before an Auto Scaling group loses the AZ's subnets: its VPCZoneIdentifier."""

    vpc_zone_identifier: str


class SuspendedProcesses(TypedDict):
    """Before AZRebalance is suspended: the group's suspended processes."""

    suspended_processes: list[str]


@effect_check("terminate", "stop")
def _instances_not_running(intent: Operation, outcome: Any, configuration: Settings,
                           secrets: Settings) -> str | None:
    """The instances the fault took are no longer running (or are gone)."""
    ids = list(cast(InstancesTaken, intent["pre_state"])["instance_ids"])
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
    if current == cast(SubnetAcl, intent["pre_state"])["network_acl_id"]:
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
