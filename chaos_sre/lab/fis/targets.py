"""How the lab's FIS resolves an experiment's targets, as FIS does when the experiment starts
("Targets for AWS FIS"): the resources of the target's type that have every one of its
``resourceTags`` (or its ``resourceArns``), whose Describe answer has, at every ``filters``
path (``Placement.AvailabilityZone``), one of the filter's values; then its selection mode -
``ALL``, ``COUNT(n)`` or ``PERCENT(n)`` (rounded down, at least one) picked at random. A
single-account experiment resolves in its own account; a multi-account one in each account of
its target account configurations ("Working with multi-account experiments for AWS FIS").

The resources are found through the lab's AWS API with the experiment's role
(:mod:`chaos_sre.lab.fis.caller`): paginated Describe calls, instances and subnets filtered by
tag on the server (``tag:KEY``), at most 1000 a page.
"""

import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import botocore.exceptions

Candidate = tuple[str, Mapping[str, str], Mapping[str, Any]]
"""(ARN, tags, the resource as its Describe call answers)."""
Clients = Callable[[str], Any]
"""A client of a service, acting in one account as the role FIS uses there."""
_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")
PAGE = {"PageSize": 1000}


class TargetError(Exception):
    """A target FIS cannot resolve (the experiment fails with this reason)."""


def _tag_filters(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(tags.items())]


def _tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in tags or []}


def _ec2_pages(aws: Clients, operation: str, tags: Mapping[str, str]) -> tuple[str, Iterable[Any]]:
    """The Region and the pages of an EC2 Describe call of the resources with ``tags``."""
    ec2 = aws("ec2")
    return ec2.meta.region_name, ec2.get_paginator(operation).paginate(
        Filters=_tag_filters(tags), PaginationConfig=PAGE)


def _instances(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    region, pages = _ec2_pages(aws, "describe_instances", tags)
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                yield (f"arn:aws:ec2:{region}:{reservation['OwnerId']}:instance/{instance['InstanceId']}",
                       _tag_dict(instance.get("Tags")), instance)


def _subnets(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    region, pages = _ec2_pages(aws, "describe_subnets", tags)
    for page in pages:
        for subnet in page["Subnets"]:
            yield (subnet.get("SubnetArn") or
                   f"arn:aws:ec2:{region}:{subnet['OwnerId']}:subnet/{subnet['SubnetId']}",
                   _tag_dict(subnet.get("Tags")), subnet)


def _groups(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    for page in aws("autoscaling").get_paginator("describe_auto_scaling_groups").paginate(
            PaginationConfig={"PageSize": 100}):
        for group in page["AutoScalingGroups"]:
            yield str(group["AutoScalingGroupARN"]), _tag_dict(group.get("Tags")), group


def _rds(kind: str) -> Callable[[Clients, Mapping[str, str]], Iterator[Candidate]]:
    operation, key, arn = (("describe_db_clusters", "DBClusters", "DBClusterArn") if kind == "cluster"
                           else ("describe_db_instances", "DBInstances", "DBInstanceArn"))

    def candidates(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
        for page in aws("rds").get_paginator(operation).paginate(PaginationConfig={"PageSize": 100}):
            for resource in page[key]:
                yield str(resource[arn]), _tag_dict(resource.get("TagList")), resource
    return candidates


def _managed_resources(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    """Load balancers ARC manages (their zonal shift attribute on)."""
    elbv2 = aws("elbv2")
    for page in elbv2.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 400}):
        balancers = page["LoadBalancers"]
        found = {d["ResourceArn"]: _tag_dict(d.get("Tags")) for d in elbv2.describe_tags(
            ResourceArns=[b["LoadBalancerArn"] for b in balancers])["TagDescriptions"]} if balancers else {}
        for balancer in balancers:
            arn = balancer["LoadBalancerArn"]
            if not all(found.get(arn, {}).get(k) == v for k, v in tags.items()):
                continue
            attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
                LoadBalancerArn=arn)["Attributes"]}
            if attributes.get("zonal_shift.config.enabled", "false").lower() == "true":
                yield arn, found.get(arn, {}), balancer


def _buckets(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    """S3 buckets, each with its tags (GetBucketTagging: S3 lists no tags)."""
    s3 = aws("s3")
    for page in s3.get_paginator("list_buckets").paginate():
        for bucket in page["Buckets"]:
            try:
                found = _tag_dict(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
            except botocore.exceptions.ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchTagSet":
                    raise
                found = {}
            yield f"arn:aws:s3:::{bucket['Name']}", found, bucket


def _functions(aws: Clients, tags: Mapping[str, str]) -> Iterator[Candidate]:
    """Lambda functions, each with its tags (ListTags: ListFunctions lists none)."""
    lam = aws("lambda")
    for page in lam.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            arn = function["FunctionArn"]
            yield arn, dict(lam.list_tags(Resource=arn).get("Tags") or {}), function


RESOURCE_TYPES: dict[str, Callable[[Clients, Mapping[str, str]], Iterator[Candidate]]] = {
    "aws:ec2:instance": _instances, "aws:ec2:subnet": _subnets,
    "aws:ec2:autoscaling-group": _groups, "aws:rds:cluster": _rds("cluster"),
    "aws:rds:db": _rds("db"), "aws:arc:zonal-shift-managed-resource": _managed_resources,
    "aws:s3:bucket": _buckets, "aws:lambda:function": _functions,
}
"""The resource types the lab's FIS resolves, each by its Describe calls."""


def at_path(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a filter's ``path`` (``Placement.AvailabilityZone``) of a Describe answer."""
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def resolve(target: Mapping[str, Any], rng: random.Random, accounts: Iterable[Clients]) -> list[str]:
    """The ARNs ``target`` (a template's target) selects now among the resources of
    ``accounts`` (clients in the experiment's own account, or in each of a multi-account
    experiment's target accounts)."""
    kind = str(target.get("resourceType", ""))
    if kind not in RESOURCE_TYPES:
        raise TargetError(f"the chaos-sre lab does not resolve resource type {kind}")
    arns = set(target.get("resourceArns") or [])
    tags = dict(target.get("resourceTags") or {})
    filters = {f["path"]: set(f["values"]) for f in target.get("filters") or []}
    found = sorted({arn for account in accounts
                    for arn, resource_tags, described in RESOURCE_TYPES[kind](account, tags)
                    if (not arns or arn in arns)
                    and all(resource_tags.get(k) == v for k, v in tags.items())
                    and all(str(at_path(described, path)) in values for path, values in filters.items())})
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
