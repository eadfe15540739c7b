"""How the lab's FIS resolves an experiment's targets, as FIS does when the experiment starts
("Targets for AWS FIS"): the resources of the target's type that have every one of its
``resourceTags`` (or its ``resourceArns``), whose Describe answer has, at every ``filters``
path, one of the filter's values; then its selection mode - ``ALL``, ``COUNT(n)`` or
``PERCENT(n)`` (rounded down, at least one) picked at random. A single-account experiment
resolves in its own account; a multi-account one in each account of its target account
configurations ("Working with multi-account experiments for AWS FIS")."""

import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chaos_sre.lab.core.backends import moto_backend

Candidate = tuple[str, Mapping[str, str], Mapping[str, Any]]
"""(ARN, tags, the resource as its Describe call answers the filter paths)."""
_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")


class TargetError(Exception):
    """A target FIS cannot resolve (the experiment fails with this reason)."""


def _instances(account: str) -> Iterable[Candidate]:
    ec2 = moto_backend("ec2", account=account)
    for instance in ec2.all_instances():
        yield (f"arn:aws:ec2:{ec2.region_name}:{ec2.account_id}:instance/{instance.id}",
               dict(ec2.tags.get(instance.id, {})),
               {"Placement.AvailabilityZone": instance.placement.zone, "State.Name": instance.state,
                "VpcId": instance.vpc_id, "SubnetId": instance.subnet_id,
                "InstanceType": instance.instance_type})


def _subnets(account: str) -> Iterable[Candidate]:
    ec2 = moto_backend("ec2", account=account)
    for zone in list(ec2.subnets.values()):
        for subnet in list(zone.values()):
            yield (f"arn:aws:ec2:{ec2.region_name}:{ec2.account_id}:subnet/{subnet.id}",
                   dict(ec2.tags.get(subnet.id, {})),
                   {"AvailabilityZone": subnet.availability_zone, "VpcId": subnet.vpc_id,
                    "SubnetId": subnet.id})


def _groups(account: str) -> Iterable[Candidate]:
    autoscaling = moto_backend("autoscaling", account=account)
    for group in list(autoscaling.autoscaling_groups.values()):
        yield (str(group.arn), {t["Key"]: t["Value"] for t in group.tags},
               {"AutoScalingGroupName": group.name})


def _rds(kind: str) -> Callable[[str], Iterable[Candidate]]:
    def candidates(account: str) -> Iterable[Candidate]:
        rds = moto_backend("rds", account=account)
        found = rds.clusters if kind == "cluster" else rds.databases
        for identifier, resource in list(found.items()):
            yield (str(resource.arn), {t["Key"]: t["Value"] for t in resource.tags or []},
                   {"Identifier": identifier})
    return candidates


def _managed_resources(account: str) -> Iterable[Candidate]:
    """Load balancers ARC manages (their zonal shift attribute on)."""
    elbv2 = moto_backend("elbv2", account=account)
    for arn, balancer in list(elbv2.load_balancers.items()):
        if str(balancer.attrs.get("zonal_shift.config.enabled", "false")).lower() == "true":
            yield (str(arn), dict(elbv2.tagging_service.get_tag_dict_for_resource(arn)),
                   {"Name": balancer.name})


RESOURCE_TYPES: dict[str, Callable[[str], Iterable[Candidate]]] = {
    "aws:ec2:instance": _instances, "aws:ec2:subnet": _subnets,
    "aws:ec2:autoscaling-group": _groups, "aws:rds:cluster": _rds("cluster"),
    "aws:rds:db": _rds("db"), "aws:arc:zonal-shift-managed-resource": _managed_resources,
}
"""The resource types the lab's FIS resolves."""


def resolve(target: Mapping[str, Any], rng: random.Random, accounts: Iterable[str]) -> list[str]:
    """The ARNs ``target`` (a template's target) selects now among the resources of
    ``accounts`` (the experiment's own, or a multi-account experiment's target accounts)."""
    kind = str(target.get("resourceType", ""))
    if kind not in RESOURCE_TYPES:
        raise TargetError(f"the chaos-sre lab does not resolve resource type {kind}")
    arns = set(target.get("resourceArns") or [])
    tags = dict(target.get("resourceTags") or {})
    filters = {f["path"]: set(f["values"]) for f in target.get("filters") or []}
    found = sorted(arn for account in accounts
                   for arn, resource_tags, described in RESOURCE_TYPES[kind](account)
                   if (not arns or arn in arns)
                   and all(resource_tags.get(k) == v for k, v in tags.items())
                   and all(str(described.get(path)) in values for path, values in filters.items()))
    return select(found, str(target.get("selectionMode", "ALL")), rng)


def select(found: list[str], mode: str, rng: random.Random) -> list[str]:
    """``found`` under a selection mode (ALL, COUNT(n), PERCENT(n))."""
    match = _SELECTION.match(mode)
    if match is None:
        raise TargetError(f"selection mode {mode!r} is not ALL, COUNT(n) or PERCENT(n)")
    if match.group(1) == "ALL":
        return found
    count = int(match.group(2)) if match.group(2) else max(1, len(found) * int(match.group(3)) // 100)
    return sorted(rng.sample(found, min(count, len(found))))
