"""Publishes the lab load balancer's CloudWatch metrics, as an ALB does.

Every (scaled) minute, the requests the endpoint served go to the lab's
CloudWatch (namespace ``AWS/ApplicationELB``, dimension
``LoadBalancer=app/web/<id>``) the way an ALB counts them
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
``RequestCount`` holds only requests for which a target was chosen, so not the
503s answered with no registered target (``HTTPCode_ELB_503_Count``, also in
``HTTPCode_ELB_5XX_Count``); 502s of a dead or booting target are
``HTTPCode_ELB_5XX_Count``; a request left hanging on an unreachable target
that the client gave up on is a 460 (``HTTPCode_ELB_4XX_Count``); the
application's own 5xx are ``HTTPCode_Target_5XX_Count``; and
``TargetResponseTime``.
At start it also writes 30 days of daily history: 50 req/s with 0.01 % of
them failed, i.e. a tenth of a 99.9 % SLO's budget already spent.
"""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import Timeline, is_good
from chaos_sre.lab.elbv2.settings import TIMINGS

NAMESPACE = "AWS/ApplicationELB"
ALB_PERIOD_SECONDS = 60.0
HISTORY_DAYS = 30
HISTORY_RATE = 50.0
HISTORY_ERROR_RATIO = 0.0001
MAX_DATA_PER_CALL = 1000
NO_TARGET = frozenset({"503-no-targets"})
"""Answered by the load balancer before it chose a target: not in RequestCount."""
ELB_5XX = frozenset({"502-target-down", "502-target-booting", *NO_TARGET})
CLIENT_GAVE_UP = frozenset({"timeout-target-unreachable"})
"""A 460 in the ALB's access log: the client closed the connection before the 10 s 504."""
NEVER_REACHED = frozenset({"timeout-load-balancer-node-cut-off"})
"""Requests a network ACL kept from the load balancer's node: the ALB never saw them, so they are
in none of its metrics."""


def alb_counts(causes: dict[str, int]) -> dict[str, float]:
    """The ALB metrics of one period's requests, by what each request met (timeline causes)."""
    seen = {cause: n for cause, n in causes.items() if cause not in NEVER_REACHED}
    total = sum(seen.values())
    failed = sum(n for cause, n in seen.items() if not is_good(cause))
    no_target = sum(causes.get(cause, 0) for cause in NO_TARGET)
    elb_5xx = sum(causes.get(cause, 0) for cause in ELB_5XX)
    gave_up = sum(causes.get(cause, 0) for cause in CLIENT_GAVE_UP)
    return {"RequestCount": total - no_target, "HTTPCode_ELB_503_Count": no_target,
            "HTTPCode_ELB_5XX_Count": elb_5xx, "HTTPCode_ELB_4XX_Count": gave_up,
            "HTTPCode_Target_5XX_Count": failed - elb_5xx - gave_up}


class MetricsPublisher:
    """Thread publishing the endpoint's per-minute ALB metrics to the lab's CloudWatch."""

    def __init__(self, *, endpoint_url: str, timeline: Timeline, time_scale: float) -> None:
        session = internal_session()
        self._cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
        self._elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
        self._timeline = timeline
        self._period = ALB_PERIOD_SECONDS * time_scale
        self._published_until = 0
        self._dimension: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-metrics", daemon=True)

    def start(self) -> None:
        """Resolve the load balancer, write the history, start publishing."""
        arn = self._elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
        self._dimension = [{"Name": "LoadBalancer", "Value": arn.split(":loadbalancer/", 1)[1]}]
        self._put(self._history())
        self._published_until = int(self._timeline.snapshot()["since"])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _datum(self, name: str, value: float, at: datetime, unit: str = "Count") -> dict[str, Any]:
        return {"MetricName": name, "Dimensions": self._dimension, "Timestamp": at,
                "Value": value, "Unit": unit}

    def _history(self) -> list[dict[str, Any]]:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        per_day = HISTORY_RATE * 86400
        data = []
        for day in range(1, HISTORY_DAYS):
            at = today - timedelta(days=day) + timedelta(hours=12)
            data.append(self._datum("RequestCount", per_day, at))
            data.append(self._datum("HTTPCode_ELB_5XX_Count", per_day * HISTORY_ERROR_RATIO, at))
            data.append(self._datum("HTTPCode_Target_5XX_Count", 0.0, at))
        return data

    def _put(self, data: list[dict[str, Any]]) -> None:
        for first in range(0, len(data), MAX_DATA_PER_CALL):
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE,
                                             MetricData=data[first:first + MAX_DATA_PER_CALL])

    def publish(self) -> None:
        """Publish the whole seconds counted since the last call."""
        series = self._timeline.snapshot()["series"]
        done = [s for s in series if self._published_until <= s["second"] < int(self._now())]
        if not done:
            return
        self._published_until = done[-1]["second"] + 1
        causes: Counter[str] = Counter()
        for second in done:
            causes.update(second["causes"])
        total = sum(s["total"] for s in done)
        failed = sum(s["failed"] for s in done)
        at = datetime.fromtimestamp(done[-1]["second"], UTC)
        data = [self._datum(name, value, at) for name, value in alb_counts(causes).items()]
        if total > failed:
            data.append(self._datum("TargetResponseTime", TIMINGS.base_latency_seconds, at, "Seconds"))
        self._put(data)

    @staticmethod
    def _now() -> float:
        return datetime.now(UTC).timestamp()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self.publish()


def create(context: SimulationContext, simulation: Any, api_url: str) -> MetricsPublisher:
    """The load balancer's CloudWatch metrics, published to the lab's API at ``api_url``."""
    return MetricsPublisher(endpoint_url=api_url, timeline=context.timeline, time_scale=context.time_scale)
