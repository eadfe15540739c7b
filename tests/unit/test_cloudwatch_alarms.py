"""How the lab decides a CloudWatch alarm's state (pure: chaos_sre/lab/cloudwatch/alarms.py)."""

import pytest

from chaos_sre.fis.alarms import burn_alarms
from chaos_sre.lab.cloudwatch.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Unsupported,
    composite_state,
    expression_value,
    metric_alarm_state,
)

COUNTS = {"elb_5xx": 30.0, "target_5xx": None, "elb_4xx": 0.0, "total": 970.0, "elb_503": 30.0}


def burn() -> tuple[dict, dict, dict]:
    """The az-outage stop condition's two metric alarms and the composite, as fis run puts them."""
    alarms = burn_alarms(experiment="az-outage", region="us-east-1", account_id="123456789012",
                         load_balancer="web", target=0.999, window_seconds=30 * 86400,
                         allowance=0.05, span_seconds=70)
    (_, long), (_, short), (_, composite) = alarms.requests("app/web/1")
    return long, short, composite


def test_the_burn_alarm_expression_is_the_error_ratio_with_missing_counters_filled_with_zero() -> None:
    """Metric math ("Use metric math"): FILL(id, 0) stands for a counter with no datapoint, so
    an ALB that answered no 5xx in the period still yields a ratio."""
    long, _, _ = burn()
    [returned] = [m for m in long["Metrics"] if m.get("ReturnData")]
    assert expression_value(returned["Expression"], COUNTS) == pytest.approx(30 / 1000)
    assert expression_value(returned["Expression"], dict.fromkeys(COUNTS)) is None  # 0 / 0: no data
    assert expression_value("(a + 2) * b - 1", {"a": 1.0, "b": 3.0}) == 8.0
    with pytest.raises(Unsupported):
        expression_value("METRICS()", {})
    with pytest.raises(Unsupported):
        expression_value("a + nope", {"a": 1.0})


def test_a_metric_alarm_compares_with_its_threshold_and_treats_missing_data_as_it_says() -> None:
    long, _, _ = burn()
    assert long["TreatMissingData"] == "notBreaching"
    above = long["Threshold"] * 2
    assert metric_alarm_state(above, "GreaterThanThreshold", long["Threshold"], "notBreaching", OK) == ALARM
    assert metric_alarm_state(long["Threshold"], "GreaterThanThreshold", long["Threshold"], None, OK) == OK
    assert metric_alarm_state(None, "GreaterThanThreshold", 1, "notBreaching", ALARM) == OK
    assert metric_alarm_state(None, "GreaterThanThreshold", 1, "breaching", OK) == ALARM
    assert metric_alarm_state(None, "GreaterThanThreshold", 1, "ignore", ALARM) == ALARM
    assert metric_alarm_state(None, "GreaterThanThreshold", 1, None, OK) == INSUFFICIENT_DATA


def test_the_composite_is_in_alarm_only_when_both_windows_are() -> None:
    """The SRE workbook's pair: the long window says the allowance is being spent, the short one
    that it still is; the composite rule ANDs them."""
    long, short, composite = burn()
    rule = composite["AlarmRule"]
    both = {long["AlarmName"]: ALARM, short["AlarmName"]: ALARM}
    assert composite_state(rule, both) == ALARM
    assert composite_state(rule, {**both, short["AlarmName"]: OK}) == OK
    assert composite_state(rule, {}) == OK  # unknown alarms are INSUFFICIENT_DATA
    assert composite_state('NOT (OK("a") OR FALSE) AND TRUE', {"a": INSUFFICIENT_DATA}) == ALARM
    with pytest.raises(Unsupported):
        composite_state('ALARM("a") XOR ALARM("b")', {})
