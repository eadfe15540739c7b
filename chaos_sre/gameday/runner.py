"""Run a game-day plan: each experiment with ``chaos run``, in order, then one combined report.

Before anything is injected every experiment is validated (offline, with its
plan overrides applied), so a typo in the fourth experiment does not stop the
game day half way. Each run's console output goes to the terminal as it
happens; between runs the game day prints one line per verdict and the summed
budget. The stop rule is checked after every run. Ctrl-C or SIGTERM lets the
running experiment roll back (its ``chaos run`` gets the signal too), then
stops the game day; the report covers the runs that happened.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from chaos_sre import report
from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError
from chaos_sre.gameday.plan import Plan, Step
from chaos_sre.report.figures import percent, seconds
from chaos_sre.report.model import RunReport, load_run_or_unreadable
from chaos_sre.safety.validate import validate_experiment
from chaos_sre.timescale import wall_seconds
from chaos_sre.verdicts import declares_control, summary_line

Echo = Callable[[str], None]
_running: list["subprocess.Popen[bytes]"] = []
"""The experiment's ``chaos run`` in progress, if any (SIGTERM is passed on to it)."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a scheduler stopping the game day): let the running experiment roll back, stop."""
    for process in _running:
        process.send_signal(signum)
    raise KeyboardInterrupt


@dataclass
class Outcome:
    """What a game day did."""

    directory: Path
    runs: list[RunReport] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(step name, why it did not run) of each planned experiment that did not run."""
    stop_reason: str | None = None
    reports: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every planned experiment ran and PASSED: the game day's exit code is 0 only then."""
        return bool(self.runs) and all(run.passed for run in self.runs) and not self.skipped

    @property
    def budget_spent(self) -> float:
        return sum(run.number("budget", "consumed_fraction") or 0.0 for run in self.runs)


def chaos_command() -> str:
    """The ``chaos`` executable beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("chaos")
    if beside.is_file():
        return str(beside)
    found = shutil.which("chaos")
    if found is None:
        raise ValidationError("cannot find the chaos command (install chaostoolkit)")
    return found


@contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def preflight(plan: Plan) -> None:
    """Validate every experiment of the plan offline, with its overrides (nothing runs); each
    must declare the chaos-sre control, whose verdict judges it."""
    for step in plan.steps:
        experiment = read_document(step.path)
        if isinstance(experiment, dict) and not declares_control({"experiment": experiment}):
            raise ValidationError(f"{plan.source}: {step.name} ({step.path.name}) declares no "
                                  "chaos-sre control: a game day judges each run by its SLO "
                                  "verdict, and nothing would judge this one")
        if isinstance(experiment, dict) and step.configuration:
            experiment = {**experiment, "configuration": {
                **(experiment.get("configuration") or {}), **step.configuration}}
        with _environment(step.environment):
            validate_experiment(experiment, f"{plan.source}: {step.name} ({step.path.name})")


def _wait(process: subprocess.Popen[bytes], echo: Echo) -> tuple[int, bool]:
    """Wait for ``chaos run``, also through Ctrl-C (it rolls back on its own): (status, interrupted)."""
    interrupted = False
    while True:
        try:
            return process.wait(), interrupted
        except KeyboardInterrupt:
            if not interrupted:
                echo("interrupted: waiting for the running experiment to roll back ...")
            interrupted = True


def _run_step(plan: Plan, step: Step, index: int, directory: Path, echo: Echo) -> tuple[Path, int, bool]:
    stem = f"{index + 1:02d}-{step.name}"
    journal = directory / f"{stem}.json"
    options = ["--log-file", str(directory / f"{stem}.log"), "--journal-path", str(journal)]
    if step.configuration:
        var_file = directory / f"{stem}.vars.json"
        var_file.write_text(json.dumps({"configuration": step.configuration}, indent=2))
        options += ["--var-file", str(var_file)]
    if step.engine == "fis":
        accounts = ["--orchestrator-role-arn", step.orchestrator_role_arn] if step.orchestrator_role_arn else []
        command = [sys.executable, "-m", "chaos_sre.cli", "fis", "run", *options, *accounts, str(step.path)]
    else:
        command = [chaos_command(), *options[:2], "run", *options[2:], str(step.path)]
    process = subprocess.Popen(command, env={**os.environ, **step.environment},
                               stdin=subprocess.DEVNULL)
    _running.append(process)
    try:
        status, interrupted = _wait(process, echo)
    finally:
        _running.remove(process)
    return journal, status, interrupted


def _result_line(run: RunReport, total_spent: float) -> str:
    return (f"{run.label} in {run.duration_seconds or 0:.1f} s, "
            f"recover {seconds(run.number('recovery', 'recover_seconds'))}, budget spent "
            f"{percent(run.number('budget', 'consumed_fraction'))} (game day so far "
            f"{percent(total_spent)})")


def _stop_reason(plan: Plan, outcome: Outcome) -> str | None:
    last = outcome.runs[-1]
    if plan.stop_on_failure and not last.passed:
        return f"{last.title} did not pass: {last.label} ({'; '.join(last.reasons)})"
    if plan.max_budget_spent is not None and outcome.budget_spent >= plan.max_budget_spent:
        return (f"the summed budget spent {outcome.budget_spent * 100:.3g} % reached the limit "
                f"of {plan.max_budget_spent * 100:.3g} %")
    return None


def write_reports(plan: Plan, outcome: Outcome) -> None:
    """The combined HTML, Markdown and JUnit reports in the game day's folder."""
    notes = [f"stopped early: {outcome.stop_reason}"] if outcome.stop_reason else []
    for fmt in ("html", "md", "junit"):
        path = outcome.directory / f"report{report.SUFFIXES[fmt]}"
        report.write(path, report.render(outcome.runs, fmt, plan.title, notes, outcome.skipped))
        outcome.reports[fmt] = path


