"""One verdict, read the same way everywhere (in process: no lab, no `chaos run`).

Each numbered case of the issue that is not a user path through `chaos run` is reproduced here
with the code every consumer uses; tests/e2e/test_one_verdict_runs.py makes the `chaos run`s. The
flags table of docs/slo.md is driven from its own text: every flag with every shipped
experiment's method is refused, a dry run, or judged, and the verdict and exit code of each
answer are computed by the control's own code.
"""

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos_sre import history
from chaos_sre.cli import main as chaos_sre_cli
from chaos_sre.control import activities, hooks
from chaos_sre.control.flags import check_flags, effective_flags
from chaos_sre.control.outcome import not_judged
from chaos_sre.control.state import ControlRun
from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import is_fault_module
from chaos_sre.gameday.plan import Plan, Step
from chaos_sre.gameday.runner import Outcome, write_reports
from chaos_sre.journal import outcome
from chaos_sre.report import render
from chaos_sre.report.model import load_run, load_run_or_unreadable
from chaos_sre.safety.validate import resolved_configuration, validate_experiment
from chaos_sre.slo.definition import load_slo
from chaos_sre.slo.samples import Sample, read_sample_file, to_line
from chaos_sre.slo.verdict import RunRecord, RunSettings, judge
from chaos_sre.values import resolved
from chaos_sre.verdicts import Status, VerdictError, exit_code, journal_verdict, parse

ROOT = Path(__file__).resolve().parents[2]
SLO = load_slo(str(ROOT / "probes" / "web.yaml"))
SETTINGS = RunSettings(budget_allowance=0.05, rto_seconds=30, rate=50, baseline_seconds=2,
                       hold_seconds=3, recovery_window_seconds=20, burn_rate_stop=None,
                       burn_window_seconds=5)
SHIPPED = ("az-outage", "az-blackhole", "rds-failover", "dynamodb-throttle", "ecs-scale-to-zero",
           "lab-smoke")


def samples(seconds: float, *, start: float = -5.0, rate: float = 50.0,
            skip: tuple[float, float] | None = None) -> list[Sample]:
    """Good answers at ``rate`` from ``start`` for ``seconds`` (none inside ``skip``)."""
    found = []
    for index in range(int(seconds * rate)):
        at = start + index / rate
        if skip is None or not skip[0] <= at < skip[1]:
            found.append(Sample(at, at, 0.005, "2xx", 200))
    return found


def record(**changes: Any) -> RunRecord:
    """A clean run: baseline from -5 s, fault at 0 verified, sampler stopped at 55 s."""
    values: dict[str, Any] = {"sampler_started_at": -5.0, "fault_started_at": 0.0,
                              "sampler_stopped_at": 55.0, "sampler_exit_code": 0,
                              "steady_state_before": True, "steady_state_after": True,
                              "effects_checked": 1, "chaos_status": "completed"}
    values.update(changes)
    return RunRecord(**values)


def verdict_of(run: RunRecord, observed: list[Sample] | None = None) -> dict[str, Any]:
    return dict(judge(samples(60) if observed is None else observed, SLO, SETTINGS, run,
                      "s.jsonl")["verdict"])


def journal_with(verdict: dict[str, Any] | None, *, status: str = "completed",
                 **extension: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "chaos_sre", **extension}
    if verdict is not None:
        entry["verdict"] = verdict
    return {"status": status, "deviated": False, "duration": 12.0,
            "experiment": {"title": "t", "controls": [
                {"name": "chaos-sre", "provider": {"type": "python", "module": "chaos_sre.control"}}]},
            "extensions": [entry]}


def write(tmp_path: Path, name: str, journal: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(journal))
    return path


def test_the_clean_run_passes() -> None:
    """The baseline every case below changes one thing of."""
    assert verdict_of(record())["status"] == "passed"


# 1. CHAOS_SRE_DRY_RUN: a fault that returned its plan is a dry run, and a live fault clock
#    with nothing verified is INCONCLUSIVE.

