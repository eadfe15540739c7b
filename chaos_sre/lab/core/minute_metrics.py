"""A publisher of one-minute CloudWatch datapoints, as AWS services publish their metrics.

Once a minute (an AWS minute, played at the lab's time scale) what a service counted goes to the
lab's CloudWatch, each datapoint stamped with the start of its minute and published once the
minute is over: a reader sees no datapoint of the minute in progress. The minutes are a fixed
grid (multiples of a lab minute since the epoch), as CloudWatch aligns its datapoints; a slow
call delays one publication, never the grid.
"""

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

MINUTE_SECONDS = 60.0
STANDARD_RESOLUTION = 60
MAX_DATA_PER_CALL = 1000

Drain = Callable[[datetime], list[dict[str, Any]]]
"""What was counted since the last call, as datapoints stamped ``at`` (and reset)."""


class MinuteMetricsPublisher:
    """Thread publishing a service's drained counters to the lab's CloudWatch once a minute."""

    def __init__(self, *, metrics_client: Any, namespace: str, drain: Drain, minute_seconds: float,
                 name: str) -> None:
        self._metrics = metrics_client
        """The lab's CloudWatch (a boto3 client the service makes)."""
        self._namespace = namespace
        self._drain = drain
        self._minute = minute_seconds
        """A minute on the lab's clock (wall seconds)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def publish(self, at: datetime | None = None) -> None:
        """Send what was counted since the last call, as datapoints at ``at`` (default now)."""
        data = self._drain(at or datetime.now(UTC))
        for first in range(0, len(data), MAX_DATA_PER_CALL):
            self._metrics.put_metric_data(Namespace=self._namespace,
                                          MetricData=data[first:first + MAX_DATA_PER_CALL])

    def _run(self) -> None:
        """Publish each minute once it is over, stamped with its start."""
        while True:
            boundary = math.floor(time.time() / self._minute + 1) * self._minute
            if self._stop.wait(max(0.0, boundary - time.time())):
                return
            self.publish(datetime.fromtimestamp(boundary - self._minute, UTC))