def run_plan(plan: Plan, echo: Echo, *, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Run the plan's experiments in order under its stop rule; write the combined reports."""
    preflight(plan)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _run_steps(plan, echo, sleep)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_steps(plan: Plan, echo: Echo, sleep: Callable[[float], None]) -> Outcome:
    directory = plan.output / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory.mkdir(parents=True, exist_ok=True)
    outcome = Outcome(directory)
    total = len(plan.steps)
    echo(f"game day {plan.title!r}: {total} experiment(s), results in {directory}")
    for index, step in enumerate(plan.steps):
        if outcome.stop_reason:
            outcome.skipped.append((step.name, f"the game day stopped: {outcome.stop_reason}"))
            continue
        if index and plan.cool_down_seconds:
            echo(f"cooling down for {plan.cool_down_seconds:g} s")
            try:
                sleep(wall_seconds(plan.cool_down_seconds))
            except KeyboardInterrupt:
                outcome.stop_reason = "interrupted (Ctrl-C or SIGTERM) during the cool-down"
                outcome.skipped.append((step.name, f"the game day stopped: {outcome.stop_reason}"))
                continue
        echo(f"[{index + 1}/{total}] {step.name}: chaos run {step.path}")
        journal, status, interrupted = _run_step(plan, step, index, directory, echo)
        run = load_run_or_unreadable(step.name, journal, status)
        outcome.runs.append(run)
        echo(f"[{index + 1}/{total}] {step.name}: {_result_line(run, outcome.budget_spent)}")
        outcome.stop_reason = ("interrupted (Ctrl-C or SIGTERM)" if interrupted
                               else _stop_reason(plan, outcome))
        if outcome.stop_reason and index + 1 < total:
            echo(f"stopping the game day: {outcome.stop_reason}")
    write_reports(plan, outcome)
    return outcome


def describe(outcome: Outcome) -> list[str]:
    """The closing lines of a game day: verdicts, budget, where the reports are."""
    passed = sum(run.passed for run in outcome.runs)
    planned = len(outcome.runs) + len(outcome.skipped)
    lines = [f"game day {'PASSED' if outcome.passed else 'FAILED'}: {passed} of {planned} "
             f"planned run(s) passed ({summary_line([run.verdict for run in outcome.runs])}), "
             f"budget spent {outcome.budget_spent * 100:.3g} % in total"]
    if outcome.skipped:
        lines.append(f"not run: {', '.join(name for name, _ in outcome.skipped)}")
    lines.extend(f"{fmt} report: {path}" for fmt, path in outcome.reports.items())
    return lines


__all__ = ["Outcome", "chaos_command", "describe", "preflight", "run_plan", "write_reports"]