def test_a_fault_that_ran_as_a_dry_run_makes_the_run_a_dry_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """At 18db4a1 a fault's ``dry_run`` returned before its ledger, the fault clock stayed
    live, ``missing_effects(None)`` found nothing missing, and the run PASSED with a ~0 s
    recovery in the history."""
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    run = ControlRun(SLO, SETTINGS, "http://127.0.0.1:1", tmp_path / "s.jsonl")
    action = {"type": "action", "name": "terminate-az-instances",
              "provider": {"type": "python", "module": "chaos_sre.faults.az",
                           "func": "terminate_az_instances"}}
    activities.fault_started(run, action)
    assert run.record.fault_started_at is not None
    plan = {"dry_run": True, "action": "terminate", "instance_ids": ["i-1", "i-2"]}
    activities.method_activity_ended(run, action, {"status": "succeeded", "output": plan})
    assert run.record.dry_run and run.record.fault_started_at is None
    run.record.sampler_started_at, run.record.sampler_stopped_at = -5.0, 55.0
    run.record.steady_state_before = run.record.steady_state_after = True
    verdict = parse(judge(samples(60), SLO, SETTINGS, run.record, "s.jsonl")["verdict"])
    assert verdict.status is Status.DRY_RUN and exit_code(verdict) == 1
    assert any(r.startswith('terminate-az-instances would: {"action": "terminate"')
               for r in verdict.reasons), verdict.reasons
    with pytest.raises(ValidationError, match="a dry run is not added to the run history"):
        history.append(history.run_of(journal_with(verdict.as_dict())), tmp_path / "h.sqlite")


def test_a_live_fault_clock_with_nothing_verified_is_inconclusive() -> None:
    for unverified in (None, 0):
        verdict = verdict_of(record(effects_checked=unverified))
        assert verdict["status"] == "inconclusive", verdict
        assert verdict["reasons"] == ["nothing verified that the fault took effect: no fault of "
                                      "the method reported a change whose effect a chaos-sre "
                                      "check covers"]


def test_a_method_partly_dry_is_inconclusive() -> None:
    verdict = verdict_of(record(dry_run=True))
    assert verdict["status"] == "inconclusive"
    assert "part of the method was a dry run" in verdict["reasons"][0]


# 2. chaos run --dry=actions|activities: DRY-RUN, never PASSED, read so by every consumer.

def test_a_dry_run_is_dry_run_for_every_consumer(tmp_path: Path) -> None:
    extension = judge(samples(60), SLO, SETTINGS,
                      record(fault_started_at=None, dry_run=True, effects_checked=None,
                             dry_run_plan=[{"activity": "a", "plan": {"dry_run": True, "n": 2}}]),
                      "s.jsonl")
    assert extension["verdict"]["status"] == "dry-run" and extension["dry_run"]["plan"]
    # the control marks the run failed (chaos run exits 1), as for every verdict but PASSED
    path = write(tmp_path, "dry", {**journal_with(None, status="failed"),
                                   "extensions": [extension]})
    assert_every_consumer_reads(path, Status.DRY_RUN)


# 5. Consumers: one parser, the journal's status and the control's presence in the verdict.

def assert_every_consumer_reads(path: Path, expected: Status, *, exit_code_of_run: int = 1) -> None:
    """Every consumer reads the journal at ``path`` as ``expected`` (and never as passed)."""
    journal = json.loads(path.read_text())
    assert journal_verdict(journal).status is expected
    assert outcome(journal).startswith(expected.label)
    run = load_run(path)
    assert run.verdict.status is expected and run.passed is (expected is Status.PASSED)
    gameday = load_run_or_unreadable("t", path, exit_code_of_run)
    assert gameday.passed is (expected is Status.PASSED and exit_code_of_run == 0)
    junit = ET.fromstring(render([run], "junit"))
    assert junit.get("failures") == str(int(expected is not Status.PASSED))
    markdown = render([run], "md")
    assert markdown.splitlines()[0].startswith(f"### {'✅' if run.passed else '❌'} {expected.label}")
    assert f">{expected.label}</strong>" in render([run], "html")
    cli = CliRunner().invoke(chaos_sre_cli, ["report", str(path), "--format", "md",
                                             "--fail-on", "not-passed"])
    assert cli.exit_code == (0 if expected is Status.PASSED else 1), cli.output
    try:
        row = history.run_of(journal)
    except ValidationError:
        assert expected is not Status.PASSED  # no row (no chaos-sre verdict): nothing passes
    else:
        assert row.status is expected


