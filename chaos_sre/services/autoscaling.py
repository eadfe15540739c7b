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


PLACED_STATES = ("InService", "Pending:Wait", "Pending:Proceed")
"""An instance placed in its AZ for good: in service, or launched and held by a launch lifecycle
hook (which may hold it up to its heartbeat timeout, an hour by default, "Amazon EC2 Auto Scaling
lifecycle hooks"): waiting for the hook is the hook owner's business, not the rebalance's."""
SET_ASIDE_STATES = ("Standby", "EnteringStandby", "Terminating:Wait", "Terminating:Proceed")
"""Instances that no longer count in the group's placement: in Standby (set aside by someone, the
group replaces it unless its desired capacity was decremented, "Temporarily remove instances
from your Auto Scaling group"), or leaving and held by a termination lifecycle hook."""


def imbalance(group: dict[str, Any]) -> str | None:
    """Why the group is not balanced across its AZs yet (None when it is): an instance still
    launching or leaving, one in an AZ the group no longer has, fewer placed than desired, or
    AZs that differ by more than one instance. Instances in Standby or held by a termination
    hook are left out; a launch held by a lifecycle hook counts as placed in its AZ."""
    zones = set(group.get("AvailabilityZones") or [])
    counts = {zone: 0 for zone in zones}
    for instance in group["Instances"]:
        if instance["LifecycleState"] in SET_ASIDE_STATES:
            continue
        if instance["LifecycleState"] not in PLACED_STATES:
            return f"{instance['InstanceId']} is {instance['LifecycleState']}"
        if instance["AvailabilityZone"] not in zones:
            return f"{instance['InstanceId']} is in {instance['AvailabilityZone']}, not one of its AZs"
        counts[instance["AvailabilityZone"]] += 1
    if sum(counts.values()) < group["DesiredCapacity"]:
        return f"{sum(counts.values())} of {group['DesiredCapacity']} instances placed"
    if counts and max(counts.values()) - min(counts.values()) > 1:
        return "instances per AZ " + ", ".join(f"{z} {n}" for z, n in sorted(counts.items()))
    return None
