"""Test-time budgets: each test file's time, and the session's, checked against docs/testing.md.

The suite must stay under 8 minutes of tests on 2 cores as the lab grows. docs/testing.md
("Budgets") holds one row per test file and session: its budget in seconds of test time
(setup, call and teardown of its tests, summed; with parallel workers these add up to more
than the wall time), and one row for each session's wall time. After a session this plugin
sums what it measured and fails the session, naming the file, when one overran its budget or
has none. ``CHAOS_SRE_TEST_BUDGETS=report`` reports overruns without failing (a machine slower
than the 2-core one the budgets were measured on); ``off`` skips the check.

A session is ``serial`` when it runs ``-m serial`` (the timing-sensitive tests that
``make test`` runs after the others), ``parallel`` otherwise; a session that selects tests by
name or keyword (``-k``, a node id) checks only the files it ran.
"""

import os
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
TABLE_START = "<!-- budgets: start -->"
TABLE_END = "<!-- budgets: end -->"
WALL = "(session wall time)"
SETTING = "CHAOS_SRE_TEST_BUDGETS"


def read_budgets(text: str) -> dict[tuple[str, str], float]:
    """(file or WALL, session kind) -> budget seconds, from the table between the markers."""
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"docs/testing.md has no budget table ({TABLE_START} ... {TABLE_END})")
    table = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    budgets = {}
    for line in table.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"\d+(\.\d+)?", cells[2]):
            continue
        budgets[(cells[0], cells[1])] = float(cells[2])
    return budgets


def overruns(spent: dict[str, float], wall: float, kind: str,
             budgets: dict[tuple[str, str], float]) -> list[str]:
    """One sentence per file (and for the session) over its budget or without one."""
    found = []
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        budget = budgets.get((name, kind))
        if budget is None:
            found.append(f"{name} has no {kind} budget in docs/testing.md (took {seconds:.0f} s "
                         "of test time): add its row")
        elif seconds > budget:
            took = f"{seconds:.{0 if seconds >= 10 else 1}f}"
            found.append(f"{name} took {took} s of test time in the {kind} session, over its "
                         f"budget of {budget:g} s (docs/testing.md, \"Budgets\")")
    budget = budgets.get((WALL, kind))
    if budget is not None and wall > budget:
        found.append(f"the {kind} session took {wall:.0f} s of wall time, over its budget of "
                     f"{budget:g} s (docs/testing.md, \"Budgets\")")
    return found


class BudgetCheck:
    """Collects every test report's duration per file (on the xdist controller) and checks the
    budgets when the session ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.spent: dict[str, float] = defaultdict(float)
        self.found: list[str] = []

    @property
    def kind(self) -> str:
        return "serial" if (self.config.getoption("markexpr") or "").strip() == "serial" else "parallel"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.spent[report.nodeid.split("::", 1)[0]] += report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        mode = os.environ.get(SETTING, "enforce")
        if mode == "off" or not self.spent:
            return
        try:
            budgets = read_budgets(DOCUMENT.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.found = [str(exc)]
        else:
            self.found = overruns(self.spent, time.monotonic() - self.started, self.kind, budgets)
        if self.found and mode == "enforce" and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.found:
            return
        mode = os.environ.get(SETTING, "enforce")
        terminalreporter.section("test-time budgets", red=mode == "enforce", yellow=mode != "enforce")
        for sentence in self.found:
            terminalreporter.line(sentence)
        if mode == "enforce":
            terminalreporter.line(f"({SETTING}=report reports these without failing the session)")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the xdist controller, or a run without workers
        config.pluginmanager.register(BudgetCheck(config), "chaos-sre-test-budgets")
