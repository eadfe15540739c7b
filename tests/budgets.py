"""Test-time budgets: each test file's time, and the session's, checked against docs/testing.md.

The suite must stay under 8 minutes of tests on 2 cores as the lab grows. docs/testing.md
("Budgets") holds one row per test file and session: its budget in seconds of test time
(setup, call and teardown of its tests, summed; with parallel workers these add up to more
than the wall time), and one row for each session's wall time. After a session this plugin
sums what it measured and reports each file, and each session, over its budget; it fails the
session when a file has no row, or when the suite's wall time - the parallel session's and the
serial one's added, in the reference machine's seconds - overran the 8 minutes (the parallel
session leaves its time in pytest's cache for the serial one that ``make test`` runs next).
``CHAOS_SRE_TEST_BUDGETS=report`` reports overruns without failing; ``off`` skips the check.

The budgets are seconds of the machine they were measured on. Throughout the session a thread of
the controller times a fixed pure-Python workload every 2 s by the CPU time it takes
(``time.thread_time``: the session's own load on the cores does not lengthen it, a slower CPU
does) and compares the median with that machine's time for it (the ``(reference workload)``
row): on a slower machine - or the same one on a slower day - every budget is scaled by the
ratio (never below 1), and the summary says so. A change that slows the tests still fails; a
slow machine alone does not.

A session is ``serial`` when it runs ``-m serial`` (the timing-sensitive tests that
``make test`` runs after the others), ``parallel`` otherwise; a session that selects tests by
name or keyword (``-k``, a node id) checks only the files it ran.
"""

import os
import re
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
TABLE_START = "<!-- budgets: start -->"
TABLE_END = "<!-- budgets: end -->"
WALL = "(session wall time)"
REFERENCE = "(reference workload)"
"""The row holding the reference machine's time for :func:`workload_seconds` (session ``any``)."""
SETTING = "CHAOS_SRE_TEST_BUDGETS"
EIGHT_MINUTES = 8 * 60.0
PARALLEL_RECORD = "chaos-sre/parallel-session"
"""pytest's cache key of the last parallel session's wall time in the reference machine's seconds."""
RECORD_FRESH_SECONDS = 3600.0
PROBE_EVERY_SECONDS = 2.0
MIN_PROBES = 5


def workload_seconds() -> float:
    """The CPU time of a fixed pure-Python workload (200 000 multiply-adds, about 10-20 ms)."""
    started = time.thread_time()
    total = 0
    for number in range(200_000):
        total += number * number
    return time.thread_time() - started


class SpeedProbe:
    """Times :func:`workload_seconds` every 2 s on a daemon thread, for the session's median."""

    def __init__(self) -> None:
        self.timings: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="budget-speed-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.timings.append(workload_seconds())
            if self._stop.wait(PROBE_EVERY_SECONDS):
                return

    def median(self) -> float:
        """Stop probing; the median of the timings (at least five: more are taken now if needed)."""
        self._stop.set()
        self._thread.join(timeout=5)
        timings = list(self.timings)
        while len(timings) < MIN_PROBES:
            timings.append(workload_seconds())
        return sorted(timings)[len(timings) // 2]


def machine_factor(budgets: dict[tuple[str, str], float], measured: float) -> float:
    """How much slower this machine is than the budgets' (at least 1; 1 without a reference)."""
    reference = budgets.get((REFERENCE, "any"))
    return max(1.0, measured / reference) if reference else 1.0


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
             budgets: dict[tuple[str, str], float], factor: float = 1.0) -> list[str]:
    """One sentence per file (and for the session) over its budget - scaled by this machine's
    ``factor`` - or without one."""
    found = []
    scaled = "" if factor == 1.0 else f", x{factor:.2f} on this machine"

    def budget_text(budget: float) -> str:
        return f"{budget:g} s{scaled and f' ({budget * factor:.0f} s{scaled})'}"

    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        budget = budgets.get((name, kind))
        if budget is None:
            found.append(f"{name} has no {kind} budget in docs/testing.md (took {seconds:.0f} s "
                         "of test time): add its row")
        elif seconds > budget * factor:
            took = f"{seconds:.{0 if seconds >= 10 else 1}f}"
            found.append(f"{name} took {took} s of test time in the {kind} session, over its "
                         f"budget of {budget_text(budget)} (docs/testing.md, \"Budgets\")")
    budget = budgets.get((WALL, kind))
    if budget is not None and wall > budget * factor:
        found.append(f"the {kind} session took {wall:.0f} s of wall time, over its budget of "
                     f"{budget_text(budget)} (docs/testing.md, \"Budgets\")")
    return found


