"""The local run history: every judged run's key figures in one SQLite file.

The chaos-sre control appends a row at the end of each run (experiment,
time, verdict, time to detect and recover, budget spent), whoever started it:
``chaos run``, a game day or the pytest plugin. ``chaos-sre history`` shows
each experiment's trend and flags a regression: the last recovery took more
than 1.5 times the median of the runs before it (and at least 1 s more), or
the last run did not pass after a passing one. The file is ``$CHAOS_SRE_HISTORY``,
default ``runs/history.sqlite``; keep it on a volume for scheduled runs.

Verdicts are read as everywhere else (:mod:`chaos_sre.verdicts`): a row keeps the
run's status (PASSED, FAILED, INCONCLUSIVE); a dry run never becomes a row.
"""

import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.journal import title_of
from chaos_sre.report.figures import percent, seconds
from chaos_sre.verdicts import Status, chaos_sre_extension, journal_verdict, parse

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment TEXT NOT NULL,
    started_at REAL NOT NULL,
    passed INTEGER NOT NULL,
    detect_seconds REAL,
    recover_seconds REAL,
    rto_seconds REAL,
    budget_spent REAL,
    budget_allowed REAL,
    journal TEXT,
    status TEXT
)
"""
REGRESSION_FACTOR = 1.5
REGRESSION_MIN_SECONDS = 1.0
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Run:
    """One row of the history."""

    experiment: str
    started_at: float
    status: Status
    detect_seconds: float | None
    recover_seconds: float | None
    rto_seconds: float | None
    budget_spent: float | None
    budget_allowed: float | None
    journal: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED


@dataclass(frozen=True)
class Trend:
    """One experiment's runs, oldest first, and what they say."""

    experiment: str
    runs: list[Run]

    @property
    def last(self) -> Run:
        return self.runs[-1]

    @property
    def pass_rate(self) -> float:
        return sum(run.passed for run in self.runs) / len(self.runs)

    def regression(self) -> str | None:
        """Why the last run looks worse than the ones before it, or None."""
        if len(self.runs) < 2:
            return None
        earlier = self.runs[:-1]
        if not self.last.passed and earlier[-1].passed:
            return f"the last run was {self.last.status.label} after a passing one"
        before = [run.recover_seconds for run in earlier if run.recover_seconds is not None]
        last = self.last.recover_seconds
        if last is None or not before:
            return None
        median = statistics.median(before)
        if last > median * REGRESSION_FACTOR and last - median >= REGRESSION_MIN_SECONDS:
            return (f"recovery took {last:.2f} s, more than {REGRESSION_FACTOR:g} x the median "
                    f"{median:.2f} s of the {len(before)} run(s) before")
        return None

    def sparkline(self, count: int = 20) -> str:
        """Recovery time of the last ``count`` runs as bars (``·`` where there was no recovery)."""
        values = [run.recover_seconds for run in self.runs[-count:]]
        known = [v for v in values if v is not None]
        if not known:
            return "·" * len(values)
        top = max(known) or 1.0
        return "".join("·" if v is None else SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5),
                                                       len(SPARK) - 1)] for v in values)


def history_path() -> Path:
    """``$CHAOS_SRE_HISTORY``, default ``runs/history.sqlite``."""
    return Path(os.environ.get("CHAOS_SRE_HISTORY") or Path("runs") / "history.sqlite")


@contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.is_file():
        raise ValidationError(f"no run history at {path} yet: runs with the chaos-sre control "
                              "add to it (set CHAOS_SRE_HISTORY to use another file)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=10)
    except (OSError, sqlite3.Error) as exc:
        raise ValidationError(f"cannot open the run history {path}: {exc}") from None
    try:
        with connection:
            connection.execute(SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
            if "status" not in columns:  # a history written before runs kept their status
                connection.execute("ALTER TABLE runs ADD COLUMN status TEXT")
            yield connection
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"the run history {path} is not usable: {exc}") from None
    finally:
        connection.close()


def append(run: Run, path: Path | None = None) -> Path:
    """Add one run to the history; return the file. A dry run is refused (it judged nothing)."""
    if run.status is Status.DRY_RUN:
        raise ValidationError("a dry run is not added to the run history: it injected nothing")
    path = path or history_path()
    with _connect(path, create=True) as connection:
        connection.execute(
            "INSERT INTO runs (experiment, started_at, passed, detect_seconds, recover_seconds, "
            "rto_seconds, budget_spent, budget_allowed, journal, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.experiment, run.started_at, int(run.passed), run.detect_seconds,
             run.recover_seconds, run.rto_seconds, run.budget_spent, run.budget_allowed,
             run.journal, run.status.value))
    return path


