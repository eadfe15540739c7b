"""How the AZ faults choose: tags and names as users write them, instances at random, the share
of each Auto Scaling group they take, and what stop mode must not touch or must mark healthy
again."""

import math
import random
from typing import Any, Literal

from chaos_sre.aws import paginate, tag_dict
from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import PlannedCall, Share

ASG_TAG = "aws:autoscaling:groupName"
REPLACES_STOPPED = ("HealthCheck", "ReplaceUnhealthy")
"""Auto Scaling processes that replace a stopped instance (it fails the EC2 health check)."""
MODES = ("all", "count", "percent")
Mode = Literal["all", "count", "percent"]


def tag_map_of(tags: dict[str, str] | str | None) -> dict[str, str]:
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


def names(names: list[str] | str | None) -> list[str]:
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


def health_to_restore(autoscaling: Any, service: list[dict[str, Any]],
                      chosen: set[str]) -> tuple[list[str], list[PlannedCall]]:
    """The chosen instances whose Auto Scaling group will mark them unhealthy while they are
    stopped, so the restore must mark them healthy again, and the SetInstanceHealth calls that
    takes (one per group, on its ARN with its tags); stop mode is refused for instances of a
    group that would replace them.

    A stopped instance fails the EC2 health check ("Health checks for instances in an Auto Scaling
    group"): with neither HealthCheck nor ReplaceUnhealthy suspended its group terminates it, and
    the stop is a termination the restore cannot start again - refused. With HealthCheck running
    and ReplaceUnhealthy suspended the group marks it Unhealthy, a mark that "never automatically
    recovers", and "as soon as you resume the ReplaceUnhealthy process" the group replaces it: those
    instances are returned (the restore sets their health back with SetInstanceHealth). With
    HealthCheck suspended nothing is marked."""
    members = {i["id"]: i["tags"][ASG_TAG] for i in service if i["id"] in chosen and ASG_TAG in i["tags"]}
    if not members:
        return [], []
    found = {g["AutoScalingGroupName"]: g for g in paginate(
        autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
        AutoScalingGroupNames=sorted(set(members.values())))}
    suspended = {name: {p["ProcessName"] for p in g.get("SuspendedProcesses") or []}
                 for name, g in found.items()}
    replacing = sorted(name for name, processes in suspended.items() if not processes & set(REPLACES_STOPPED))
    if replacing:
        raise ValidationError(
            f"refusing to stop instances of Auto Scaling group {', '.join(replacing)}: it replaces "
            "a stopped instance (EC2 health check), so nothing would be left to start again; "
            "terminate them instead, or suspend the group's ReplaceUnhealthy process (the restore "
            "then marks the started instances healthy again) or its HealthCheck process")
    marked = sorted(i for i, group in members.items() if "HealthCheck" not in suspended.get(group, set()))
    marking = sorted({members[i] for i in marked} & set(found))
    return marked, [PlannedCall("autoscaling:SetInstanceHealth", found[name]["AutoScalingGroupARN"],
                                tag_dict(found[name].get("Tags"))) for name in marking]


UNGROUPED = "instances in no Auto Scaling group (nothing replaces them)"


def shares(service: list[dict[str, Any]], chosen: set[str]) -> list[Share]:
    """Per Auto Scaling group, how many of its running instances the fault takes; and of the
    instances in no group, how many (``max_percent`` limits those too)."""
    totals: dict[str, list[int]] = {}
    for instance in service:
        counts = totals.setdefault(instance["tags"].get(ASG_TAG) or "", [0, 0])
        counts[0] += instance["id"] in chosen
        counts[1] += 1
    return [Share(f"Auto Scaling group {g}" if g else UNGROUPED, n, total)
            for g, (n, total) in sorted(totals.items(), key=lambda item: (not item[0], item[0])) if n]


def refuse_ungrouped(service: list[dict[str, Any]], chosen: set[str]) -> None:
    """Refuse to terminate instances in no Auto Scaling group: nothing replaces them, where the
    fault's promise (and the service's recovery) is a group's replacement."""
    ungrouped = sorted(i["id"] for i in service if i["id"] in chosen and ASG_TAG not in i["tags"])
    if ungrouped:
        shown = ", ".join(ungrouped[:5]) + (f" and {len(ungrouped) - 5} more" if len(ungrouped) > 5 else "")
        raise ValidationError(
            f"refusing to terminate {len(ungrouped)} instance(s) in no Auto Scaling group ({shown}): "
            "nothing replaces them; narrow tags or asg_names to the service's groups, or set "
            "allow_instances_outside_groups to true to terminate them anyway")
