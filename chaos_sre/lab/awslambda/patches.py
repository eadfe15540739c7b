"""moto patches of Lambda: the account's concurrency as AWS keeps it.

* moto refuses a reservation that leaves fewer than 100 unreserved concurrent executions only
  when ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` names the account's quota, so the lab sets it to AWS's
  default, 1,000 ("Lambda quotas").
* PutFunctionConcurrency below the provisioned concurrency of the function's versions and aliases
  is refused (``InvalidParameterValueException``): provisioned concurrency counts towards the
  function's reserved concurrency ("Configuring provisioned concurrency for a function",
  Lambda Developer Guide; moto has no provisioned concurrency, the lab answers it:
  :mod:`chaos_sre.lab.awslambda.api`).
* GetFunction shows a reserved concurrency of 0 (``Concurrency``), as AWS does; moto leaves it
  out, as if the function had none.
* Each change of a function's reserved concurrency is an event on the lab's timeline; a lower cap
  than before (none is no cap) is a fault: ``lambda-reserved-concurrency-lowered``.
"""

import os
from typing import Any, Protocol, cast

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException

from chaos_sre.lab.awslambda.invocations import ACCOUNT_CONCURRENCY
from chaos_sre.lab.core.patches import hooks, original, replaces

os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(ACCOUNT_CONCURRENCY))


class FunctionHooks(Protocol):
    """What the Lambda patches ask of the service's simulation."""

    def provisioned_total(self, name: str) -> int:
        """The provisioned concurrency of every version and alias of function ``name``."""

    def reservation_changed(self, name: str, previous: int | None, reserved: int | None) -> None:
        """Function ``name``'s reserved concurrency went from ``previous`` to ``reserved``."""


def _lab() -> FunctionHooks:
    return cast(FunctionHooks, hooks().service("lambda"))


def _reserved(value: Any) -> int | None:
    return None if value is None else int(value)


@replaces(lambda_models.LambdaBackend, "put_function_concurrency")
def _put_function_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
    """PutFunctionConcurrency, refused below the function's provisioned concurrency."""
    function = self.get_function(function_name)
    provisioned = _lab().provisioned_total(function.function_name)
    if reserved_concurrency is not None and int(reserved_concurrency) < provisioned:
        raise InvalidParameterValueException(
            f"Specified ReservedConcurrentExecutions for function is less than the function's "
            f"total provisioned concurrency of [{provisioned}].")
    previous = _reserved(function.reserved_concurrency)
    result = original(lambda_models.LambdaBackend, "put_function_concurrency")(
        self, function_name, reserved_concurrency)
    _lab().reservation_changed(function.function_name, previous, _reserved(result))
    return result


@replaces(lambda_models.LambdaBackend, "delete_function_concurrency")
def _delete_function_concurrency(self: Any, function_name: str) -> Any:
    """DeleteFunctionConcurrency: the function draws on the unreserved pool again."""
    function = self.get_function(function_name)
    previous = _reserved(function.reserved_concurrency)
    result = original(lambda_models.LambdaBackend, "delete_function_concurrency")(self, function_name)
    _lab().reservation_changed(function.function_name, previous, None)
    return result


@replaces(lambda_models.LambdaFunction, "get_code")
def _get_code(self: Any) -> dict[str, Any]:
    """GetFunction's answer, with a reserved concurrency of 0 shown (moto omits a falsy one)."""
    answer = dict(original(lambda_models.LambdaFunction, "get_code")(self))
    if self.reserved_concurrency is not None and int(self.reserved_concurrency) == 0:
        answer["Concurrency"] = {"ReservedConcurrentExecutions": 0}
    return answer