def run_of(journal: dict[str, Any], path: str | None = None, *,
           started_at: float | None = None) -> Run:
    """The history row of a judged run, from its journal: the status as every consumer reads
    it (:func:`chaos_sre.verdicts.journal_verdict`, Chaos Toolkit's own status included), the
    figures from its ``chaos_sre`` extension. A one-line ValidationError when the journal holds
    no readable chaos-sre verdict."""
    title = title_of(journal)
    extension = chaos_sre_extension(journal)
    if extension is None:
        raise ValidationError(f"{title}: the run has no chaos-sre verdict, so no history row")
    status = journal_verdict(journal, f"the verdict of {title}").status
    recovery = extension.get("recovery") or {}
    budget = extension.get("budget") or {}
    sampling = extension.get("sampling") or {}
    return Run(experiment=title,
               started_at=started_at or sampling.get("started_at") or time.time(),
               status=status,
               detect_seconds=recovery.get("detect_seconds"),
               recover_seconds=recovery.get("recover_seconds"),
               rto_seconds=recovery.get("rto_seconds"),
               budget_spent=budget.get("consumed_fraction"),
               budget_allowed=budget.get("allowed_fraction"),
               journal=path)


def trends(path: Path | None = None, experiment: str | None = None) -> list[Trend]:
    """Every experiment's runs, oldest first (only those whose name contains ``experiment``)."""
    path = path or history_path()
    with _connect(path, create=False) as connection:
        rows = connection.execute(
            "SELECT experiment, started_at, passed, detect_seconds, recover_seconds, rto_seconds, "
            "budget_spent, budget_allowed, journal, status FROM runs ORDER BY started_at, id"
        ).fetchall()
    by_experiment: dict[str, list[Run]] = {}
    for row in rows:
        # rows written before the status column have only ``passed``: read as a version 1 verdict
        status = parse({"passed": bool(row[2]), "status": row[9]}, f"the run history {path}").status
        run = Run(row[0], row[1], status, *row[3:9])
        if experiment is None or experiment.lower() in run.experiment.lower():
            by_experiment.setdefault(run.experiment, []).append(run)
    return [Trend(name, runs) for name, runs in sorted(by_experiment.items())]


def trend_table(trends: list[Trend]) -> list[str]:
    """One line per experiment: runs, passes, last verdict, recovery last / median, trend bars."""
    width = max(len("experiment"), *(len(t.experiment) for t in trends))
    lines = [f"{'experiment':<{width}}  runs  passed  last          recover (last / median)  "
             "trend (recovery, oldest -> newest)"]
    for trend in trends:
        known = [r.recover_seconds for r in trend.runs if r.recover_seconds is not None]
        recover = (f"{seconds(trend.last.recover_seconds)} / "
                   f"{seconds(statistics.median(known) if known else None)}")
        passed = f"{sum(r.passed for r in trend.runs)}/{len(trend.runs)}"
        lines.append(f"{trend.experiment:<{width}}  {len(trend.runs):>4}  {passed:>6}  "
                     f"{trend.last.status.label:<12}  {recover:<23}  "
                     f"{trend.sparkline()}")
    return lines


def run_table(trend: Trend, count: int) -> list[str]:
    """The experiment's last ``count`` runs, one line each."""
    lines = [f"{trend.experiment}: last {min(count, len(trend.runs))} run(s)",
             "started (UTC)        verdict       detect     recover    RTO     budget spent"]
    for run in trend.runs[-count:]:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(run.started_at))
        rto = "-" if run.rto_seconds is None else f"{run.rto_seconds:g} s"
        lines.append(f"{started}  {run.status.label:<12}  "
                     f"{seconds(run.detect_seconds):<9}  {seconds(run.recover_seconds):<9}  "
                     f"{rto:<6}  {percent(run.budget_spent)}")
    return lines