@pytest.mark.parametrize("status", ["failed", "aborted", "interrupted"])
def test_a_passed_verdict_in_a_run_that_did_not_complete_is_failed(tmp_path: Path,
                                                                   status: str) -> None:
    """`--fail-fast` under the continuous strategy ends a run `failed` with the verdict
    computed as passed: `chaos run` exits 1 and, at 18db4a1, the game day, the pytest plugin,
    the history and the reports said PASSED."""
    passed = {"version": 2, "status": "passed", "passed": True, "reasons": ["ok"]}
    path = write(tmp_path, status, journal_with(passed, status=status))
    assert_every_consumer_reads(path, Status.FAILED)
    assert journal_verdict(json.loads(path.read_text())).reasons[0] == \
        f"Chaos Toolkit ended the run with status {status} (not completed)"


def test_the_control_fails_a_run_chaos_toolkit_did_not_complete() -> None:
    """The control's own verdict: an `aborted` run (a method that raised) never PASSES."""
    for status in ("aborted", "failed"):
        verdict = verdict_of(record(chaos_status=status))
        assert verdict["status"] == "failed"
        assert verdict["reasons"] == [f"Chaos Toolkit ended the run with status {status}"]


def test_a_deviated_run_is_never_passed(tmp_path: Path) -> None:
    passed = {"version": 2, "status": "passed", "passed": True, "reasons": ["ok"]}
    path = write(tmp_path, "deviated", {**journal_with(passed), "deviated": True})
    assert_every_consumer_reads(path, Status.FAILED)


def test_a_passed_journal_whose_run_exited_non_zero_fails_the_game_day_and_plugin(
        tmp_path: Path) -> None:
    passed = {"version": 2, "status": "passed", "passed": True, "reasons": ["ok"]}
    path = write(tmp_path, "passed", journal_with(passed))
    assert_every_consumer_reads(path, Status.PASSED, exit_code_of_run=0)
    run = load_run_or_unreadable("t", path, 1)
    assert not run.passed and run.reasons[0] == \
        "chaos run exited 1 although the journal's verdict is PASSED"


def test_a_journal_without_the_control_is_never_passed(tmp_path: Path) -> None:
    """At 18db4a1 it read "PASSED - the steady state held before and after the fault", even
    without a hypothesis."""
    foreign = {"status": "completed", "deviated": False, "experiment": {"title": "t"}}
    path = write(tmp_path, "foreign", foreign)
    assert_every_consumer_reads(path, Status.INCONCLUSIVE)
    declared = journal_with(None)
    declared["extensions"] = []
    assert journal_verdict(declared).reasons[0].startswith(
        "the experiment declares the chaos-sre control, but the journal holds no chaos-sre verdict")
    path = write(tmp_path, "foreign-failed", {**foreign, "status": "failed"})
    assert_every_consumer_reads(path, Status.FAILED)


@pytest.mark.parametrize("torn", [
    {"passed": True, "status": "inconclusive", "reasons": []},
    {"passed": "false", "status": "failed", "reasons": []},
    {"passed": True, "status": "maybe", "reasons": []},
    {"passed": True, "status": "passed", "reasons": "ok"},
    {"version": 3, "passed": True, "status": "passed", "reasons": []},
    None,
], ids=["passed-but-inconclusive", "string-false", "unknown-status", "reasons-not-a-list",
        "newer-version", "no-verdict"])
def test_a_torn_verdict_is_a_one_line_error_never_a_pass(tmp_path: Path,
                                                         torn: dict[str, Any] | None) -> None:
    """At 18db4a1 `load_run` took `verdict["passed"]` while the text used `status` (a torn
    verdict was INCONCLUSIVE in the text and passed for the game day and history; "false"
    counted as passed), and a torn extension raised KeyError and stopped the game day."""
    path = write(tmp_path, "torn", journal_with(torn))
    with pytest.raises(VerdictError) as raised:
        load_run(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)
    cli = CliRunner().invoke(chaos_sre_cli, ["report", str(path), "--format", "md"])
    assert cli.exit_code == 2 and cli.output.count("\n") == 1
    assert cli.output.startswith(f"error: {path}: ")
    game_day = load_run_or_unreadable("step", path, 0)
    assert game_day.verdict.status is Status.INCONCLUSIVE and not game_day.passed
    with pytest.raises(ValidationError):
        history.run_of(journal_with(torn))


def test_an_older_verdict_reads_by_its_passed() -> None:
    assert parse({"passed": True, "reasons": []}).status is Status.PASSED
    assert parse({"passed": False, "reasons": []}).status is Status.FAILED
    assert parse({"passed": False, "status": "inconclusive", "reasons": []}).status \
        is Status.INCONCLUSIVE


