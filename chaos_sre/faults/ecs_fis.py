"""ECS desired count (scale to zero) in AWS FIS (:mod:`chaos_sre.fis.mapping`): FIS has no action for it, so it
runs as a generated SSM Automation document (:mod:`chaos_sre.fis.automation`) with the fault's
own calls and values, from its dry run: RegisterScalableTarget with the minimum lowered and
scaling suspended (when the service has a scalable target), UpdateService to the new count, the
hold, then UpdateService back, the service's running count back, and the scalable target
registered exactly as it was - on cancel and on failure too."""

from typing import Any

from chaos_sre.fis.automation import ApiCall, Change, Wait, automation_part
from chaos_sre.fis.mapping import FisContext, FisPart
from chaos_sre.services.application_autoscaling import registration
from chaos_sre.services.ecs import DESIRED_COUNT, NAMESPACE, resource_id


def desired_count_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``set_desired_count`` and ``scale_service_to_zero`` as one automation (the module doc says
    which calls)."""
    planned = context.planned()
    cluster, service = str(arguments["cluster"]), str(arguments["service"])
    before, after = planned["before"], planned["after"]
    changes = []
    if before.get("scalable_target") and after.get("scalable_target"):
        scalable = resource_id(cluster, service)
        changes.append(Change(
            "HoldScaling",
            ApiCall("application-autoscaling", "RegisterScalableTarget",
                    registration(NAMESPACE, scalable, DESIRED_COUNT, after["scalable_target"])),
            undo=ApiCall("application-autoscaling", "RegisterScalableTarget",
                         registration(NAMESPACE, scalable, DESIRED_COUNT, before["scalable_target"]))))
    describe = ApiCall("ecs", "DescribeServices", {"cluster": cluster, "services": [service]})
    changes.append(Change(
        "SetDesiredCount",
        ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": service,
                                         "desiredCount": int(after["desired_count"])}),
        undo=ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": service,
                                              "desiredCount": int(before["desired_count"])}),
        settle_undo=Wait(describe, "$.services[0].runningCount", [str(before["desired_count"])],
                         int(arguments["restore_timeout_seconds"]))))
    return automation_part(
        "set-desired-count", f"chaos-sre: ECS service {cluster}/{service} to "
        f"{after['desired_count']} tasks, then back to {before['desired_count']}", changes, context,
        float(arguments["restore_timeout_seconds"]))
