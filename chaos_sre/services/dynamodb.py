"""DynamoDB tables as faults and probes read them: capacity settings and CloudWatch sums.

Consumption and throttling come from CloudWatch (namespace `AWS/DynamoDB`), which DynamoDB
publishes as one-minute datapoints ("DynamoDB metrics and dimensions": "CloudWatch aggregates
the following DynamoDB metrics at one-minute intervals",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html), and
read in whole minutes (:mod:`chaos_sre.services.minutes`).
"""

from collections.abc import Mapping
from typing import Any, TypedDict

from chaos_sre.aws import call
from chaos_sre.errors import ValidationError
from chaos_sre.services import minutes
from chaos_sre.services.minutes import MetricMinutes

NAMESPACE = "AWS/DynamoDB"
ON_DEMAND = "PAY_PER_REQUEST"
SCALING_NAMESPACE = "dynamodb"
"""Application Auto Scaling's service namespace of tables and indexes."""


UNLIMITED = -1


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


def metric_minutes(cloudwatch: Any, metric: str, dimensions: dict[str, str],
                   window_seconds: float) -> MetricMinutes:
    """A DynamoDB metric's one-minute sums over the last ``window_seconds``
    (:func:`chaos_sre.services.minutes.metric_minutes`)."""
    return minutes.metric_minutes(cloudwatch, NAMESPACE, metric, dimensions, window_seconds)


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
