"""Lambda functions as faults and probes read them: reserved and provisioned concurrency, and the
function's CloudWatch metrics.

A function's reserved concurrency is a number (0 throttles every invocation) or absent (the
function draws on the account's unreserved pool); GetFunctionConcurrency answers both
("Configuring reserved concurrency", Lambda Developer Guide). Provisioned concurrency is set per
published version or alias and counts towards the function's reserved concurrency
("Configuring provisioned concurrency for a function"). Lambda publishes its metrics (namespace
``AWS/Lambda``, dimension ``FunctionName``) at one-minute intervals ("Types of metrics for Lambda
functions").
"""

from typing import Any, NamedTuple

from botocore import xform_name

from chaos_sre.aws import call, paginate
from chaos_sre.errors import ValidationError

NAMESPACE = "AWS/Lambda"
FIS_WRAPPER, FIS_WRAPPER_VARIABLE = "/opt/aws-fis/bootstrap", "AWS_LAMBDA_EXEC_WRAPPER"
FIS_LOCATION_VARIABLE = "AWS_FIS_CONFIGURATION_LOCATION"
"""How a function runs AWS FIS's Lambda extension: its wrapper, and the S3 location of its faults
("Use the AWS FIS aws:lambda:function actions")."""


class Provisioned(NamedTuple):
    """One provisioned concurrency configuration: its version or alias ARN and its count."""

    arn: str
    executions: int


def describe_function(client: Any, function_name: str) -> dict[str, Any]:
    """GetFunction's answer (``Configuration``, ``Tags``, ``Concurrency``)."""
    if not function_name:
        raise ValidationError("function_name must name a Lambda function")
    return call(client, "get_function", FunctionName=function_name)


def reserved_concurrency(client: Any, function_name: str) -> int | None:
    """The function's reserved concurrency; None when it has none."""
    value = call(client, "get_function_concurrency", FunctionName=function_name).get(
        "ReservedConcurrentExecutions")
    return None if value is None else int(value)


def provisioned_concurrency(client: Any, function_name: str) -> list[Provisioned]:
    """Every provisioned concurrency configuration of the function's versions and aliases."""
    return [Provisioned(str(c["FunctionArn"]), int(c["RequestedProvisionedConcurrentExecutions"]))
            for c in paginate(client, "list_provisioned_concurrency_configs",
                              "ProvisionedConcurrencyConfigs", FunctionName=function_name)]


def shown(reserved: int | None) -> str:
    """A reserved concurrency as logs and notes say it: the number, or ``none``."""
    return "none" if reserved is None else str(reserved)


def concurrency_call(function_name: str, reserved: int | None) -> tuple[str, dict[str, Any]]:
    """The Lambda API call (its API name, its parameters) that sets the function's reserved
    concurrency to ``reserved``: PutFunctionConcurrency, or DeleteFunctionConcurrency for none."""
    if reserved is None:
        return "DeleteFunctionConcurrency", {"FunctionName": function_name}
    return "PutFunctionConcurrency", {"FunctionName": function_name,
                                      "ReservedConcurrentExecutions": reserved}


def set_reserved_concurrency(client: Any, function_name: str, reserved: int | None) -> None:
    """Set the function's reserved concurrency to ``reserved`` (None: remove the reservation)."""
    api, parameters = concurrency_call(function_name, reserved)
    call(client, xform_name(api), **parameters)