def test_report_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    failed = write(tmp_path, "failed", journal_with(
        {"version": 2, "status": "failed", "passed": False, "reasons": ["x"]}))
    inconclusive = write(tmp_path, "inconclusive", journal_with(
        {"version": 2, "status": "inconclusive", "passed": False, "reasons": ["y"]}))
    expected = {"never": (0, 0), "failed": (1, 0), "inconclusive": (1, 1), "not-passed": (1, 1)}
    for fail_on, codes in expected.items():
        for path, code in zip((failed, inconclusive), codes, strict=True):
            result = CliRunner().invoke(chaos_sre_cli, ["report", str(path), "--format", "md",
                                                        "--fail-on", fail_on])
            assert result.exit_code == code, (fail_on, path.name, result.output)


def test_the_history_keeps_each_runs_status(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    for status in ("passed", "inconclusive"):
        verdict = {"version": 2, "status": status, "passed": status == "passed", "reasons": []}
        history.append(history.run_of(journal_with(verdict), started_at=1.0), db)
    runs = history.trends(db)[0].runs
    assert [r.status for r in runs] == [Status.PASSED, Status.INCONCLUSIVE]
    assert "INCONCLUSIVE" in history.trend_table(history.trends(db))[1]


# 6. Game-day reports: a test case per planned step, the headline follows the exit code.

def test_game_day_reports_show_every_planned_step(tmp_path: Path) -> None:
    passed = write(tmp_path, "passed", journal_with(
        {"version": 2, "status": "passed", "passed": True, "reasons": ["ok"]}))
    steps = [Step("first", passed), Step("second", passed)]
    result = Outcome(tmp_path, runs=[load_run(passed)],
                     skipped=[("second", "the game day stopped: first failed")],
                     stop_reason="first failed")
    write_reports(Plan(tmp_path / "plan.yaml", "Game day", steps), result)
    assert not result.passed
    suite = ET.parse(result.reports["junit"]).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("skipped") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["t", "second"]
    skipped = cases[1].find("skipped")
    assert skipped is not None and skipped.get("message") == "the game day stopped: first failed"
    headline = result.reports["md"].read_text().splitlines()[0]
    assert headline == "### ❌ FAILED: Game day: 1 of 2 planned run(s) passed"
    assert "| second | NOT RUN |" in result.reports["md"].read_text()


# 7. Non-finite sample numbers are malformed lines.

def test_a_nan_sample_does_not_hide_a_blind_spot(tmp_path: Path) -> None:
    """A 5.1 s blind spot is INCONCLUSIVE; at 18db4a1 one NaN line beside it made it PASSED."""
    observed = samples(60, skip=(20.0, 25.1))
    path = tmp_path / "s.jsonl"
    lines = [to_line(s) for s in observed]
    path.write_text("\n".join(lines) + "\n")
    without = read_sample_file(path)
    assert verdict_of(record(), without.samples)["status"] == "inconclusive"
    at = lines.index(next(line for line in lines if json.loads(line)["scheduled"] >= 25.1))
    for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
        torn = lines[:at] + [f'{{"scheduled": {constant}, "sent": 22.0, "latency": 0.005, '
                             '"outcome": "2xx", "status": 200, "path": "/"}'] + lines[at:]
        path.write_text("\n".join(torn) + "\n")
        found = read_sample_file(path)
        assert len(found.malformed) == 1, constant
        verdict = verdict_of(record(sample_problems=found.problems()), found.samples)
        assert verdict["status"] == "inconclusive", (constant, verdict)


# 8. An error in a control hook after the verdict fails it, named.

def test_an_error_after_the_verdict_fails_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 18db4a1 an error in note_targets (after the verdict) was logged and changed neither
    the verdict nor control_errors. Here the history cannot be written (a folder in its place)."""
    observed = tmp_path / "s.jsonl"
    observed.write_text("".join(to_line(s) + "\n" for s in samples(60)))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)

    def after(history_path: Path) -> dict[str, Any]:
        monkeypatch.setenv("CHAOS_SRE_HISTORY", str(history_path))
        run = ControlRun(SLO, SETTINGS, "http://127.0.0.1:1", observed, record=record())
        monkeypatch.setattr(hooks, "_run", run)
        state: dict[str, Any] = {"status": "completed", "experiment": {"title": "t"}}
        hooks.after_experiment_control({}, state=state)
        return dict(state["extensions"][0])

    clean = after(tmp_path / "history.sqlite")
    assert clean["verdict"]["status"] == "passed" and clean["control_errors"] == []
    (tmp_path / "folder").mkdir()
    broken = after(tmp_path / "folder")
    assert broken["verdict"]["status"] == "failed"
    assert broken["control_errors"][0].startswith("record_history: ValidationError: cannot "
                                                  "open the run history")
    assert broken["verdict"]["reasons"][0].startswith("the chaos-sre control failed: "
                                                      "record_history")


def test_a_verdict_judged_again_reads_the_samples_once(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """When the history row fails the verdict is judged again: a torn sample line is one missing
    piece of evidence, named once (a second read of the file named it twice)."""
    observed = tmp_path / "s.jsonl"
    observed.write_text("".join(to_line(s) + "\n" for s in samples(60)) + "torn{\n")
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    (tmp_path / "folder").mkdir()
    monkeypatch.setenv("CHAOS_SRE_HISTORY", str(tmp_path / "folder"))
    monkeypatch.setattr(hooks, "_run", ControlRun(SLO, SETTINGS, "http://127.0.0.1:1", observed,
                                                  record=record()))
    state: dict[str, Any] = {"status": "completed", "experiment": {"title": "t"}}
    hooks.after_experiment_control({}, state=state)
    reasons = state["extensions"][0]["verdict"]["reasons"]
    assert reasons[0].startswith("the chaos-sre control failed: record_history")
    assert sum("line(s) of the samples file are not samples" in r for r in reasons) == 1, reasons


def test_a_run_refused_before_it_started_says_why() -> None:
    journal = {"status": "interrupted", "experiment": {"title": "t"},
               "extensions": [not_judged("chaos-sre control: chaos run --dry=pause is refused")]}
    verdict = journal_verdict(journal)
    assert verdict.status is Status.INCONCLUSIVE and exit_code(verdict) == 1
    assert "not judged, nothing was sampled or injected: chaos-sre control: chaos run " \
           "--dry=pause is refused" in verdict.reasons


# The flags table of docs/slo.md, every cell.

def flags_table() -> list[tuple[str, dict[str, str], str]]:
    """(flag, {experiment: answer}, why) of each row between the table's markers."""
    text = (ROOT / "docs" / "slo.md").read_text()
    table = text.split("<!-- flags: start -->")[1].split("<!-- flags: end -->")[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in table.strip().splitlines()]
    header, body = rows[0], rows[2:]
    assert header[1:-1] == list(SHIPPED), header
    return [(row[0], dict(zip(SHIPPED, row[1:-1], strict=True)), row[-1]) for row in body]


def applied(flag: str, experiment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                             dict[str, str]]:
    """(experiment, chaos run parameters, environment) under ``flag`` as the table writes it."""
    experiment = copy.deepcopy(experiment)
    flag = flag.strip("`")
    if flag == "(none)":
        return experiment, {}, {}
    if flag.startswith("runtime."):
        path, value = flag.split(": ")
        _, kind, _ = path.split(".")
        experiment.setdefault("runtime", {})[kind] = {"strategy": value}
        return experiment, {}, {}
    if "=" in flag and not flag.startswith("--"):
        name, value = flag.split("=")
        return experiment, {}, {name: value}
    match = re.fullmatch(r"--([a-z-]+)(?:[= ](\S+))?", flag)
    assert match, flag
    name, value = match.group(1).replace("-", "_"), match.group(2)
    if name == "dry":
        experiment["dry"] = value
    return experiment, {name: True if value is None else value}, {}


def answer(experiment: dict[str, Any], cli: dict[str, Any], env: dict[str, str],
           monkeypatch: pytest.MonkeyPatch) -> str:
    """What the control does with this run: refused, dry-run or judged."""
    flags = effective_flags(experiment, cli)
    try:
        check_flags(flags)
    except ValidationError:
        return "refused"
    if flags.dry_run:
        return "dry-run"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    configuration = resolved_configuration(experiment.get("configuration"), "experiment")
    for action in experiment["method"]:
        provider = action.get("provider") or {}
        if action["type"] == "action" and is_fault_module(str(provider.get("module"))) \
                and resolved((provider.get("arguments") or {}).get("dry_run", False),
                                configuration, "dry_run") is True:
            return "dry-run"
    return "judged"


def expected_verdict(cell: str, reason: str) -> tuple[Status, int]:
    """The verdict and `chaos run` exit code of an answer, by the control's own code."""
    if cell == "refused":
        journal = {"status": "interrupted", "experiment": {}, "extensions": [not_judged(reason)]}
        verdict = journal_verdict(journal)
    elif cell == "dry-run":
        verdict = parse(verdict_of(record(fault_started_at=None, dry_run=True,
                                          effects_checked=None)))
    else:
        verdict = parse(verdict_of(record()))
    return verdict.status, exit_code(verdict)


@pytest.mark.parametrize("flag,cells,why", flags_table(), ids=[row[0] for row in flags_table()])
def test_every_flag_with_every_shipped_method_gets_the_tabled_answer(
        flag: str, cells: dict[str, str], why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAOS_SRE_DRY_RUN", raising=False)
    assert why
    for name, cell in cells.items():
        document = json.loads((ROOT / "experiments" / f"{name}.json").read_text())
        experiment, cli, env = applied(flag, document)
        with monkeypatch.context() as scoped:
            assert answer(experiment, cli, env, scoped) == cell, (flag, name)
        reason = ""
        if cell == "refused":
            with pytest.raises(ValidationError) as refused:
                check_flags(effective_flags(experiment, cli))
            reason = str(refused.value)
            assert "\n" not in reason and ("refused" in reason or "must always play" in reason)
            if flag.startswith("`runtime."):  # the experiment's own: validate refuses it too
                with pytest.raises(ValidationError, match="refused|must always play"):
                    validate_experiment(experiment, f"{name}.json")
        status, code = expected_verdict(cell, reason)
        assert code == (0 if cell == "judged" else 1)
        assert status is {"refused": Status.INCONCLUSIVE, "dry-run": Status.DRY_RUN,
                          "judged": Status.PASSED}[cell]


def test_the_flags_resolve_as_chaos_run_does() -> None:
    """`chaos run`: the CLI over the experiment's runtime over the settings file's; an
    experiment runtime without a strategy means Chaos Toolkit's default (chaostoolkit
    commands/run.py)."""
    always = {"runtime": {"rollbacks": {"strategy": "always"}}}
    settings = {"runtime": {"rollbacks": {"strategy": "always"},
                            "hypothesis": {"strategy": "skip"}}}
    assert effective_flags({}, None, settings).rollback_strategy == "always"
    assert effective_flags({}, None, settings).hypothesis_strategy == "skip"
    assert effective_flags(always, None, settings).hypothesis_strategy == "default"
    flags = effective_flags(always, {"rollback_strategy": "default"})
    assert (flags.rollback_strategy, flags.rollback_from) == ("default",
                                                             "chaos run --rollback-strategy")
    with pytest.raises(ValidationError, match="got 'default' from chaos run --rollback-strategy"):
        check_flags(flags)
    check_flags(effective_flags(always, {"rollback_strategy": None}))


def test_an_unexpected_error_while_configuring_is_a_refused_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chaos Toolkit drops a control whose configure_control raises (chaoslib.control logs it
    at debug level): the run would go on unjudged and exit 0. The control now keeps the error
    and the run's verdict names it."""
    monkeypatch.setattr(hooks, "_run", None)
    hooks.configure_control(slo=str(ROOT / "probes" / "web.yaml"), target_url="http://127.0.0.1:1",
                            budget_allowance=0.01, rto_seconds=30,
                            experiment=["not", "an", "experiment"])
    state: dict[str, Any] = {"status": "interrupted", "experiment": {"title": "t"}}
    hooks.after_experiment_control({}, state=state)
    verdict = journal_verdict(state)
    assert verdict.status is Status.INCONCLUSIVE
    assert verdict.reasons[0].startswith("not judged, nothing was sampled or injected: the control "
                                         "failed: configure_control: AttributeError")


def test_a_game_day_refuses_an_experiment_nothing_would_judge(tmp_path: Path) -> None:
    from chaos_sre.gameday.runner import preflight

    document = json.loads((ROOT / "experiments" / "az-outage.json").read_text())
    document.pop("controls")
    path = tmp_path / "unjudged.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValidationError, match=r"unjudged \(unjudged.json\) declares no chaos-sre "
                                              "control: a game day judges each run by its SLO"):
        preflight(Plan(tmp_path / "plan.yaml", "t", [Step("unjudged", path)]))
