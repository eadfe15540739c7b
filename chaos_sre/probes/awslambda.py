"""Lambda probes: a function's reserved and provisioned concurrency, and what CloudWatch says its
invocations met.

Invocations, throttles and errors come from CloudWatch (namespace ``AWS/Lambda``, dimension
``FunctionName``), which Lambda publishes as one-minute datapoints ("Types of metrics for Lambda
functions", Lambda Developer Guide): sums of ``Invocations``, ``Throttles`` and ``Errors`` and
the largest ``ConcurrentExecutions`` over the minutes CloudWatch has published of the last
``window_seconds`` (AWS seconds, whole minutes; :mod:`chaos_sre.services.minutes`).
"""

from typing import Any

from chaos_sre.aws import aws_client
from chaos_sre.permissions import requires
from chaos_sre.services.awslambda import NAMESPACE, describe_function, provisioned_concurrency
from chaos_sre.services.awslambda import reserved_concurrency as reservation
from chaos_sre.services.minutes import metric_minutes, whole_minutes

__all__ = ["concurrency_settings", "function_metrics", "not_throttled", "reserved_concurrency"]

COUNTED = {"invocations": "Invocations", "throttles": "Throttles", "errors": "Errors"}


@requires("lambda:GetFunctionConcurrency")
def reserved_concurrency(function_name: str, configuration: dict[str, Any] | None = None,
                         secrets: dict[str, Any] | None = None) -> int | None:
    """The function's reserved concurrency (0: every invocation is throttled); None when it has
    none and draws on the account's unreserved pool."""
    return reservation(aws_client("lambda", configuration, secrets), function_name)


@requires("lambda:GetFunctionConcurrency")
def not_throttled(function_name: str, configuration: dict[str, Any] | None = None,
                  secrets: dict[str, Any] | None = None) -> bool:
    """Whether the function may run at all: its reserved concurrency is not 0 (a steady state
    before a throttle; any reservation above 0, or none, is its own)."""
    return reserved_concurrency(function_name, configuration, secrets) != 0


@requires("lambda:GetFunction", "lambda:GetFunctionConcurrency",
          "lambda:ListProvisionedConcurrencyConfigs")
def concurrency_settings(function_name: str, configuration: dict[str, Any] | None = None,
                         secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a throttle changes and a restore must bring back: the function's reserved
    concurrency (None: none) and each version's or alias's provisioned concurrency."""
    client = aws_client("lambda", configuration, secrets)
    name = str(describe_function(client, function_name)["Configuration"]["FunctionName"])
    return {"reserved_concurrency": reservation(client, name),
            "provisioned_concurrency": {p.arn.rsplit(":", 1)[-1]: p.executions
                                        for p in provisioned_concurrency(client, name)}}


@requires("cloudwatch:GetMetricStatistics")
def function_metrics(function_name: str, window_seconds: float = 300,
                     configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, float]:
    """The function's invocations, throttles and errors (sums) and its peak concurrent
    executions over the minutes CloudWatch has published of the last `window_seconds` (whole
    minutes: Lambda publishes one datapoint a minute); `published_seconds` says how much of
    the window that was."""
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    dimensions = {"FunctionName": function_name}
    counted = {key: metric_minutes(cloudwatch, NAMESPACE, metric, dimensions, window_seconds)
               for key, metric in COUNTED.items()}
    concurrency = metric_minutes(cloudwatch, NAMESPACE, "ConcurrentExecutions", dimensions,
                                 window_seconds, statistic="Maximum")
    return {**{key: minutes.total for key, minutes in counted.items()},
            "peak_concurrent_executions": concurrency.peak,
            "window_seconds": whole_minutes(window_seconds),
            "published_seconds": max(m.seconds for m in [*counted.values(), concurrency])}
