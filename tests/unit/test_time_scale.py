"""Times in AWS seconds, played at the lab's time scale (chaos_sre.timescale; issue 19 item 14).

Pure logic, no lab: the same run seen on AWS's clock and on a lab's clock ten times faster gets
the same verdict, budget and recovery; pauses are played and put back; the time scale comes from
the environment a lab exports. The shipped experiments at several scales are run end to end in
tests/lab/test_az_faults.py and measured in bench/time_scales.py.
"""

import dataclasses

import pytest
from test_fail_closed import SLO, series

from chaos_sre.control.pauses import play_pauses, restore_pauses
from chaos_sre.control.settings import control_settings
from chaos_sre.errors import ValidationError
from chaos_sre.slo.verdict import RunRecord, RunSettings, judge
from chaos_sre.timescale import aws_seconds, time_scale, wall_seconds

RATE = 50.0
AWS = RunSettings(budget_allowance=0.05, rto_seconds=100, rate=RATE, baseline_seconds=20,
                  hold_seconds=30, recovery_window_seconds=50, burn_rate_stop=None,
                  burn_window_seconds=50)
"""An experiment's settings, in AWS seconds (the rate is the sampler's, per wall second)."""


def run_at(scale: float, outage_aws_seconds: float) -> dict[str, object]:
    """A run whose outage lasts ``outage_aws_seconds`` of AWS time, sampled at ``scale``."""
    fault, end = wall_seconds(100, scale), wall_seconds(400, scale)
    outage_end = fault + wall_seconds(outage_aws_seconds, scale)
    samples = series(RATE, end + wall_seconds(40, scale), lambda at: fault <= at < outage_end,
                     start=-wall_seconds(20, scale))
    record = RunRecord(sampler_started_at=-wall_seconds(20, scale), fault_started_at=fault,
                       sampler_stopped_at=end + wall_seconds(20, scale), sampler_exit_code=0,
                       effects_checked=1)
    return judge(samples, SLO, dataclasses.replace(AWS, time_scale=scale), record, "s.jsonl")


@pytest.mark.parametrize("outage", [30.0, 150.0])
def test_the_same_run_at_aws_speed_and_in_the_lab_gets_the_same_verdict(outage: float) -> None:
    """A 30 s outage recovers within the 100 s RTO; a 150 s one does not. Seen at AWS speed
    and at the lab's 0.1 (the same AWS seconds, played ten times faster), each gets the same
    verdict, recovery time and budget spent - before this, a file tuned for one scale judged the
    other: ecs-scale-to-zero failed at scale 1.0 on a restore RTO written for 0.1."""
    on_aws, in_lab = run_at(1.0, outage), run_at(0.1, outage)
    assert on_aws["verdict"]["status"] == in_lab["verdict"]["status"] == \
        ("passed" if outage < AWS.rto_seconds else "failed")
    assert in_lab["recovery"]["recover_seconds"] == pytest.approx(outage, abs=0.5)
    assert in_lab["recovery"]["recover_seconds"] == \
        pytest.approx(on_aws["recovery"]["recover_seconds"], abs=0.5)
    assert in_lab["budget"]["consumed_fraction"] == \
        pytest.approx(on_aws["budget"]["consumed_fraction"], rel=0.02)
    assert in_lab["time_scale"] == 0.1 and on_aws["time_scale"] == 1.0


def test_windows_are_widened_for_the_samples_played_not_the_seconds_stated() -> None:
    """At 0.1 a 50 s window lasts 5 wall seconds: 250 samples at 50 req/s, not the 1000 that
    express 99.9 %; the control widens it to 200 AWS seconds (20 s of sampling) and says so."""
    arguments = {"slo": "probes/web.yaml", "target_url": "http://x", "budget_allowance": 0.05,
                 "rto_seconds": 100, "rate": 50, "recovery_window_seconds": 50}
    in_lab = control_settings({**arguments, "time_scale": 0.1}).run
    on_aws = control_settings({**arguments, "time_scale": 1}).run
    assert in_lab.recovery_window_seconds == pytest.approx(200.0)
    assert "played in 5 s at lab time scale 0.1" in in_lab.adjustments[0]
    assert on_aws.recovery_window_seconds == 50 and on_aws.adjustments == ()


def test_pauses_are_played_at_the_scale_and_put_back_as_stated() -> None:
    activity = {"type": "action", "name": "hold", "pauses": {"before": 5, "after": "${hold}"}}
    play_pauses(activity, 0.1, {"hold": "150"}, None)
    assert activity["pauses"] == {"before": pytest.approx(0.5), "after": pytest.approx(15.0)}
    run = {"activity": dict(activity)}
    restore_pauses(activity, run)
    assert activity["pauses"] == {"before": 5, "after": "${hold}"}
    assert run["activity"]["pauses"] == {"before": 5, "after": "${hold}"}
    unscaled = {"type": "action", "name": "x", "pauses": {"after": 4}}
    play_pauses(unscaled, 1.0, None, None)
    assert unscaled["pauses"] == {"after": 4}


def test_the_time_scale_comes_from_the_labs_environment() -> None:
    assert time_scale({}) == 1.0
    assert time_scale({"CHAOS_SRE_TIME_SCALE": "0.1"}) == 0.1
    assert wall_seconds(300, 0.1) == pytest.approx(30.0)
    assert aws_seconds(30, 0.1) == pytest.approx(300.0)
    for wrong in ("fast", "0", "-1", "11"):
        with pytest.raises(ValidationError, match="CHAOS_SRE_TIME_SCALE: time scale"):
            time_scale({"CHAOS_SRE_TIME_SCALE": wrong})
