"""DynamoDB throttle in AWS FIS (:mod:`chaos_sre.fis.mapping`): FIS has no capacity-lowering
action, so it runs as a generated SSM Automation document (:mod:`chaos_sre.fis.automation`) with
the fault's own calls and values, from its dry run (the capacity it would set, taken from the
table's consumption then): the scalable targets held (minimum lowered, scaling suspended),
UpdateTable to the lowered capacity, the table ``ACTIVE``, the hold, then UpdateTable back, the
table ``ACTIVE`` again and each scalable target registered exactly as it was - on cancel and on
failure too."""

from typing import Any

from chaos_sre.fis.automation import ApiCall, Change, Wait, automation_part
from chaos_sre.fis.mapping import FisContext, FisPart
from chaos_sre.services.application_autoscaling import registration, widened
from chaos_sre.services.dynamodb import SCALING_NAMESPACE as NAMESPACE
from chaos_sre.services.dynamodb import update_request


def throttle_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``throttle_table`` as one automation (the module doc says which calls)."""
    planned = context.planned()
    table = str(arguments["table_name"])
    before, after = planned["before"], planned["after"]
    changes = []
    for number, hold in enumerate(planned.get("suspended_scaling") or [], start=1):
        changes.append(Change(
            f"HoldScaling{number}",
            ApiCall("application-autoscaling", "RegisterScalableTarget", registration(
                NAMESPACE, hold["resource_id"], hold["dimension"], widened(hold["target"], hold["units"]))),
            undo=ApiCall("application-autoscaling", "RegisterScalableTarget", registration(
                NAMESPACE, hold["resource_id"], hold["dimension"], hold["target"]))))
    active = Wait(ApiCall("dynamodb", "DescribeTable", {"TableName": table}), "$.Table.TableStatus",
                  ["ACTIVE"], int(arguments["wait_timeout_seconds"]))
    changes.append(Change("Throttle", ApiCall("dynamodb", "UpdateTable", update_request(table, before, after)),
                          undo=ApiCall("dynamodb", "UpdateTable", update_request(table, after, before)),
                          settle=active, settle_undo=active))
    return automation_part("throttle-table", f"chaos-sre: table {table} throttled to "
                           f"{after['table']}, then back to {before['table']}", changes, context,
                           2 * float(arguments["wait_timeout_seconds"]))
