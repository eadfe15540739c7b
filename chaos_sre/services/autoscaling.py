"""EC2 Auto Scaling groups as faults and probes read them."""

from typing import Any

from chaos_sre.aws import paginate
from chaos_sre.errors import AWSError


def auto_scaling_group(client: Any, asg_name: str) -> dict[str, Any]:
    groups = list(paginate(client, "describe_auto_scaling_groups", "AutoScalingGroups",
                           AutoScalingGroupNames=[asg_name]))
    if not groups:
        raise AWSError(f"auto scaling group {asg_name!r} not found")
    return groups[0]
