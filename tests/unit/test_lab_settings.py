"""Profiles, time scale parsing and the timeline recorder."""

import pytest

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.settings import profile_named
from chaos_sre.lab.core.timeline import FALLBACK, OK, Timeline
from chaos_sre.timescale import parse_time_scale


@pytest.mark.parametrize("value", ["0.1", "1", "10", 0.05])
def test_time_scale_accepts_positive_numbers_up_to_ten(value: str | float) -> None:
    assert parse_time_scale(value) == float(value)


@pytest.mark.parametrize("value", ["", "x", "0", "-0.5", "nan", "inf", "10.5"])
def test_time_scale_rejects_the_rest(value: str) -> None:
    with pytest.raises(ValidationError):
        parse_time_scale(value)


def test_profiles() -> None:
    assert profile_named("resilient").part("web").instance_zones == (
        "us-east-1a", "us-east-1b", "us-east-1c")
    fragile = profile_named("fragile").part("web")
    assert fragile.instance_zones == ("us-east-1a",)
    assert fragile.asg_health_check_type == "EC2"
    assert fragile.app_boot_seconds > profile_named("resilient").part("web").app_boot_seconds
    with pytest.raises(ValidationError, match="unknown lab profile 'x'"):
        profile_named("x")


def test_timeline_counts_failures_and_impact_window() -> None:
    clock = iter([100.0, 101.0, 102.5, 103.0, 104.0, 104.5]).__next__
    timeline = Timeline(clock=clock, fault_kinds=frozenset({"instance-terminated"}))  # reads 100.0
    timeline.request(OK)  # 101.0
    timeline.request("502-target-down")  # 102.5
    timeline.event("instance-terminated", "i-1", availability_zone="us-east-1a")  # 103.0
    timeline.request("timeout-target-unreachable")  # 104.0
    timeline.request(FALLBACK)  # 104.5: degraded, yet a good request
    snapshot = timeline.snapshot()
    assert snapshot["requests"] == {
        "total": 4, "ok": 2, "failed": 2,
        "by_cause": {"502-target-down": 1, "timeout-target-unreachable": 1},
        "degraded": {FALLBACK: 1}}
    assert snapshot["impact"] == {"first_failure": 102.5, "last_failure": 104.0}
    assert snapshot["faults"] == [{"at": 103.0, "kind": "instance-terminated", "resource": "i-1",
                                   "detail": {"availability_zone": "us-east-1a"}}]
    assert snapshot["series"] == [
        {"second": 101, "total": 1, "failed": 0, "causes": {"ok": 1}},
        {"second": 102, "total": 1, "failed": 1, "causes": {"502-target-down": 1}},
        {"second": 104, "total": 2, "failed": 1,
         "causes": {"timeout-target-unreachable": 1, "200-api-fallback": 1}},
    ]
