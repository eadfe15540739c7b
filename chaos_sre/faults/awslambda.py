"""Lambda faults: throttle a function by its reserved concurrency, then restore it exactly.

A function's reserved concurrency caps how many of its invocations run at once; 0 throttles
every one (a synchronous caller gets HTTP 429 ``TooManyRequestsException``, an asynchronous event
is retried for up to 6 hours: "Configuring reserved concurrency", "Error handling and automatic
retries in Lambda", Lambda Developer Guide). `throttle_function` writes the function's
reserved concurrency before the fault - a number, or none at all - to the run ledger, then calls
PutFunctionConcurrency. `restore_function` (or any replay of the ledger) sets that number again,
or removes the reservation with DeleteFunctionConcurrency when there was none, so the function
draws on the account's unreserved pool as before.

Provisioned concurrency counts towards reserved concurrency ("Configuring provisioned
concurrency for a function"): a function whose versions and aliases hold more provisioned
concurrency than the new reservation is refused before anything changes - lowering the
reservation under it would cost the pre-initialized environments the restore could not bring
back. chaostoolkit-aws's ``put_function_concurrency`` does not remember the reservation it
replaced.
"""

import logging
from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client
from chaos_sre.errors import ValidationError
from chaos_sre.faults.awslambda_fis import reserved_concurrency_in_fis
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Share, Target, fault
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.awslambda import (
    describe_function,
    provisioned_concurrency,
    reserved_concurrency,
    set_reserved_concurrency,
    shown,
)

__all__ = ["restore_function", "throttle_function"]

logger = logging.getLogger("chaostoolkit")
FUNCTIONS = "arn:aws:lambda:*:*:function:*"
RESTORE_OP = "restore_lambda_concurrency"
EFFECT = "set-reserved-concurrency"
ReservedConcurrency = Annotated[int, pydantic.Field(ge=0)]


@fault(
    reads=[Permission("lambda:GetFunction"), Permission("lambda:GetFunctionConcurrency"),
           Permission("lambda:ListProvisionedConcurrencyConfigs")],
    permissions=[Permission("lambda:PutFunctionConcurrency", FUNCTIONS, targets=True),
                 Permission("lambda:DeleteFunctionConcurrency", FUNCTIONS, targets=True)],
    inverses=[RESTORE_OP], effects=[EFFECT], fis=reserved_concurrency_in_fis,
)
def throttle_function(
    function_name: str,
    reserved_concurrency_limit: ReservedConcurrency = 0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Throttle a Lambda function: set its reserved concurrency to `reserved_concurrency_limit`
    (0, the default: every invocation is throttled; N: no more than N run at once).

    The reserved concurrency before - a number, or none - goes to the run ledger first;
    `restore_function` sets it again, or removes the reservation when there was none. A
    function already at the limit is refused (nothing would change), and so is one whose
    provisioned concurrency (its versions' and aliases') is more than the limit: it would be
    lost. With `dry_run` the plan is printed and nothing changes. Returns the function and its
    reserved concurrency before and after (None: no reservation).
    """
    client = aws_client("lambda", configuration, secrets)
    function = describe_function(client, function_name)
    name = str(function["Configuration"]["FunctionName"])
    before = reserved_concurrency(client, name)
    if before == reserved_concurrency_limit:
        raise ValidationError(f"Lambda function {name} already has reserved concurrency "
                              f"{reserved_concurrency_limit}: nothing would change")
    provisioned = provisioned_concurrency(client, name)
    total = sum(p.executions for p in provisioned)
    if total > reserved_concurrency_limit:
        held = ", ".join(f"{p.arn.rsplit(':', 1)[-1]}: {p.executions}" for p in provisioned)
        raise ValidationError(
            f"Lambda function {name} has {total} provisioned concurrency ({held}), more than "
            f"the reserved concurrency {reserved_concurrency_limit} the fault would set: the "
            "pre-initialized environments would be lost and the restore could not bring them "
            "back; remove its provisioned concurrency first or throttle another function")
    resource = f"lambda:function/{name}"
    tags = dict(function.get("Tags") or {})
    arn = str(function["Configuration"]["FunctionArn"])

    def apply(ledger: Ledger) -> None:
        with ledger.mutation(resource, EFFECT, {"reserved_concurrency": before},
                             {"op": RESTORE_OP, "function_name": name,
                              "reserved_concurrency": before}) as mutation:
            set_reserved_concurrency(client, name, reserved_concurrency_limit)
            mutation.applied()
            mutation.outcome = {"reserved_concurrency": reserved_concurrency_limit}
        logger.info(f"chaos-sre: Lambda function {name} reserved concurrency {shown(before)} -> "
                    f"{reserved_concurrency_limit}")

    return Plan(
        targets=[Target(resource, tags)],
        shares=[Share(f"Lambda function {name}", 1 if reserved_concurrency_limit == 0 else 0, 1)],
        summary={"function_name": name, "before": {"reserved_concurrency": before},
                 "after": {"reserved_concurrency": reserved_concurrency_limit}},
        apply=apply,
        calls=[PlannedCall("lambda:PutFunctionConcurrency", arn, tags),
               *([PlannedCall("lambda:DeleteFunctionConcurrency", arn, tags)] if before is None else [])],
        action=f"set Lambda function {name}'s reserved concurrency from {shown(before)} to "
               f"{reserved_concurrency_limit}")


@requires()  # its inverses use the permissions their faults declare
def restore_function(configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """`restore_run` (undo everything this run changed): a throttled Lambda function gets its
    reserved concurrency back - the number it had, or none. Returns what was restored."""
    return {"restored": restore_run(configuration, secrets)}


class RestoreLambdaConcurrency(Inverse):
    """A Lambda function's reserved concurrency, exactly as it was (None: no reservation)."""

    function_name: str
    reserved_concurrency: int | None


@inverse(RESTORE_OP, RestoreLambdaConcurrency)
def _restore_lambda_concurrency(op: RestoreLambdaConcurrency, configuration: Settings,
                                secrets: Settings) -> str:
    client = aws_client("lambda", configuration, secrets)
    if reserved_concurrency(client, op.function_name) != op.reserved_concurrency:
        set_reserved_concurrency(client, op.function_name, op.reserved_concurrency)
    return (f"Lambda function {op.function_name} restored to reserved concurrency "
            f"{shown(op.reserved_concurrency)}")


@effect_check(EFFECT)
def _reservation_holds(intent: Operation, outcome: Any, configuration: Settings,
                       secrets: Settings) -> str | None:
    """The function still has the reserved concurrency the fault set."""
    name = str(intent["resource"]).split("/", 1)[1]
    if not isinstance(outcome, dict) or "reserved_concurrency" not in outcome:
        return "the run ledger does not say which reserved concurrency the fault set"
    now = reserved_concurrency(aws_client("lambda", configuration, secrets), name)
    if now != outcome["reserved_concurrency"]:
        return (f"its reserved concurrency is {shown(now)}, not the {outcome['reserved_concurrency']} "
                "the fault set: something put it back")
    return None
