"""CloudWatch alarms in the lab: moto stores alarms but never evaluates them; the lab does.

Once a minute (AWS seconds at the lab's time scale: a lab assumption - CloudWatch evaluates a
standard-resolution alarm about once a minute), in each of the lab's accounts, each metric
alarm over metric math is evaluated
over its latest period whose data has arrived (the sum of each ``MetricStat`` over ``Period``
seconds ending a minute ago, matching its exact dimensions, in the query's ``AccountId`` - a
cross-account alarm - or the alarm's own account) and each composite alarm over the states just set
(:mod:`chaos_sre.lab.cloudwatch.alarms`); a changed state is moto's alarm state (DescribeAlarms
shows it, with its reason) and a timeline event ``cloudwatch-alarm-<state>``. An alarm the lab
cannot evaluate (a single-metric alarm, a function it does not know) keeps its state and is
listed in ``lab status`` as not evaluated. FIS reads the states for its stop conditions
(:mod:`chaos_sre.lab.fis.simulation`).
"""

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre.lab.cloudwatch.alarms import (
    Unsupported,
    composite_state,
    expression_value,
    metric_alarm_state,
)
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.settings import ACCOUNT_ID, ACCOUNTS
from chaos_sre.lab.core.simulation import SimulationContext

TICK_ORDER = 4
"""Before FIS (5): an experiment's stop condition sees this round's alarm states."""
EVALUATION_SECONDS = 60.0
SINGLE_METRIC = "not evaluated: a single-metric alarm (its owner - target tracking - acts on the lab's own counts)"
DATA_DELAY_SECONDS = 60.0
"""A period's datapoints arrive up to a minute after it: the load balancer and DynamoDB publish
once a minute, after the minute (:mod:`chaos_sre.lab.elbv2.metrics`). An alarm is evaluated over
the latest period whose data has arrived, as CloudWatch evaluates the latest complete period."""
PERIOD_SLACK = 0.1
"""A period's window is this share longer, so a publisher a little late in its minute still has
its datapoint in the period (one counted twice changes a ratio little; one missed would be
missing data)."""


@dataclass
class AlarmEvaluation:
    """The lab account's CloudWatch alarms, evaluated over time."""

    context: SimulationContext
    _next: float = 0.0
    not_evaluated: dict[str, str] = field(default_factory=dict)
    """Alarm ARN -> why the lab does not evaluate it."""

    def tick(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.context.scaled(EVALUATION_SECONDS)
        for account in ACCOUNTS:
            self._evaluate_account(account)

    def _evaluate_account(self, account: str) -> None:
        backend = moto_backend("cloudwatch", account=account)
        alarms = list(backend.alarms.values())
        for alarm in alarms:
            if alarm.rule is None:
                self._evaluate(alarm, self._metric_state(account, alarm, time.time()))
        states = {alarm.name: alarm.state_value for alarm in alarms}
        for alarm in alarms:
            if alarm.rule is not None:
                try:
                    self._evaluate(alarm, composite_state(alarm.rule, states))
                except Unsupported as exc:
                    self.not_evaluated[alarm.alarm_arn] = str(exc)

    def state(self, arn: str) -> str | None:
        """The state of the alarm with ``arn`` (None: no such alarm) - looked up by the account
        and name its ARN holds (FIS asks every tick of a running experiment)."""
        parts = str(arn).split(":", 6)
        if len(parts) != 7 or parts[4] not in ACCOUNTS:
            return None
        alarm = moto_backend("cloudwatch", account=parts[4]).alarms.get(parts[6])
        return None if alarm is None or alarm.alarm_arn != arn else str(alarm.state_value)

    def status(self) -> dict[str, Any]:
        """Each alarm's state, or why the lab does not evaluate it (another account's alarm is
        named ``ACCOUNT/NAME``)."""
        return {"cloudwatch_alarms": {_label(alarm): self._why_not(alarm) or alarm.state_value
                                      for alarm in _alarms()}}

    def _why_not(self, alarm: Any) -> str | None:
        if alarm.rule is None and not any(q.expression for q in alarm.metric_data_queries):
            return SINGLE_METRIC
        return self.not_evaluated.get(alarm.alarm_arn)

    def _metric_state(self, account: str, alarm: Any, wall_now: float) -> str | None:
        returned = [q for q in alarm.metric_data_queries if q.expression and q.return_data is not False]
        if len(returned) != 1:
            if returned:
                self.not_evaluated[alarm.alarm_arn] = "the lab evaluates metric math with one returned expression"
            return None
        period = float(alarm.period or max((q.metric_stat.period for q in alarm.metric_data_queries
                                            if q.metric_stat is not None), default=60))
        arrived = wall_now - self.context.scaled(DATA_DELAY_SECONDS)
        values = {q.id: _sum(moto_backend("cloudwatch", account=getattr(q, "account_id", None) or account),
                             q.metric_stat, arrived,
                             self.context.scaled(float(q.metric_stat.period or period)) * (1 + PERIOD_SLACK))
                  for q in alarm.metric_data_queries if q.metric_stat is not None}
        try:
            value = expression_value(returned[0].expression, values)
            return metric_alarm_state(value, alarm.comparison_operator, float(alarm.threshold),
                                      alarm.treat_missing_data, alarm.state_value)
        except Unsupported as exc:
            self.not_evaluated[alarm.alarm_arn] = str(exc)
            return None

    def _evaluate(self, alarm: Any, state: str | None) -> None:
        if state is None or state == alarm.state_value:
            return
        reason = f"Threshold Crossed: the lab evaluated the alarm {state}"
        alarm.update_state(reason, json.dumps({"evaluatedBy": "chaos-sre lab"}), state)
        self.context.timeline.event(f"cloudwatch-alarm-{state.lower()}", alarm.name)


def _alarms() -> list[Any]:
    """Every alarm of the lab's accounts."""
    return [alarm for account in ACCOUNTS for alarm in moto_backend("cloudwatch", account=account).alarms.values()]


def _label(alarm: Any) -> str:
    account = str(alarm.alarm_arn).split(":")[4]
    return alarm.name if account == ACCOUNT_ID else f"{account}/{alarm.name}"


def _sum(backend: Any, stat: Any, wall_now: float, wall_seconds: float) -> float | None:
    """The sum of the datapoints of ``stat``'s metric (exact dimensions) over the ``wall_seconds``
    before ``wall_now``; None when there is none."""
    metric = stat.metric
    wanted = {(d.name, d.value) for d in metric.dimensions}
    end = datetime.fromtimestamp(wall_now, UTC)
    start = end - timedelta(seconds=wall_seconds)
    found = [datum for datum in backend.get_all_metrics()
             if datum.namespace == metric.namespace and datum.name == metric.metric_name
             and {(d.name, d.value) for d in datum.dimensions} == wanted
             and start <= _aware(datum.timestamp) < end]
    if not found:
        return None
    return float(sum(float(getattr(datum, "value", None) or getattr(datum, "sum", 0) or 0)
                     for datum in found))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def create(context: SimulationContext) -> AlarmEvaluation:
    """CloudWatch's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return AlarmEvaluation(context)
