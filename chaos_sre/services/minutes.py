"""A CloudWatch metric read in whole minutes, as AWS services publish one-minute datapoints.

A standard-resolution metric answers only for periods that are multiples of 60 (Period,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html),
and the minute in progress has no complete datapoint yet. So a window is read in whole minutes,
with a 60 s period, up to the start of the current minute, and a rate is taken over the minutes
CloudWatch has published - from the first to the last datapoint - never over minutes it has not
published yet.
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chaos_sre.aws import call
from chaos_sre.errors import ValidationError
from chaos_sre.timescale import aws_seconds, wall_seconds

MINUTE_SECONDS = 60.0
"""The metrics' period (AWS seconds): one datapoint a minute."""
MAX_WINDOW_SECONDS = 86400.0


@dataclass(frozen=True)
class MetricMinutes:
    """A metric's published one-minute datapoints over a window."""

    total: float
    """The sum of the datapoints (of their statistic)."""
    seconds: float
    """AWS seconds the published minutes span, from the first datapoint's minute to the end of
    the last one's (0 with none)."""
    wall_seconds: float
    """The same span on this clock (the lab's, at its time scale)."""
    peak: float = 0.0
    """The largest datapoint (0 with none)."""

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


def metric_minutes(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str],
                   window_seconds: float, statistic: str = "Sum") -> MetricMinutes:
    """A metric's one-minute datapoints (of ``statistic``) over the last ``window_seconds`` (AWS
    seconds, rounded up to whole minutes) that ended with the last complete minute."""
    minute = wall_seconds(MINUTE_SECONDS)
    end = math.floor(time.time() / minute) * minute
    start = end - wall_seconds(whole_minutes(window_seconds))
    answer = call(cloudwatch, "get_metric_statistics", Namespace=namespace, MetricName=metric,
                  Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
                  StartTime=datetime.fromtimestamp(start, UTC),
                  EndTime=datetime.fromtimestamp(end, UTC), Period=int(MINUTE_SECONDS),
                  Statistics=[statistic])
    points = answer.get("Datapoints", [])
    if not points:
        return MetricMinutes(0.0, 0.0, 0.0)
    stamps = [point["Timestamp"].timestamp() for point in points]
    span = max(stamps) - min(stamps) + minute
    values = [float(point[statistic]) for point in points]
    return MetricMinutes(sum(values), aws_seconds(span), span, max(values))
