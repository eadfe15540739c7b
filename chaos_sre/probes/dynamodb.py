"""DynamoDB probes: a table's capacity settings, status, consumed capacity and throttling.

Consumption and throttling come from CloudWatch (namespace `AWS/DynamoDB`): one-minute
datapoints over the last `window_seconds` (AWS seconds, whole minutes), and for consumption
divided by the minutes CloudWatch has published (chaos_sre.services.dynamodb).
"""

import time
from typing import Any

from chaos_sre.aws import aws_client
from chaos_sre.permissions import requires
from chaos_sre.services.dynamodb import TableSettings, describe_table, metric_minutes, settings_of
from chaos_sre.services.minutes import whole_minutes

__all__ = ["capacity_settings", "consumed_capacity", "table_status", "throttled_requests"]

@requires("dynamodb:DescribeTable")
def capacity_settings(table_name: str, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> TableSettings:
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


@requires("cloudwatch:GetMetricStatistics")
def consumed_capacity(table_name: str, window_seconds: float = 300, index_name: str | None = None,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, float]:
    """Average read and write units consumed per second (CloudWatch
    `ConsumedRead/WriteCapacityUnits`), for the table or its GSI `index_name`, over the minutes
    CloudWatch has published of the last `window_seconds` (whole minutes: DynamoDB publishes one
    datapoint a minute); `published_seconds` says how much of the window that was."""
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    dimensions = {"TableName": table_name}
    if index_name:
        dimensions["GlobalSecondaryIndexName"] = index_name
    reads = metric_minutes(cloudwatch, "ConsumedReadCapacityUnits", dimensions, window_seconds)
    writes = metric_minutes(cloudwatch, "ConsumedWriteCapacityUnits", dimensions, window_seconds)
    return {
        "read_units_per_second": round(reads.per_second(), 3),
        "write_units_per_second": round(writes.per_second(), 3),
        "window_seconds": whole_minutes(window_seconds),
        "published_seconds": max(reads.seconds, writes.seconds),
        "measured_at": time.time(),
    }


@requires("cloudwatch:GetMetricStatistics")
def throttled_requests(table_name: str, window_seconds: float = 300,
                       configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> int:
    """Requests to the table throttled in the minutes CloudWatch has published of the last
    `window_seconds` (`ThrottledRequests`, GetItem and PutItem; whole minutes)."""
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    return int(sum(
        metric_minutes(cloudwatch, "ThrottledRequests", {"TableName": table_name, "Operation": op},
                       window_seconds).total
        for op in ("GetItem", "PutItem")))
