"""DynamoDB tables as faults and probes read them: capacity settings and CloudWatch sums.

Consumption and throttling come from CloudWatch (namespace `AWS/DynamoDB`), which DynamoDB
publishes as one-minute datapoints ("DynamoDB metrics and dimensions": "CloudWatch aggregates
the following DynamoDB metrics at one-minute intervals",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html), and
which a standard-resolution metric answers only for periods that are multiples of 60 (Period,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
So a window is read in whole minutes, with a 60 s period, up to the start of the current minute
(its datapoint is not complete), and a rate is taken over the minutes CloudWatch has published -
from the first to the last datapoint - never over minutes it has not published yet.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from chaos_sre.aws import call
from chaos_sre.errors import ValidationError
from chaos_sre.timescale import aws_seconds, wall_seconds

NAMESPACE = "AWS/DynamoDB"
ON_DEMAND = "PAY_PER_REQUEST"
SCALING_NAMESPACE = "dynamodb"
"""Application Auto Scaling's service namespace of tables and indexes."""


UNLIMITED = -1


MINUTE_SECONDS = 60.0
"""DynamoDB's CloudWatch period (AWS seconds): one datapoint a minute."""
MAX_WINDOW_SECONDS = 86400.0


def describe_table(dynamodb: Any, table_name: str) -> dict[str, Any]:
    """DescribeTable's `Table`."""
    if not table_name:
        raise ValidationError("table_name must name a DynamoDB table")
    return dict(call(dynamodb, "describe_table", TableName=table_name)["Table"])


class TableSettings(TypedDict):
    """The capacity settings a throttle changes and a rollback restores: the billing mode, and
    per part (the table, each GSI) its provisioned units or on-demand maximums."""

    billing_mode: str
    table: dict[str, int]
    indexes: dict[str, dict[str, int]]


def settings_of(table: dict[str, Any]) -> TableSettings:
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


@dataclass(frozen=True)
class MetricMinutes:
    """A DynamoDB metric's published one-minute datapoints over a window."""

    total: float
    """The sum of the datapoints."""
    seconds: float
    """AWS seconds the published minutes span, from the first datapoint's minute to the end of
    the last one's (0 with none)."""
    wall_seconds: float
    """The same span on this clock (the lab's, at its time scale)."""

    def per_second(self) -> float:
        """The sum per second of the published span (per wall second: the unit of request and
        capacity rates), 0 with no datapoint."""
        return self.total / self.wall_seconds if self.wall_seconds > 0 else 0.0


def whole_minutes(window_seconds: float) -> float:
    """``window_seconds`` (AWS seconds) rounded up to whole minutes; refused outside 1 s - 1 day."""
    window = float(window_seconds)
    if not 1 <= window <= MAX_WINDOW_SECONDS:
        raise ValidationError(f"window_seconds must be between 1 and {MAX_WINDOW_SECONDS:g}, "
                              f"got {window_seconds!r}")
    return math.ceil(window / MINUTE_SECONDS) * MINUTE_SECONDS


def metric_minutes(cloudwatch: Any, metric: str, dimensions: dict[str, str],
                   window_seconds: float) -> MetricMinutes:
    """A DynamoDB metric's one-minute datapoints over the last ``window_seconds`` (AWS seconds,
    rounded up to whole minutes) that ended with the last complete minute."""
    minute = wall_seconds(MINUTE_SECONDS)
    end = math.floor(time.time() / minute) * minute
    start = end - wall_seconds(whole_minutes(window_seconds))
    answer = call(cloudwatch, "get_metric_statistics", Namespace=NAMESPACE, MetricName=metric,
                  Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
                  StartTime=datetime.fromtimestamp(start, UTC),
                  EndTime=datetime.fromtimestamp(end, UTC), Period=int(MINUTE_SECONDS),
                  Statistics=["Sum"])
    points = answer.get("Datapoints", [])
    if not points:
        return MetricMinutes(0.0, 0.0, 0.0)
    stamps = [point["Timestamp"].timestamp() for point in points]
    span = max(stamps) - min(stamps) + minute
    return MetricMinutes(float(sum(point["Sum"] for point in points)), aws_seconds(span), span)


def update_request(table_name: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateTable parameters that turn ``before`` into ``after`` (only what differs)."""
    on_demand = after["billing_mode"] == ON_DEMAND
    field = "OnDemandThroughput" if on_demand else "ProvisionedThroughput"
    request: dict[str, Any] = {"TableName": table_name}
    if after["table"] != before["table"]:
        request[field] = after["table"]
    index_updates = [{"Update": {"IndexName": name, field: value}}
                     for name, value in sorted(after["indexes"].items())
                     if before["indexes"].get(name) != value]
    if index_updates:
        request["GlobalSecondaryIndexUpdates"] = index_updates
    return request
