"""Every consumer of a journal's verdict, as the benchmarks read it: does any of them say PASSED?

A verdict is only as honest as the weakest reader of it. Each function below reads one journal
the way one consumer does - `chaos run`'s exit code, the one-line outcome `make demo` prints,
each report format, `chaos-sre report --fail-on not-passed`, the game day and the pytest
plugin (which also know the exit code), the run history - and :func:`readings` says what each
made of it: ``PASSED``, another label, or ``error: ...`` (a reader that refused the journal).
"""

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from chaos_sre import history
from chaos_sre.cli import main as chaos_sre_cli
from chaos_sre.errors import ChaosSreError
from chaos_sre.journal import load, outcome
from chaos_sre.report import load_run, render
from chaos_sre.report.model import load_run_or_unreadable

PASSED = "PASSED"
KNOWS_EXIT_CODE = ("chaos run exit code", "game day", "pytest plugin")
"""The consumers that read a journal beside the exit code of the `chaos run` that wrote it."""


def _report_labels(path: Path) -> dict[str, str]:
    try:
        run = load_run(path)
    except ChaosSreError as exc:
        return {"report": f"error: {exc}"}
    junit = ET.fromstring(render([run], "junit"))
    headline = render([run], "md").splitlines()[0]
    page = render([run], "html")
    return {"report model": run.label,
            "junit": PASSED if junit.get("failures") == "0" else "failure",
            "markdown": PASSED if headline.startswith("### ✅") else headline[4:20],
            "html": PASSED if f"<strong>{PASSED}</strong>" in page else "not PASSED"}


def readings(path: Path, exit_code: int | None) -> dict[str, str]:
    """What each consumer reads in the journal at ``path`` (``exit_code``: its `chaos run`'s,
    when there was one)."""
    found: dict[str, str] = {}
    if exit_code is not None:
        found["chaos run exit code"] = PASSED if exit_code == 0 else f"exit {exit_code}"
    try:
        journal = load(path)
    except ChaosSreError as exc:
        return {**found, "journal": f"error: {exc}"}
    try:
        found["journal outcome"] = outcome(journal).split(" - ", 1)[0]
    except ChaosSreError as exc:
        found["journal outcome"] = f"error: {exc}"
    found.update(_report_labels(path))
    cli = CliRunner().invoke(chaos_sre_cli, ["report", str(path), "--format", "md", "-o",
                                             str(path.with_suffix(".md")), "--fail-on",
                                             "not-passed"])
    found["report --fail-on not-passed"] = PASSED if cli.exit_code == 0 else f"exit {cli.exit_code}"
    for consumer in ("game day", "pytest plugin"):  # both read it with the exit code
        found[consumer] = load_run_or_unreadable(path.stem, path, exit_code).label
    try:
        found["history"] = history.run_of(journal).status.label
    except ChaosSreError as exc:
        found["history"] = f"no row: {exc}"
    return found


def passed_by(found: dict[str, str]) -> list[str]:
    """The consumers that read PASSED."""
    return [consumer for consumer, label in found.items() if label == PASSED]
