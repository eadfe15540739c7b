"""Reports and the run history, from real journals of runs against the lab.

One passing run (az-outage on the resilient lab) and one failing run that the
stop condition ends (ecs-scale-to-zero on the fragile lab) are made once per
module; the reports are rendered from their journals by the CLI and the HTML
page is opened in headless Chromium.
"""

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import chromium_path, visit_page
from conftest import CLI, ROOT, extension, lab_for_module, run_chaos, run_cli
from PIL import Image

from chaos_sre import history
from chaos_sre.verdicts import Status

pytestmark = pytest.mark.xdist_group("reports")  # one worker makes the module's two runs

PASSED_TITLE = "The service rides out losing the instances of one Availability Zone"
FAILED_TITLE = "The web tier survives its ECS api service being scaled to zero"
MARKER_COLORS = {"fault injected": (214, 39, 40), "rollback": (255, 127, 14),
                 "recovered": (44, 160, 44), "stopped": (148, 103, 189)}


@dataclass(frozen=True)
class Runs:
    passed: Path
    failed: Path
    history: Path
    directory: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    directory = tmp_path_factory.mktemp("report-runs")
    history_file = directory / "history.sqlite"
    env = {"CHAOS_SRE_HISTORY": str(history_file)}
    with lab_for_module(tmp_path_factory) as resilient:
        status, journal, _ = run_chaos(resilient, ROOT / "experiments/az-outage.json",
                                       directory / "passed", env=env)
        assert status == 0 and extension(journal)["verdict"]["passed"]
    with lab_for_module(tmp_path_factory, "--profile", "fragile") as fragile:
        status, journal, _ = run_chaos(fragile, ROOT / "experiments/ecs-scale-to-zero.json",
                                       directory / "failed", env=env)
        assert status != 0 and extension(journal)["stopped"], extension(journal)["verdict"]
    yield Runs(directory / "passed/journal.json", directory / "failed/journal.json",
               history_file, directory)


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "report", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def near(pixel: tuple[int, ...], color: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color))


@pytest.mark.e2e
def test_journal_names_the_targets_the_fault_touched(runs: Runs) -> None:
    passed = extension(json.loads(runs.passed.read_text()))
    assert len(passed["targets"]) == 1, passed["targets"]
    assert passed["targets"][0].startswith("ec2:instances (i-")
    assert passed["targets"][0].endswith("): terminate")
    assert Path(passed["ledger_path"]).is_file()
    failed = extension(json.loads(runs.failed.read_text()))
    assert failed["targets"] == ["ecs:service/staging/api: set-desired-count"]