def whole_suite(parallel: float, serial: float, factors: tuple[float, float]) -> str | None:
    """The sentence that fails the suite when its two sessions' wall times - ``parallel`` and
    ``serial`` seconds of the reference machine, scaled by ``factors`` from this one's - add up
    to more than the 8 minutes; None within them."""
    total = parallel + serial
    if total <= EIGHT_MINUTES:
        return None
    return (f"the parallel and serial sessions took {parallel:.0f} + {serial:.0f} = {total:.0f} s of "
            f"the reference machine's wall time (x{factors[0]:.2f} and x{factors[1]:.2f} on this "
            f"machine), over the 8 minutes ({EIGHT_MINUTES:.0f} s; docs/testing.md, \"Budgets\")")


def failing(found: list[str]) -> list[str]:
    """The sentences that fail a session: a file without a row, and the suite over the 8 minutes
    (:func:`whole_suite`). A file or a session over its own row is reported, not failed: in a
    parallel session a file's test time also measures what ran beside it, and the two sessions
    share the 8 minutes."""
    return [sentence for sentence in found if " has no " in sentence or "over the 8 minutes" in sentence]


class BudgetCheck:
    """Collects every test report's duration per file (on the xdist controller) and checks the
    budgets when the session ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.probe = SpeedProbe() if os.environ.get(SETTING) != "off" else None
        self.workload = 0.0
        self.factor = 1.0
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
            self.workload = self.probe.median() if self.probe is not None else 0.0
            self.factor = machine_factor(budgets, self.workload)
            wall = time.monotonic() - self.started
            self.found = overruns(self.spent, wall, self.kind, budgets, self.factor)
            over = self._whole_suite(wall / self.factor, budgets)
            if over:
                self.found.append(over)
        if failing(self.found) and mode == "enforce" and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _whole_suite(self, reference_wall: float, budgets: dict[tuple[str, str], float]) -> str | None:
        """The parallel session records its time and fails alone only past the whole 8 minutes;
        the serial one adds the parallel session's recorded time (its row's when none is fresh)."""
        cache = getattr(self.config, "cache", None)
        if self.kind == "parallel":
            if cache is not None:
                cache.set(PARALLEL_RECORD, {"seconds": reference_wall, "factor": self.factor,
                                            "finished": time.time()})
            return whole_suite(reference_wall, 0.0, (self.factor, 1.0))
        record = cache.get(PARALLEL_RECORD, None) if cache is not None else None
        if isinstance(record, dict) and time.time() - float(record.get("finished", 0)) < RECORD_FRESH_SECONDS:
            return whole_suite(float(record["seconds"]), reference_wall,
                               (float(record.get("factor", 1.0)), self.factor))
        return whole_suite(budgets.get((WALL, "parallel"), 0.0), reference_wall, (1.0, self.factor))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.factor > 1.0:
            terminalreporter.line(f"test-time budgets scaled x{self.factor:.2f}: the reference "
                                  f"workload took {self.workload * 1000:.1f} ms of CPU here "
                                  "(docs/testing.md, \"Budgets\")")
        if not self.found:
            return
        mode = os.environ.get(SETTING, "enforce")
        fails = mode == "enforce" and bool(failing(self.found))
        terminalreporter.section("test-time budgets", red=fails, yellow=not fails)
        for sentence in self.found:
            terminalreporter.line(sentence)
        if fails:
            terminalreporter.line(f"({SETTING}=report reports these without failing the session)")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the xdist controller, or a run without workers
        config.pluginmanager.register(BudgetCheck(config), "chaos-sre-test-budgets")
