"""Application Auto Scaling scalable targets as faults read and restore them.

A fault that changes a capacity Application Auto Scaling manages (an ECS service's desired count,
a DynamoDB table's or GSI's read or write capacity) keeps the scaling from undoing it: it records
the scalable target's min, max and suspended state, then registers it again with dynamic and
scheduled scaling suspended and min/max widened to include the fault's value
(RegisterScalableTarget, which "changes the resource's current capacity to a value that is inside
of this range"; "Suspend and resume scaling", Application Auto Scaling User Guide). The restore
registers it again with exactly what was recorded.
"""

from typing import Any, TypedDict

from chaos_sre.aws import call, paginate
from chaos_sre.permissions import Permission, PlannedCall

SUSPENSION_KEYS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                   "ScheduledScalingSuspended")
ALL_SUSPENDED = {key: True for key in SUSPENSION_KEYS}


SCALABLE_TARGETS = "arn:aws:application-autoscaling:*:*:scalable-target/*"


def may_register(namespace: str, dimension: str) -> Permission:
    """RegisterScalableTarget for ``namespace``'s ``dimension`` (a pattern with ``*``) alone: the
    action's condition keys ``application-autoscaling:service-namespace`` and
    ``scalable-dimension`` (Service Authorization Reference, Application Auto Scaling) keep it off
    every other scalable target of the Region - Aurora replicas, Lambda provisioned concurrency,
    other services' counts."""
    return Permission("application-autoscaling:RegisterScalableTarget", SCALABLE_TARGETS, (
        ("StringEquals", "application-autoscaling:service-namespace", namespace),
        ("StringLike" if "*" in dimension else "StringEquals",
         "application-autoscaling:scalable-dimension", dimension)))


def registering(namespace: str, dimension: str) -> PlannedCall:
    """The RegisterScalableTarget call of ``namespace``'s ``dimension`` (exact), with the
    condition keys it carries (see :func:`may_register`)."""
    return PlannedCall("application-autoscaling:RegisterScalableTarget", "scalable-target/*", context={
        "application-autoscaling:service-namespace": namespace,
        "application-autoscaling:scalable-dimension": dimension})


class ScalableTarget(TypedDict):
    """A scalable target as chaos-sre records and restores it."""

    min: int
    max: int
    suspended: dict[str, bool]


def scalable_target(scaling: Any, namespace: str, resource_id: str,
                    dimension: str) -> ScalableTarget | None:
    """The scalable target as {min, max, suspended}, or None when the resource has none."""
    targets = list(paginate(scaling, "describe_scalable_targets", "ScalableTargets",
                            ServiceNamespace=namespace, ResourceIds=[resource_id],
                            ScalableDimension=dimension))
    if not targets:
        return None
    target = targets[0]
    suspended = target.get("SuspendedState") or {}
    return {"min": int(target["MinCapacity"]), "max": int(target["MaxCapacity"]),
            "suspended": {key: bool(suspended.get(key, False)) for key in SUSPENSION_KEYS}}


def widened(target: ScalableTarget, value: int) -> ScalableTarget:
    """``target`` with min/max stretched to include ``value`` and every scaling suspended."""
    return {"min": min(target["min"], value), "max": max(target["max"], value),
            "suspended": dict(ALL_SUSPENDED)}


def registration(namespace: str, resource_id: str, dimension: str,
                 target: ScalableTarget) -> dict[str, Any]:
    """The RegisterScalableTarget request for exactly ``target``'s min, max and suspended state."""
    return {"ServiceNamespace": namespace, "ResourceId": resource_id, "ScalableDimension": dimension,
            "MinCapacity": target["min"], "MaxCapacity": target["max"],
            "SuspendedState": dict(target["suspended"])}


def register(scaling: Any, namespace: str, resource_id: str, dimension: str,
             target: ScalableTarget) -> None:
    """RegisterScalableTarget with exactly ``target``'s min, max and suspended state."""
    call(scaling, "register_scalable_target",
         **registration(namespace, resource_id, dimension, target))
