"""Publishes the lab's DynamoDB CloudWatch metrics, as DynamoDB does.

Once a minute (an AWS minute, played at the lab's time scale), what the application's calls
consumed and what was throttled go to the lab's CloudWatch (namespace ``AWS/DynamoDB``): per
table (dimension ``TableName``) and per GSI (``TableName``, ``GlobalSecondaryIndexName``)
``ConsumedReadCapacityUnits``, ``ConsumedWriteCapacityUnits``, ``ReadThrottleEvents`` and
``WriteThrottleEvents``; per table and operation (``TableName``, ``Operation``)
``ThrottledRequests``. Each datapoint is the minute's sum, at standard resolution, stamped with
the start of its minute and published once the minute is over ("CloudWatch aggregates the
following DynamoDB metrics at one-minute intervals",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html;
:mod:`chaos_sre.lab.core.minute_metrics`).
"""

from datetime import datetime
from typing import Any

from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.minute_metrics import MINUTE_SECONDS, STANDARD_RESOLUTION, MinuteMetricsPublisher
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.dynamodb.simulation import DynamoDBDynamics

NAMESPACE = "AWS/DynamoDB"


def metric_data(counters: dict[tuple[str, str | None, str], float],
                at: datetime) -> list[dict[str, Any]]:
    """CloudWatch datapoints for drained capacity counters."""
    data = []
    for (table, index, name), value in sorted(counters.items(), key=str):
        dimensions = [{"Name": "TableName", "Value": table}]
        if name.startswith("ThrottledRequests:"):
            name, operation = name.split(":", 1)
            dimensions.append({"Name": "Operation", "Value": operation})
        elif index is not None:
            dimensions.append({"Name": "GlobalSecondaryIndexName", "Value": index})
        data.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": at,
                     "Value": value, "Unit": "Count", "StorageResolution": STANDARD_RESOLUTION})
    return data


def create(context: SimulationContext, simulation: DynamoDBDynamics, api_url: str) -> MinuteMetricsPublisher:
    """The tables' CloudWatch metrics, published to the lab's API at ``api_url``."""
    capacity = simulation.capacity
    return MinuteMetricsPublisher(metrics_client=internal_session().client("cloudwatch", endpoint_url=api_url),
                                  namespace=NAMESPACE,
                                  drain=lambda at: metric_data(capacity.drain(), at),
                                  minute_seconds=context.scaled(MINUTE_SECONDS),
                                  name="lab-dynamodb-metrics")
