"""DynamoDB tables as faults and probes read them: capacity settings and CloudWatch sums.

Consumption and throttling come from CloudWatch (namespace `AWS/DynamoDB`).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre.aws import call
from chaos_sre.errors import ValidationError

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
