"""Invoke, as the lab answers it (moto runs functions only in Docker; it answers the rest of the
Lambda API: :mod:`chaos_sre.lab.core.own_apis`). The lab's functions echo their event.

* ``RequestResponse`` (the default): HTTP 200 with the payload, ``X-Amz-Executed-Version``
  ``$LATEST``; a failed one (FIS's extension) HTTP 200 with ``X-Amz-Function-Error`` ``Unhandled``
  and the error as the payload; a throttled invocation is HTTP 429 ``TooManyRequestsException`` with the reason
  (``ReservedFunctionConcurrentInvocationLimitExceeded`` or ``ConcurrentInvocationLimitExceeded``);
* ``Event``: HTTP 202; the event is tried at once and, throttled, again as Lambda retries it;
* ``DryRun``: HTTP 204, nothing invoked ("Invoke", AWS Lambda API Reference).

Provisioned concurrency (moto has none): PutProvisionedConcurrencyConfig on a published version or
an alias (``$LATEST`` is refused), no more in all than the function's reserved concurrency when it
has one; Get, List (paginated, ``MaxItems`` 1-50) and Delete. A configuration is ``READY`` at
once ("Configuring provisioned concurrency for a function"; AWS allocates it over minutes).

The answer comes at once; the invocation holds a concurrent execution for its duration (cold
start included) on the lab's clock (:mod:`chaos_sre.lab.awslambda.invocations`).
"""

from collections.abc import Mapping
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException

from chaos_sre.lab.awslambda.calls import function_name
from chaos_sre.lab.awslambda.simulation import Functions, lab_functions
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.own_apis import ApiError, Handler, invalid, not_found
from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION
from chaos_sre.lab.core.wsgi import ApiRequest

BOTOCORE_SERVICE = "lambda"
MOTO_ANSWERS_THE_REST = True
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LIST_PAGE = (1, 50)


def _function_name(request: ApiRequest) -> str:
    """The function a request names: by name, ARN or partial ARN (``NAME:QUALIFIER`` not taken)."""
    name = function_name(request.params)
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
    if outcome.error:  # a function error: HTTP 200 with X-Amz-Function-Error ("Invoke": FunctionError)
        return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "FunctionError": outcome.error,
                "Payload": b'{"errorMessage": "the invocation failed (AWS FIS)", "errorType": "FisError"}'}
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST",
            "Payload": payload if isinstance(payload, bytes) and payload else b"null"}


def _bad_value(message: str) -> ApiError:
    return ApiError(400, "InvalidParameterValueException", message)


def _qualifier(request: ApiRequest, name: str) -> str:
    """The version or alias a provisioned concurrency request names (``$LATEST`` refused)."""
    qualifier = str(request.params.get("Qualifier") or "")
    if not qualifier or qualifier.upper() == "$LATEST":
        raise _bad_value("Provisioned Concurrency Configs cannot be applied to unpublished function "
                         "versions.")
    try:
        moto_backend("lambda").get_function(name, qualifier)
    except UnknownFunctionException:
        raise not_found(f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:"
                        f"{qualifier}") from None
    return qualifier


def _config(functions: Functions, name: str, qualifier: str) -> dict[str, Any]:
    count = functions.provisioned[name][qualifier]
    return {"RequestedProvisionedConcurrentExecutions": count,
            "AllocatedProvisionedConcurrentExecutions": count,
            "AvailableProvisionedConcurrentExecutions": count, "Status": "READY"}


def put_provisioned(request: ApiRequest) -> Mapping[str, Any]:
    name = _function_name(request)
    qualifier = _qualifier(request, name)
    count = int(request.params.get("ProvisionedConcurrentExecutions") or 0)
    if count < 1:
        raise _bad_value("ProvisionedConcurrentExecutions must be at least 1.")
    functions = lab_functions()
    configs = functions.provisioned.setdefault(name, {})
    reserved = moto_backend("lambda").get_function(name).reserved_concurrency
    others = sum(n for q, n in configs.items() if q != qualifier)
    if reserved is not None and others + count > int(reserved):
        raise _bad_value(f"Requested Provisioned Concurrency should not be greater than the "
                         f"reservedConcurrentExecution [{reserved}] for function minus the "
                         f"provisioned concurrency of its other versions and aliases [{others}].")
    configs[qualifier] = count
    return _config(functions, name, qualifier)


def get_provisioned(request: ApiRequest) -> Mapping[str, Any]:
    name = _function_name(request)
    qualifier = _qualifier(request, name)
    functions = lab_functions()
    if qualifier not in functions.provisioned.get(name, {}):
        raise ApiError(404, "ProvisionedConcurrencyConfigNotFoundException",
                       "No Provisioned Concurrency Config found for this function")
    return _config(functions, name, qualifier)


def list_provisioned(request: ApiRequest) -> Mapping[str, Any]:
    name = _function_name(request)
    size = int(request.params.get("MaxItems") or LIST_PAGE[1])
    if not LIST_PAGE[0] <= size <= LIST_PAGE[1]:
        raise _bad_value(f"MaxItems must be between {LIST_PAGE[0]} and {LIST_PAGE[1]}.")
    start = int(request.params.get("Marker") or 0)
    functions = lab_functions()
    qualifiers = sorted(functions.provisioned.get(name, {}))
    page = [{"FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:{q}",
             **_config(functions, name, q)} for q in qualifiers[start:start + size]]
    more = start + size < len(qualifiers)
    return {"ProvisionedConcurrencyConfigs": page, **({"NextMarker": str(start + size)} if more else {})}


def delete_provisioned(request: ApiRequest) -> Mapping[str, Any]:
    name = _function_name(request)
    qualifier = _qualifier(request, name)
    lab_functions().provisioned.get(name, {}).pop(qualifier, None)
    return {}


OPERATIONS: Mapping[str, Handler] = {
    "Invoke": invoke, "PutProvisionedConcurrencyConfig": put_provisioned,
    "GetProvisionedConcurrencyConfig": get_provisioned,
    "ListProvisionedConcurrencyConfigs": list_provisioned,
    "DeleteProvisionedConcurrencyConfig": delete_provisioned}