@pytest.mark.e2e
@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (make test installs it as root)")
def test_html_report_renders_in_headless_chromium_with_plots_and_markers(
        runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = report(str(runs.passed), str(runs.failed), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"html report of 2 run(s): {out}"
    page = out.read_text()
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing to fetch
    script = """(() => ({
      figures: document.querySelectorAll('figure.timeline svg').length,
      ids: [...document.querySelectorAll('svg [id]')].map(e => e.id),
      banners: [...document.querySelectorAll('.banner strong')].map(e => e.textContent),
      comparison: [...document.querySelectorAll('table')][0].querySelectorAll('tr').length,
      widths: [...document.querySelectorAll('figure.timeline svg')].map(
        s => s.getBoundingClientRect().width),
      text: document.body.innerText,
    }))()"""
    visit = visit_page(out, tmp_path / "chromium", script=script,
                       shots={"passed": "#run-0 figure.timeline svg",
                              "failed": "#run-1 figure.timeline svg",
                              "page": "body"})
    assert visit.console_errors == []
    assert visit.requests == [out.resolve().as_uri()], visit.requests  # nothing fetched: offline
    seen = visit.evaluated
    assert seen["figures"] == 2 and min(seen["widths"]) > 600
    assert seen["banners"] == ["PASSED", "FAILED"]
    assert seen["comparison"] == 3  # header + one row per run
    for wanted in ("run0-availability", "run0-p99-latency", "run0-budget", "run0-slo",
                   "run0-marker-fault-injected-0", "run0-marker-rollback-0",
                   "run0-marker-recovered-0", "run1-marker-fault-injected-0",
                   "run1-marker-stopped-0", "run1-marker-rollback-0"):
        assert any(i.startswith(wanted) for i in seen["ids"]), wanted
    assert "stopped during the method" in seen["text"] and PASSED_TITLE in seen["text"]
    for name, markers in (("passed", ("fault injected", "rollback", "recovered")),
                          ("failed", ("fault injected", "stopped", "rollback"))):
        (tmp_path / f"{name}.png").write_bytes(visit.screenshots[name])
        image = Image.open(io.BytesIO(visit.screenshots[name])).convert("RGB")
        assert image.width > 600 and image.height > 300
        colors = image.getcolors(image.width * image.height)
        for marker in markers:
            count = sum(n for n, color in colors if near(color, MARKER_COLORS[marker]))
            assert count > 30, f"{name}: the {marker} marker is not drawn ({count} pixels)"
    (tmp_path / "page.png").write_bytes(visit.screenshots["page"])


@pytest.mark.e2e
def test_markdown_report_is_a_short_summary(runs: Runs) -> None:
    single = report(str(runs.passed), "--format", "md")
    assert single.returncode == 0, single.stderr
    lines = single.stdout.splitlines()
    assert lines[0] == f"### ✅ PASSED: {PASSED_TITLE}"
    assert any(line.startswith(f"| {PASSED_TITLE} | PASSED | ") for line in lines)
    assert any(line.startswith("- recovered in ") for line in lines)
    both = report(str(runs.passed), str(runs.failed), "--format", "md")
    assert both.stdout.splitlines()[0] == "### ❌ FAILED: chaos-sre runs: 1 of 2 planned run(s) passed"
    assert f"| {FAILED_TITLE} | **FAILED** |" in both.stdout
    assert f"- {FAILED_TITLE}: stopped during the method" in both.stdout
    assert len(both.stdout.splitlines()) < 15


@pytest.mark.e2e
def test_junit_report_parses_with_a_failure_per_failed_verdict(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "results.xml"
    result = report(str(runs.passed), str(runs.failed), "--format", "junit", "-o", str(out))
    assert result.returncode == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [PASSED_TITLE, FAILED_TITLE]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and "stopped during the method" in failure.get("message", "")
    assert float(cases[1].get("time", "0")) > 1


@pytest.mark.e2e
def test_report_without_samples_still_renders(runs: Runs, tmp_path: Path) -> None:
    journal = tmp_path / "moved.json"
    shutil.copy(runs.passed, journal)
    document = json.loads(journal.read_text())
    extension(document)["samples_path"] = str(tmp_path / "gone.samples.jsonl")
    document["experiment"]["configuration"]["api_token"] = "canary-token-value"
    journal.write_text(json.dumps(document))
    result = report(str(journal))
    assert result.returncode == 0, result.stderr
    page = journal.with_suffix(".html").read_text()
    assert "are not beside the journal: no timeline" in page and "<svg" not in page
    assert "canary-token-value" not in page and "***redacted by chaos-sre***" in page
    unwritable = report(str(journal), "-o", str(tmp_path))
    assert unwritable.returncode == 2 and "error: cannot write the report to" in unwritable.stderr


def test_report_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    not_json = tmp_path / "notes.json"
    not_json.write_text("not a journal")
    for args, message in (([str(tmp_path / "missing.json")], "error: no journal at"),
                          ([str(not_json)], "is not a JSON journal"),
                          ([str(ROOT / "experiments/az-outage.json")], "is not a Chaos Toolkit journal")):
        result = report(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_history_records_each_run_and_flags_a_regression(runs: Runs) -> None:
    with sqlite3.connect(runs.history) as connection:
        rows = connection.execute("SELECT experiment, passed, recover_seconds, budget_spent "
                                  "FROM runs ORDER BY id").fetchall()
    passed = extension(json.loads(runs.passed.read_text()))
    assert rows[0] == (PASSED_TITLE, 1, passed["recovery"]["recover_seconds"],
                       passed["budget"]["consumed_fraction"])
    assert rows[1][0] == FAILED_TITLE and rows[1][1] == 0 and len(rows) == 2
    shown = run_cli("history", "--db", str(runs.history), lab_dir=runs.directory)
    assert shown.returncode == 0, shown.stderr
    assert PASSED_TITLE in shown.stdout and FAILED_TITLE in shown.stdout
    assert "REGRESSED" not in shown.stdout
    detail = run_cli("history", "--db", str(runs.history), "--experiment", "availability zone",
                     lab_dir=runs.directory)
    assert f"{passed['recovery']['recover_seconds']:.2f} s" in detail.stdout
    assert FAILED_TITLE not in detail.stdout
    journal = json.loads(runs.passed.read_text())
    journal["extensions"] = [{**passed, "recovery": {
        **passed["recovery"], "recover_seconds": passed["recovery"]["recover_seconds"] * 3 + 2}}]
    slower = history.run_of(journal, started_at=passed["sampling"]["started_at"] + 3600)
    history.append(slower, runs.history)
    flagged = run_cli("history", "--db", str(runs.history), "--fail-on-regression",
                      lab_dir=runs.directory)
    assert flagged.returncode == 1
    assert f"REGRESSED: {PASSED_TITLE}: recovery took" in flagged.stdout


def test_history_trend_rules() -> None:
    def run(recover: float | None, status: Status = Status.PASSED) -> history.Run:
        return history.Run("x", 0.0, status, 0.1, recover, 10.0, 0.0, 0.01)

    assert history.Trend("x", [run(1.0)]).regression() is None
    assert history.Trend("x", [run(1.0), run(1.2), run(1.4)]).regression() is None
    assert history.Trend("x", [run(1.0), run(1.2), run(1.1)]).regression() is None
    assert "more than 1.5 x the median" in history.Trend(
        "x", [run(1.0), run(1.2), run(3.0)]).regression()
    assert history.Trend("x", [run(0.1), run(0.2)]).regression() is None  # < 1 s slower
    assert history.Trend("x", [run(1.0), run(None, Status.FAILED)]).regression() == \
        "the last run was FAILED after a passing one"
    assert history.Trend("x", [run(1.0), run(None, Status.INCONCLUSIVE)]).regression() == \
        "the last run was INCONCLUSIVE after a passing one"
    assert history.Trend("x", [run(1.0), run(2.0), run(4.0)]).sparkline() == "▃▅█"


def test_history_without_a_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("history", "--db", str(tmp_path / "none.sqlite"), lab_dir=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: no run history at")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_a_history_that_cannot_be_written_is_an_error_the_control_names(
        runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control records it and the verdict fails naming it (tests/unit/test_one_verdict.py)."""
    from chaos_sre.control import outcome
    from chaos_sre.errors import ValidationError

    monkeypatch.setenv("CHAOS_SRE_HISTORY", str(tmp_path))  # a folder, not a database
    journal = json.loads(runs.passed.read_text())
    with pytest.raises(ValidationError, match="cannot open the run history"):
        outcome.record_history(journal, extension(journal), runs.passed)


@pytest.mark.e2e
def test_a_report_speaks_aws_seconds_and_names_its_run_once(runs: Runs) -> None:
    """The `make demo` run is played at the lab's time scale 0.1. At 18db4a1 its HTML report
    gave detect and recover in AWS seconds but the duration and activities in wall seconds, drew
    the timeline in wall seconds ("x 10 for AWS seconds") and titled the run twice."""
    from html import escape

    from chaos_sre.report import figures, load_run, render
    from chaos_sre.report.plots import timeline_figure, timeline_of

    run = load_run(runs.passed)
    assert run.time_scale == 0.1 and run.duration_seconds is not None
    assert figures.key_figures(run)["duration"] == f"{run.duration_seconds / 0.1:.2f} s"
    page = render([run], "html")
    assert page.count(escape(PASSED_TITLE)) == 2  # <title> and <h1>
    assert "every time on this page is in AWS seconds; the run took " \
           f"{run.duration_seconds:.1f} s of wall-clock time" in page
    timeline = timeline_of(run)
    assert timeline is not None
    figure = timeline_figure(run, timeline, "run0")
    axis = figure.axes[2]
    assert axis.get_xlabel() == "AWS seconds from the fault injection (played in the lab at " \
                                "time scale 0.1)"
    recovered = [line for line in axis.get_lines() if line.get_gid() == "run0-marker-recovered-2"]
    recover = run.number("recovery", "recover_seconds")
    assert recover is not None and len(recovered) == 1
    assert abs(recovered[0].get_xdata()[0] - recover) < 1e-6
    availability = next(line for line in figure.axes[0].get_lines()
                        if line.get_gid() == "run0-availability")
    assert max(availability.get_xdata()) > run.duration_seconds  # AWS seconds, not wall
