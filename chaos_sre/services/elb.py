"""Elastic Load Balancing (v2) as faults and probes read it: target groups and their health."""

from typing import Any

from chaos_sre.aws import call, paginate, tag_dict
from chaos_sre.errors import AWSError

DESCRIBE_TAGS_MAX_ARNS = 20
"""DescribeTags's limit of resource ARNs per call
(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html)."""


def resource_tags(client: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    """The tags of load balancers or target groups by ARN, read 20 ARNs per DescribeTags call."""
    tags: dict[str, dict[str, str]] = {}
    for first in range(0, len(arns), DESCRIBE_TAGS_MAX_ARNS):
        described = call(client, "describe_tags",
                         ResourceArns=arns[first:first + DESCRIBE_TAGS_MAX_ARNS])
        tags.update({d["ResourceArn"]: tag_dict(d.get("Tags")) for d in described["TagDescriptions"]})
    return tags


def target_group(client: Any, name: str) -> dict[str, Any]:
    """DescribeTargetGroups' description of the target group ``name``."""
    groups = list(paginate(client, "describe_target_groups", "TargetGroups", Names=[name]))
    if not groups:
        raise AWSError(f"target group {name!r} not found")
    return dict(groups[0])


def target_group_arn(client: Any, name: str) -> str:
    return str(target_group(client, name)["TargetGroupArn"])
