"""Publishes the lab's Lambda CloudWatch metrics, as Lambda does.

Per function invoked in a minute (dimension ``FunctionName``, namespace ``AWS/Lambda``):
``Invocations`` (the invocations that ran), ``Errors`` (those whose function failed: in the lab,
those FIS's extension fails), ``Throttles`` (the invocation requests throttled) and
``ConcurrentExecutions`` (the most in flight at once), one datapoint a minute ("Types of metrics
for Lambda functions", Lambda Developer Guide; :mod:`chaos_sre.lab.core.minute_metrics`).
"""

from collections import Counter
from datetime import datetime
from typing import Any

from chaos_sre.lab.awslambda.simulation import Functions
from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.minute_metrics import MINUTE_SECONDS, STANDARD_RESOLUTION, MinuteMetricsPublisher
from chaos_sre.lab.core.simulation import SimulationContext

NAMESPACE = "AWS/Lambda"
COUNTS = ("Invocations", "Errors", "Throttles")


def metric_data(minute: dict[str, Counter[str]], at: datetime) -> list[dict[str, Any]]:
    """CloudWatch datapoints of a minute's counts per function."""
    data = []
    for name, counts in sorted(minute.items()):
        dimensions = [{"Name": "FunctionName", "Value": name}]
        for metric in (*COUNTS, "ConcurrentExecutions"):
            data.append({"MetricName": metric, "Dimensions": dimensions, "Timestamp": at,
                         "Value": float(counts.get(metric, 0)), "Unit": "Count",
                         "StorageResolution": STANDARD_RESOLUTION})
    return data


def create(context: SimulationContext, simulation: Functions, api_url: str) -> MinuteMetricsPublisher:
    """The functions' CloudWatch metrics, published to the lab's API at ``api_url``."""
    return MinuteMetricsPublisher(metrics_client=internal_session().client("cloudwatch", endpoint_url=api_url),
                                  namespace=NAMESPACE,
                                  drain=lambda at: metric_data(simulation.drain_minute(), at),
                                  minute_seconds=context.scaled(MINUTE_SECONDS),
                                  name="lab-lambda-metrics")
