"""Invoke, as the lab answers it (moto runs functions only in Docker; it answers the rest of the
Lambda API: :mod:`chaos_sre.lab.core.own_apis`). The lab's functions echo their event.

* ``RequestResponse`` (the default): HTTP 200 with the payload, ``X-Amz-Executed-Version``
  ``$LATEST``; a throttled invocation is HTTP 429 ``TooManyRequestsException`` with the reason
  (``ReservedFunctionConcurrentInvocationLimitExceeded`` or ``ConcurrentInvocationLimitExceeded``);
* ``Event``: HTTP 202; the event is tried at once and, throttled, again as Lambda retries it;
* ``DryRun``: HTTP 204, nothing invoked ("Invoke", AWS Lambda API Reference).

The answer comes at once; the invocation holds a concurrent execution for its duration (cold
start included) on the lab's clock (:mod:`chaos_sre.lab.awslambda.invocations`).
"""

from collections.abc import Mapping
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException

from chaos_sre.lab.awslambda.simulation import lab_functions
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.own_apis import ApiError, Handler, invalid, not_found
from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION
from chaos_sre.lab.core.wsgi import ApiRequest

BOTOCORE_SERVICE = "lambda"
MOTO_ANSWERS_THE_REST = True
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


def _function_name(request: ApiRequest) -> str:
    """The function a request names: by name, ARN or partial ARN (``NAME:QUALIFIER`` not taken)."""
    given = str(request.params.get("FunctionName") or "")
    name = given.split(":function:", 1)[-1].split(":", 1)[0]
    try:
        moto_backend("lambda").get_function(name)
    except UnknownFunctionException:
        raise not_found(f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}") from None
    return name


def invoke(request: ApiRequest) -> Mapping[str, Any]:
    name = _function_name(request)
    kind = str(request.params.get("InvocationType") or "RequestResponse")
    if kind not in INVOCATION_TYPES:
        raise invalid(f"1 validation error detected: Value '{kind}' at 'invocationType' failed to "
                      f"satisfy constraint: Member must satisfy enum value set: {list(INVOCATION_TYPES)}")
    functions = lab_functions()
    if kind == "DryRun":
        return {"StatusCode": 204, "Payload": b""}
    if kind == "Event":
        functions.queue(name)
        return {"StatusCode": 202, "Payload": b""}
    outcome = functions.invoke(name)
    if not outcome.started:
        raise ApiError(429, "TooManyRequestsException", "Rate Exceeded.", outcome.throttle_reason)
    payload = request.params.get("Payload")
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST",
            "Payload": payload if isinstance(payload, bytes) and payload else b"null"}


OPERATIONS: Mapping[str, Handler] = {"Invoke": invoke}
