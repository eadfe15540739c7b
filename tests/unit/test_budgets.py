"""The test-time budgets of docs/testing.md: every file has one, and an overrun names its file."""

from pathlib import Path

import pytest
from budgets import (
    DOCUMENT,
    REFERENCE,
    WALL,
    failing,
    machine_factor,
    overruns,
    read_budgets,
    whole_suite,
    workload_seconds,
)

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_and_both_sessions_have_a_budget() -> None:
    budgets = read_budgets(DOCUMENT.read_text(encoding="utf-8"))
    files = {f"tests/{path.relative_to(TESTS).as_posix()}" for path in TESTS.glob("*/test_*.py")}
    assert {name.split("/")[1] for name in files} == {"unit", "lab", "e2e"}
    assert files <= {name for name, kind in budgets if kind == "parallel"}
    assert {(WALL, "parallel"), (WALL, "serial"), (REFERENCE, "any")} <= set(budgets)
    # The two sessions' wall budgets are the 8 minutes of tests the suite must stay under.
    assert budgets[(WALL, "parallel")] + budgets[(WALL, "serial")] <= 8 * 60


def test_an_overrun_names_the_file_and_a_missing_row_asks_for_one() -> None:
    budgets = read_budgets("""
<!-- budgets: start -->
| file | session | budget (s) | measured (s) |
|---|---|---|---|
| (session wall time) | parallel | 100 | 80 |
| `tests/test_a.py` | parallel | 30 | 20 |
| `tests/test_b.py` | serial | 10 | 5 |
<!-- budgets: end -->
""")
    assert budgets == {(WALL, "parallel"): 100, ("tests/test_a.py", "parallel"): 30,
                       ("tests/test_b.py", "serial"): 10}
    assert overruns({"tests/test_a.py": 29.0}, 99.0, "parallel", budgets) == []
    found = overruns({"tests/test_a.py": 31.0, "tests/test_c.py": 2.0}, 101.0, "parallel",
                     budgets)
    assert found == [
        'tests/test_a.py took 31 s of test time in the parallel session, over its budget of 30 s '
        '(docs/testing.md, "Budgets")',
        "tests/test_c.py has no parallel budget in docs/testing.md (took 2 s of test time): "
        "add its row",
        'the parallel session took 101 s of wall time, over its budget of 100 s '
        '(docs/testing.md, "Budgets")']
    assert failing(found) == [found[1]]  # a file or a session over its row is reported, not failed
    assert overruns({"tests/test_b.py": 4.0}, 500.0, "serial", budgets) == []


def test_budgets_scale_with_a_slower_machine_and_never_shrink() -> None:
    """Budgets are the reference machine's seconds: a machine that takes 1.5 times as long for
    the reference workload gets 1.5 times the budget, a faster one the budget as written."""
    budgets = {(WALL, "parallel"): 100.0, ("tests/test_a.py", "parallel"): 30.0, (REFERENCE, "any"): 0.2}
    assert machine_factor(budgets, 0.3) == pytest.approx(1.5)
    assert machine_factor(budgets, 0.1) == 1.0
    assert machine_factor({}, 0.3) == 1.0
    assert overruns({"tests/test_a.py": 44.0}, 149.0, "parallel", budgets, 1.5) == []
    assert overruns({"tests/test_a.py": 46.0}, 151.0, "parallel", budgets, 1.5) == [
        'tests/test_a.py took 46 s of test time in the parallel session, over its budget of 30 s '
        '(45 s, x1.50 on this machine) (docs/testing.md, "Budgets")',
        'the parallel session took 151 s of wall time, over its budget of 100 s (150 s, x1.50 on '
        'this machine) (docs/testing.md, "Budgets")']
    assert 0 < workload_seconds() < 30


def test_the_suite_fails_past_the_8_minutes_of_both_sessions_in_reference_seconds() -> None:
    """The 8 minutes are the two sessions' wall times added, in the reference machine's seconds:
    a parallel session over its share passes when the serial one leaves room, and the suite
    fails once both pass 480 s together."""
    assert whole_suite(437.0, 27.0, (1.24, 1.79)) is None
    over = whole_suite(437.0, 48.0, (1.24, 1.0))
    assert over == ("the parallel and serial sessions took 437 + 48 = 485 s of the reference "
                    "machine's wall time (x1.24 and x1.00 on this machine), over the 8 minutes "
                    '(480 s; docs/testing.md, "Budgets")')
    assert failing([over]) == [over]
