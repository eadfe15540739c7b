"""Lambda throttle (reserved concurrency) in AWS FIS (:mod:`chaos_sre.fis.mapping`): FIS's Lambda
actions (``aws:lambda:invocation-error``, ``invocation-add-delay``,
``invocation-http-integration-response``) act inside invocations through its extension layer and
have no reserved concurrency, so the throttle runs as a generated SSM Automation document
(:mod:`chaos_sre.fis.automation`) with the fault's own call and values, from its dry run:
PutFunctionConcurrency to the limit, the hold, then the reservation back as it was -
PutFunctionConcurrency with the number it had, or DeleteFunctionConcurrency when it had none - on
cancel and on failure too."""

from typing import Any

from chaos_sre.fis.automation import ONE_CALL_RESTORE_SECONDS, ApiCall, Change, automation_part
from chaos_sre.fis.mapping import FisContext, FisPart
from chaos_sre.services.awslambda import concurrency_call, shown


def _call(function_name: str, reserved: int | None) -> ApiCall:
    return ApiCall("lambda", *concurrency_call(function_name, reserved))


def reserved_concurrency_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``throttle_function`` as one automation (the module doc says which calls)."""
    planned = context.planned()
    name = str(planned["function_name"])
    before = planned["before"]["reserved_concurrency"]
    after = planned["after"]["reserved_concurrency"]
    change = Change("Throttle", _call(name, after), undo=_call(name, before))
    return automation_part("throttle-function", f"chaos-sre: Lambda function {name} reserved "
                           f"concurrency {after}, then back to {shown(before)}", [change], context,
                           ONE_CALL_RESTORE_SECONDS)
