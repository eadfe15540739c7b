"""moto patches of CloudWatch GetMetricStatistics, as AWS answers it for AWS's own metrics.

* It matches a metric's whole dimension set, as AWS does (moto: any metric that has the given
  dimensions, so a table's query also summed its GSIs).
* AWS services publish standard-resolution metrics (DynamoDB and Application Load Balancer
  metrics: one datapoint a minute), whose ``Period`` "must be a multiple of 60"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html):
  another period is refused with ``InvalidParameterValue`` (moto: any period, so a one-second
  window summed datapoints AWS never publishes).
* The period is in AWS seconds, played at the lab's time scale like every AWS duration: at
  ``--time-scale 0.1`` a 60 s period groups the datapoints of six wall seconds, one lab minute.

PutMetricAlarm keeps each metric query's ``AccountId`` (a cross-account alarm). And
PutCompositeAlarm, which moto lacks: the lab keeps a composite alarm (the FIS stop
condition ``chaos-sre fis run`` creates) as moto keeps an alarm with a rule.
"""

import re
import threading
from typing import Any

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch import responses as cloudwatch_responses
from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.core.responses import EmptyResult

from chaos_sre.lab.core.patches import hooks, original, replaces

STANDARD_RESOLUTION_SECONDS = 60
AWS_NAMESPACE_PREFIX = "AWS/"

_exact_dimensions = threading.local()


@replaces(cloudwatch_models.CloudWatchBackend, "get_metric_statistics")
def _get_metric_statistics(self: Any, namespace: str, metric_name: str, start_time: Any,
                           end_time: Any, period: int, *args: Any, **kwargs: Any) -> Any:
    """GetMetricStatistics with AWS's period rule, the lab's time scale and exact dimensions."""
    if namespace.startswith(AWS_NAMESPACE_PREFIX) and int(period) % STANDARD_RESOLUTION_SECONDS:
        raise InvalidParameterValue(
            f"The parameter Period must be a multiple of {STANDARD_RESOLUTION_SECONDS} for "
            f"metric {metric_name}, published at standard resolution.")
    played = int(period) * hooks().context.time_scale
    _exact_dimensions.on = True
    try:
        return original(cloudwatch_models.CloudWatchBackend, "get_metric_statistics")(
            self, namespace, metric_name, start_time, end_time, played, *args, **kwargs)
    finally:
        _exact_dimensions.on = False


@replaces(cloudwatch_models.MetricDatumBase, "filter")
def _datum_filter(self: Any, namespace: Any, name: Any, dimensions: Any,
                  already_present_metrics: Any = None) -> bool:
    matched = original(cloudwatch_models.MetricDatumBase, "filter")(
        self, namespace, name, dimensions, already_present_metrics)
    if matched and dimensions and getattr(_exact_dimensions, "on", False):
        return len(self.dimensions) == len(dimensions)
    return bool(matched)


@replaces(cloudwatch_responses.CloudWatchResponse, "put_metric_alarm")
def _put_metric_alarm(self: Any) -> Any:
    """PutMetricAlarm, keeping each metric query's ``AccountId`` (moto drops it): a cross-account
    alarm reads that account's metrics, as CloudWatch cross-account observability lets a
    monitoring account do."""
    answer = original(cloudwatch_responses.CloudWatchResponse, "put_metric_alarm")(self)
    accounts = {m.get("Id"): m.get("AccountId") for m in self._get_param("Metrics", []) if m.get("AccountId")}
    if accounts:
        alarm = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
        for query in alarm.metric_data_queries or []:
            query.account_id = accounts.get(query.id)
    return answer


COMPOSITE_ALARM_REFERENCE = re.compile(r'(?:ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)')
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@replaces(cloudwatch_responses.CloudWatchResponse, "put_composite_alarm")
def _put_composite_alarm(self: Any) -> Any:
    """PutCompositeAlarm (moto does not answer it): kept as moto keeps an alarm with a rule, so
    DescribeAlarms lists it under ``CompositeAlarms``, in ``INSUFFICIENT_DATA`` as a new alarm
    starts; a later put of the same name replaces it. As on AWS, a rule naming an alarm that does
    not exist is a ValidationError ("PutCompositeAlarm", Amazon CloudWatch API Reference)."""
    name, rule = self._get_param("AlarmName"), self._get_param("AlarmRule")
    if not name or not rule:
        raise ValidationError("PutCompositeAlarm needs AlarmName and AlarmRule")
    backend = self.cloudwatch_backend
    missing = [named for named in COMPOSITE_ALARM_REFERENCE.findall(rule) if named not in backend.alarms]
    if missing:
        raise ValidationError(f"Could not save the composite alarm as alarms [{', '.join(missing)}] "
                              "in the alarm rule do not exist")
    alarm = backend.put_metric_alarm(
        name=name, namespace=None, metric_name=None, comparison_operator=None,
        evaluation_periods=None, period=None, threshold=None, statistic=None,
        description=self._get_param("AlarmDescription") or "", dimensions=[],
        alarm_actions=self._get_param("AlarmActions", []), actions_enabled=self._get_param("ActionsEnabled", True),
        rule=rule)
    alarm.update_state("Unchecked: Initial alarm creation", "{}", INSUFFICIENT_DATA)
    return EmptyResult()
