"""The SLO arithmetic, including the SRE Workbook's budget table."""

import pytest

from chaos_sre.slo import math as m

THIRTY_DAYS = 30 * 86400


@pytest.mark.parametrize(
    ("burn", "hours", "spent"),
    [(14.4, 1, 0.02), (6, 6, 0.05), (1, 72, 0.10)],
)
def test_sre_workbook_table(burn: float, hours: float, spent: float) -> None:
    target = 0.999
    ratio = burn * (1 - target)  # the error ratio that burns at `burn`x
    assert m.burn_rate(ratio, target) == pytest.approx(burn)
    assert m.budget_spent(ratio, hours * 3600, THIRTY_DAYS, target) == pytest.approx(spent)


def test_budget_spent_is_independent_of_the_target_for_a_given_burn() -> None:
    for target in (0.99, 0.999, 0.9999):
        ratio = 14.4 * (1 - target)
        assert m.budget_spent(ratio, 3600, THIRTY_DAYS, target) == pytest.approx(0.02)


def test_worked_example_from_docs() -> None:
    # 40 bad samples out of 1000 over 20 s, 99.9 % over 30 days
    ratio = 40 / 1000
    assert m.burn_rate(ratio, 0.999) == pytest.approx(40.0)
    assert m.budget_spent(ratio, 20, THIRTY_DAYS, 0.999) == pytest.approx(0.04 * 20 / THIRTY_DAYS / 0.001)


def series(pattern: str, step: float = 0.1, start: float = 100.0) -> list[m.Point]:
    """'.' good, 'x' bad, one sample every `step` seconds."""
    return [(start + i * step, c == ".", 0.01 * (i + 1)) for i, c in enumerate(pattern)]


def test_sli_error_ratio_and_percentiles() -> None:
    points = series("..x.x.....")
    assert m.error_ratio(points) == pytest.approx(0.2)
    assert m.sli(points) == pytest.approx(0.8)
    assert m.sli([]) is None
    assert m.percentile([5, 1, 4, 2, 3], 50) == 3
    assert m.percentile([5, 1, 4, 2, 3], 99) == 5
    assert m.percentile(list(range(1, 101)), 90) == 90
    assert m.percentile([], 50) is None


def test_windows_and_worst_error_rate() -> None:
    points = series("....xxxx..", step=0.5)  # 5 s, windows of 2 s hold 4 samples
    stats = m.windows(points, 2.0)
    assert [(w.total, w.good) for w in stats] == [(4, 4), (4, 0), (2, 2)]
    assert stats[1].sli == 0.0
    assert stats[0].p50 == pytest.approx(0.02)
    assert m.worst_error_rate(points, 2.0) == 1.0
    assert m.worst_error_rate([], 2.0) == 0.0
    with pytest.raises(ValueError):
        m.windows(points, 0)


def test_time_to_detect() -> None:
    points = series("...xx.....")
    assert m.time_to_detect(points, fault_at=100.05) == pytest.approx(0.25)
    assert m.time_to_detect(points, fault_at=100.5) is None
    assert m.time_to_detect(series(".........."), 100.0) is None


def test_recovery_starts_after_the_last_violating_window() -> None:
    points = series("...xxx" + "." * 40)  # bad at 100.3-100.5
    start = m.recovery_start(points, fault_at=100.25, target=0.999, window=1.0)
    assert start == pytest.approx(100.6)
    assert m.time_to_recover(points, 100.25, 0.999, window=1.0, hold=2.0) == pytest.approx(0.35)


def test_recovery_with_no_impact_is_immediate() -> None:
    points = series("." * 30)
    assert m.recovery_start(points, fault_at=100.0, target=0.999, window=1.0) == 100.0
    assert m.time_to_recover(points, 100.0, 0.999, window=1.0, hold=1.0) == 0.0


def test_a_late_failure_moves_recovery_past_it() -> None:
    points = series("xx" + "." * 20 + "x" + "." * 30)
    assert m.recovery_start(points, 100.0, 0.999, 1.0) == pytest.approx(100.0 + 23 * 0.1)


def test_a_lenient_target_tolerates_sparse_failures() -> None:
    points = series("xx" + "." * 20 + "x" + "." * 30)
    # from 100.1 on, every 1 s window (10 samples) holds at most one bad: 90 %,
    # enough for a 0.9 target; the window from 100.0 holds two
    assert m.recovery_start(points, 100.0, 0.9, 1.0) == pytest.approx(100.1)


def test_not_recovered_or_not_held() -> None:
    assert m.recovery_start(series("....xxxx"), 100.0, 0.999, 1.0) is None
    held_briefly = series("xxxx" + "." * 10)  # recovered for 0.9 s only
    assert m.recovery_start(held_briefly, 100.0, 0.999, 0.5) == pytest.approx(100.4)
    assert m.time_to_recover(held_briefly, 100.0, 0.999, window=0.5, hold=2.0) is None
    assert m.recovery_start([], 100.0, 0.999, 1.0) is None
