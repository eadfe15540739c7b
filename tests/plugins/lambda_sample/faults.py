"""Throttle a Lambda function by its reserved concurrency, and restore it exactly.

``PutFunctionConcurrency`` with 0 stops every invocation (a synchronous caller gets 429
``TooManyRequestsException``; "Configuring reserved concurrency", AWS Lambda Developer Guide,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). The function's
reserved concurrency before the fault - a number, or none at all - goes to the run ledger
first; the restore sets that number again, or removes the reservation
(``DeleteFunctionConcurrency``) when there was none.
"""

from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client, call
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Target, fault
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse

__all__ = ["throttle_function"]

FUNCTIONS = "arn:aws:lambda:*:*:function:*"
RESTORE = "restore_function_concurrency"


def reserved_concurrency(client: Any, function_name: str) -> int | None:
    """The function's reserved concurrency, None when it has none."""
    found = call(client, "get_function_concurrency", FunctionName=function_name)
    value = found.get("ReservedConcurrentExecutions")
    return None if value is None else int(value)


@fault(reads=[Permission("lambda:GetFunction"), Permission("lambda:GetFunctionConcurrency")],
       permissions=[Permission("lambda:PutFunctionConcurrency", FUNCTIONS, targets=True),
                    Permission("lambda:DeleteFunctionConcurrency", FUNCTIONS, targets=True)],
       inverses=[RESTORE], effects=["throttle-function"])
def throttle_function(function_name: str,
                      reserved_concurrency_limit: Annotated[int, pydantic.Field(ge=0)] = 0,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> Plan:
    """Throttle a Lambda function: set its reserved concurrency to
    `reserved_concurrency_limit` (0: every invocation is throttled). The reserved concurrency
    before (or its absence) is restored exactly by the rollback. Returns the function and its
    reserved concurrency before and after."""
    client = aws_client("lambda", configuration, secrets)
    function = call(client, "get_function", FunctionName=function_name)
    before = reserved_concurrency(client, function_name)
    resource = f"lambda:function/{function_name}"

    def apply(ledger: Ledger) -> None:
        with ledger.mutation(resource, "throttle-function", {"reserved_concurrency": before},
                             {"op": RESTORE, "function_name": function_name,
                              "reserved_concurrency": before}) as mutation:
            call(client, "put_function_concurrency", FunctionName=function_name,
                 ReservedConcurrentExecutions=reserved_concurrency_limit)
            mutation.outcome = {"reserved_concurrency": reserved_concurrency_limit}

    arn, tags = function["Configuration"]["FunctionArn"], function.get("Tags") or {}
    restores = "lambda:DeleteFunctionConcurrency" if before is None else "lambda:PutFunctionConcurrency"
    return Plan(targets=[Target(resource, tags)],
                summary={"function_name": function_name, "before": before,
                         "after": reserved_concurrency_limit},
                apply=apply,
                calls=[PlannedCall("lambda:PutFunctionConcurrency", arn, tags),
                       PlannedCall(restores, arn, tags)],
                action=f"set the reserved concurrency of {function_name} from "
                       f"{'none' if before is None else before} to {reserved_concurrency_limit}")


class RestoreFunctionConcurrency(Inverse):
    """A function's reserved concurrency as it was: a number, or none (None)."""

    function_name: str
    reserved_concurrency: int | None


@inverse(RESTORE, RestoreFunctionConcurrency)
def _restore(op: RestoreFunctionConcurrency, configuration: Settings, secrets: Settings) -> str:
    client = aws_client("lambda", configuration, secrets)
    name, wanted = op.function_name, op.reserved_concurrency
    if wanted is None:
        call(client, "delete_function_concurrency", FunctionName=name)
        return f"Lambda function {name}: reserved concurrency removed, as before"
    call(client, "put_function_concurrency", FunctionName=name, ReservedConcurrentExecutions=wanted)
    return f"Lambda function {name}: reserved concurrency {wanted} again"


@effect_check("throttle-function")
def _throttled(intent: Operation, outcome: Any, configuration: Settings,
               secrets: Settings) -> str | None:
    """The function still has the reserved concurrency the fault set."""
    name = str(intent["resource"]).split("/", 1)[1]
    now = reserved_concurrency(aws_client("lambda", configuration, secrets), name)
    if now != outcome["reserved_concurrency"]:
        return (f"its reserved concurrency is {'none' if now is None else now}, not the "
                f"{outcome['reserved_concurrency']} the fault set")
    return None
