"""Elastic Load Balancing (v2) as faults and probes read it: target groups and their health."""

from typing import Any

from chaos_sre.aws import paginate
from chaos_sre.errors import AWSError


def target_group_arn(client: Any, name: str) -> str:
    groups = list(paginate(client, "describe_target_groups", "TargetGroups", Names=[name]))
    if not groups:
        raise AWSError(f"target group {name!r} not found")
    return str(groups[0]["TargetGroupArn"])
