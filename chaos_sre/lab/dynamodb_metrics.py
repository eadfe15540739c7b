"""Publishes the lab's DynamoDB CloudWatch metrics, as DynamoDB does.

Every second, what the application's calls consumed and what was throttled go
to the lab's CloudWatch (namespace ``AWS/DynamoDB``): per table (dimension
``TableName``) and per GSI (``TableName``, ``GlobalSecondaryIndexName``)
``ConsumedReadCapacityUnits``, ``ConsumedWriteCapacityUnits``,
``ReadThrottleEvents`` and ``WriteThrottleEvents``; per table and operation
(``TableName``, ``Operation``) ``ThrottledRequests``. Datapoints are
one-second sums (AWS publishes one-minute sums; a probe divides a sum by the
seconds it covers either way).
"""

import threading
from datetime import datetime, timezone
from typing import Any

import boto3

from chaos_sre.lab.api_faults import INTERNAL_ACCESS_KEY
from chaos_sre.lab.dynamodb import Capacity
from chaos_sre.lab.settings import REGION

NAMESPACE = "AWS/DynamoDB"
PUBLISH_EVERY_SECONDS = 1.0


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
                     "Value": value, "Unit": "Count", "StorageResolution": 1})
    return data


class DynamoDBMetricsPublisher:
    """Thread draining the capacity counters into the lab's CloudWatch every second."""

    def __init__(self, *, endpoint_url: str, capacity: Capacity) -> None:
        session = boto3.session.Session(aws_access_key_id=INTERNAL_ACCESS_KEY,
                                        aws_secret_access_key="lab",
                                        region_name=REGION)
        self._cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
        self._capacity = capacity
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-dynamodb-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def publish(self) -> None:
        """Send what was counted since the last call."""
        data = metric_data(self._capacity.drain(), datetime.now(timezone.utc))
        if data:
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)

    def _run(self) -> None:
        while not self._stop.wait(PUBLISH_EVERY_SECONDS):
            self.publish()
