"""A FIS experiment's stop condition from the SLO: burn-rate alarms on the load balancer's
CloudWatch metrics.

The experiment may spend ``budget_allowance`` of the SLO window's error budget (the chaos-sre
control's argument). Over a span D, a burn rate B spends B x D / W of it (docs/slo.md, section
4), so the allowance is spent at the burn rate ``B = allowance x W / D``: an error ratio of
``B x (1 - target)``. Two alarms watch that ratio, as the SRE workbook pairs its windows
("Alerting on SLOs", multiwindow, multi-burn-rate alerts: a long window and one twelfth of it):

* ``chaos-sre-NAME-burn-long``: over the experiment's span (whole minutes);
* ``chaos-sre-NAME-burn-short``: over a twelfth of it (at least one minute), so the stop ends
  when the service recovers;

and the composite ``chaos-sre-NAME-burn`` is in ALARM when both are: the FIS template's stop
condition (``aws:cloudwatch:alarm``). The error ratio is read as chaos-sre's CloudWatch probe
reads it (:mod:`chaos_sre.probes.cloudwatch`): bad = ELB 5XX + target 5XX + ELB 4XX, all =
RequestCount + ELB 503, namespace ``AWS/ApplicationELB``, dimension ``LoadBalancer``. Missing
data is not breaching: no traffic is no evidence of burn (the SLO verdict, not the alarm, fails
closed).
"""

import math
from dataclasses import dataclass
from typing import Any

from chaos_sre.probes.cloudwatch import COUNTERS, NAMESPACE

MINUTE = 60
SHORT_WINDOW_SHARE = 12
"""The short window is a twelfth of the long one (the SRE workbook's 1 h and 5 min)."""
BAD = ("elb_5xx", "target_5xx", "elb_4xx")
ALL = ("total", "elb_503")


@dataclass(frozen=True)
class BurnAlarms:
    """The alarms that stop an experiment that spends its allowance."""

    experiment: str
    region: str
    account_id: str
    load_balancer: str
    error_ratio: float
    """The error ratio over the span that spends the allowance (may exceed 1: then it never can)."""
    long_seconds: int
    short_seconds: int
    metrics_account: str | None = None
    """The account whose load balancer's metrics the alarms read, when it is not their own (a
    multi-account experiment's cross-account alarm, :mod:`chaos_sre.fis.accounts`)."""

    @property
    def name(self) -> str:
        """The composite alarm's name (the stop condition)."""
        return f"chaos-sre-{self.experiment}-burn"

    @property
    def arn(self) -> str:
        """The composite alarm's ARN, which the template's stop condition names."""
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"

    def requests(self, dimension: str) -> list[tuple[str, dict[str, Any]]]:
        """(CloudWatch operation, input) to create the alarms, the composite last, for the load
        balancer's ``LoadBalancer`` dimension value (``app/NAME/ID``)."""
        alarms = [("PutMetricAlarm", self._metric_alarm(f"{self.name}-{window}", seconds, dimension))
                  for window, seconds in (("long", self.long_seconds), ("short", self.short_seconds))]
        rule = " AND ".join(f'ALARM("{request["AlarmName"]}")' for _, request in alarms)
        composite = {"AlarmName": self.name, "AlarmRule": rule, "ActionsEnabled": False,
                     "AlarmDescription": self._description("both windows")}
        return [*alarms, ("PutCompositeAlarm", composite)]

    def _description(self, window: str) -> str:
        return (f"chaos-sre experiment {self.experiment}: load balancer {self.load_balancer}'s "
                f"error ratio over {window} above {self.error_ratio:.4g}, which spends the "
                "experiment's budget allowance (the FIS stop condition)")

    def _metric_alarm(self, name: str, seconds: int, dimension: str) -> dict[str, Any]:
        def counter(key: str) -> dict[str, Any]:
            query = {"Id": key, "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": COUNTERS[key],
                           "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}]},
                "Period": seconds, "Stat": "Sum"}}
            return {**query, "AccountId": self.metrics_account} if self.metrics_account else query

        bad = " + ".join(f"FILL({key}, 0)" for key in BAD)
        every = " + ".join(f"FILL({key}, 0)" for key in ALL)
        return {
            "AlarmName": name, "AlarmDescription": self._description(f"{seconds} s"),
            "ActionsEnabled": False, "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": round(self.error_ratio, 6), "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1, "TreatMissingData": "notBreaching",
            "Metrics": [*(counter(key) for key in (*BAD, *ALL)),
                        {"Id": "error_ratio", "Expression": f"({bad}) / ({every})",
                         "Label": "error ratio", "ReturnData": True}],
        }


def burn_alarms(*, experiment: str, region: str, account_id: str, load_balancer: str,
                target: float, window_seconds: float, allowance: float,
                span_seconds: float, metrics_account: str | None = None) -> BurnAlarms:
    """The alarms for an experiment that may spend ``allowance`` of the budget of an SLO of
    ``target`` over ``window_seconds``, during ``span_seconds`` (the module doc has the math)."""
    long_seconds = max(MINUTE, math.ceil(span_seconds / MINUTE) * MINUTE)
    short_seconds = max(MINUTE, round(long_seconds / SHORT_WINDOW_SHARE / MINUTE) * MINUTE)
    burn_rate = allowance * window_seconds / long_seconds
    return BurnAlarms(experiment, region, account_id, load_balancer,
                      burn_rate * (1 - target), long_seconds, short_seconds, metrics_account)
