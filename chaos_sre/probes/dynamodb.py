"""DynamoDB probes: a table's capacity settings, status, consumed capacity and throttling.

Consumption and throttling come from CloudWatch (namespace `AWS/DynamoDB`),
summed over the last `window_seconds` and, for consumption, divided by them.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre.aws import aws_client, call
from chaos_sre.errors import ValidationError
from chaos_sre.permissions import requires

__all__ = ["capacity_settings", "consumed_capacity", "table_status", "throttled_requests"]

NAMESPACE = "AWS/DynamoDB"
UNLIMITED = -1
PUBLISH_LAG_SECONDS = 1.0
"""The last second is left out of every window: its datapoint may not be published yet."""


def describe_table(dynamodb: Any, table_name: str) -> dict[str, Any]:
    """DescribeTable's `Table`."""
    if not table_name:
        raise ValidationError("table_name must name a DynamoDB table")
    return dict(call(dynamodb, "describe_table", TableName=table_name)["Table"])


def settings_of(table: dict[str, Any]) -> dict[str, Any]:
    """The capacity settings a throttle changes and a rollback restores, from DescribeTable."""
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")

    def part(node: dict[str, Any]) -> dict[str, int]:
        if mode == "PAY_PER_REQUEST":
            limits = node.get("OnDemandThroughput") or {}
            return {"MaxReadRequestUnits": int(limits.get("MaxReadRequestUnits", UNLIMITED)),
                    "MaxWriteRequestUnits": int(limits.get("MaxWriteRequestUnits", UNLIMITED))}
        throughput = node.get("ProvisionedThroughput") or {}
        return {"ReadCapacityUnits": int(throughput.get("ReadCapacityUnits", 0)),
                "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits", 0))}

    return {
        "billing_mode": mode,
        "table": part(table),
        "indexes": {index["IndexName"]: part(index)
                    for index in table.get("GlobalSecondaryIndexes") or []},
    }


@requires("dynamodb:DescribeTable")
def capacity_settings(table_name: str, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The table's billing mode and, for the table and each GSI, its provisioned capacity
    (`ReadCapacityUnits`/`WriteCapacityUnits`) or on-demand maximum
    (`MaxReadRequestUnits`/`MaxWriteRequestUnits`, -1 for none)."""
    return settings_of(describe_table(aws_client("dynamodb", configuration, secrets), table_name))


@requires("dynamodb:DescribeTable")
def table_status(table_name: str, configuration: dict[str, Any] | None = None,
                 secrets: dict[str, Any] | None = None) -> str:
    """The table's status, e.g. `ACTIVE` or `UPDATING`."""
    table = describe_table(aws_client("dynamodb", configuration, secrets), table_name)
    return str(table["TableStatus"])


def metric_sum(cloudwatch: Any, metric: str, dimensions: dict[str, str],
               window_seconds: float) -> float:
    """Sum of a DynamoDB metric over the ``window_seconds`` that ended a second ago."""
    if not 1 <= float(window_seconds) <= 86400:
        raise ValidationError(f"window_seconds must be between 1 and 86400, got {window_seconds!r}")
    end = datetime.now(UTC) - timedelta(seconds=PUBLISH_LAG_SECONDS)
    start = end - timedelta(seconds=float(window_seconds))
    period = 1 if float(window_seconds) <= 1440 else 60
    answer = call(cloudwatch, "get_metric_statistics", Namespace=NAMESPACE, MetricName=metric,
                  Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
                  StartTime=start, EndTime=end, Period=period, Statistics=["Sum"])
    return float(sum(point["Sum"] for point in answer.get("Datapoints", [])))


@requires("cloudwatch:GetMetricStatistics")
def consumed_capacity(table_name: str, window_seconds: float = 300, index_name: str | None = None,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, float]:
    """Average read and write units consumed per second over the last `window_seconds`
    (CloudWatch `ConsumedRead/WriteCapacityUnits`), for the table or its GSI `index_name`."""
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    dimensions = {"TableName": table_name}
    if index_name:
        dimensions["GlobalSecondaryIndexName"] = index_name
    window = float(window_seconds)
    return {
        "read_units_per_second": round(metric_sum(
            cloudwatch, "ConsumedReadCapacityUnits", dimensions, window) / window, 3),
        "write_units_per_second": round(metric_sum(
            cloudwatch, "ConsumedWriteCapacityUnits", dimensions, window) / window, 3),
        "window_seconds": window,
        "measured_at": time.time(),
    }


@requires("cloudwatch:GetMetricStatistics")
def throttled_requests(table_name: str, window_seconds: float = 300,
                       configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> int:
    """Requests to the table throttled over the last `window_seconds` (CloudWatch
    `ThrottledRequests`, GetItem and PutItem)."""
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    return int(sum(
        metric_sum(cloudwatch, "ThrottledRequests", {"TableName": table_name, "Operation": op},
                   window_seconds)
        for op in ("GetItem", "PutItem")))
