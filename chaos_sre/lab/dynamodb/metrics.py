"""Publishes the lab's DynamoDB CloudWatch metrics, as DynamoDB does.

Once a minute (an AWS minute, played at the lab's time scale), what the application's calls
consumed and what was throttled go to the lab's CloudWatch (namespace ``AWS/DynamoDB``): per
table (dimension ``TableName``) and per GSI (``TableName``, ``GlobalSecondaryIndexName``)
``ConsumedReadCapacityUnits``, ``ConsumedWriteCapacityUnits``, ``ReadThrottleEvents`` and
``WriteThrottleEvents``; per table and operation (``TableName``, ``Operation``)
``ThrottledRequests``. Each datapoint is the minute's sum, at standard resolution, stamped with
the start of its minute and published once the minute is over ("CloudWatch aggregates the
following DynamoDB metrics at one-minute intervals",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html): a
reader sees no datapoint of the minute in progress.
"""

import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.dynamodb.capacity import Capacity
from chaos_sre.lab.dynamodb.simulation import DynamoDBDynamics

NAMESPACE = "AWS/DynamoDB"
MINUTE_SECONDS = 60.0
"""DynamoDB's metric period (AWS seconds)."""
STANDARD_RESOLUTION = 60


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


class DynamoDBMetricsPublisher:
    """Thread draining the capacity counters into the lab's CloudWatch once a minute."""

    def __init__(self, *, endpoint_url: str, capacity: Capacity, minute_seconds: float) -> None:
        session = internal_session()
        self._cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
        self._capacity = capacity
        self._minute = minute_seconds
        """A minute on the lab's clock (wall seconds)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-dynamodb-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def publish(self, at: datetime | None = None) -> None:
        """Send what was counted since the last call, as datapoints at ``at`` (default now)."""
        data = metric_data(self._capacity.drain(), at or datetime.now(UTC))
        if data:
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)

    def _run(self) -> None:
        """Publish each minute once it is over, stamped with its start.

        The minutes are a fixed grid (multiples of a lab minute since the epoch), as CloudWatch
        aligns its datapoints; a slow call delays one publication, never the grid.
        """
        while True:
            boundary = math.floor(time.time() / self._minute + 1) * self._minute
            if self._stop.wait(max(0.0, boundary - time.time())):
                return
            self.publish(datetime.fromtimestamp(boundary - self._minute, UTC))


def create(context: SimulationContext, simulation: DynamoDBDynamics, api_url: str) -> DynamoDBMetricsPublisher:
    """The tables' CloudWatch metrics, published to the lab's API at ``api_url``."""
    return DynamoDBMetricsPublisher(endpoint_url=api_url, capacity=simulation.capacity,
                                    minute_seconds=context.scaled(MINUTE_SECONDS))
