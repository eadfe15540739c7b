"""Game days: plan checking, a full game day under the lab, the stop rule, SIGTERM."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import CLI, ROOT, RunningLab, lab_for_module, run_cli, then_save_lab_json, wait_until

from chaos_sre.gameday import load_plan

EXPERIMENTS = ROOT / "experiments"


def gameday(*args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "gameday", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout, check=False)


def write_plan(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def results_folder(output: Path) -> Path:
    folders = sorted(output.iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def test_sample_plan_covers_every_shipped_experiment() -> None:
    plan = load_plan(EXPERIMENTS / "gameday.yaml")
    shipped = {p.resolve() for p in EXPERIMENTS.glob("*.json")
               if "method" in json.loads(p.read_text())}
    assert {step.path for step in plan.steps} == shipped and len(plan.steps) == len(shipped)
    assert plan.stop_on_failure and plan.max_budget_spent and plan.cool_down_seconds > 0
    checked = gameday("--check", str(EXPERIMENTS / "gameday.yaml"))
    assert checked.returncode == 0, checked.stderr
    assert f"valid game-day plan, {len(shipped)} experiment(s)" in checked.stdout


@pytest.mark.parametrize("document, message", [
    ({"experiments": []}, "experiments: expected at least 1 item(s), got []"),
    ({"experiments": [{"name": "x"}]}, "experiments[0].path is required"),
    ({"experiments": ["nope.json"]}, "experiments[0].path: no experiment file at"),
    ({"experiments": ["az-outage.json"], "stop": {"max_budget_spent": 2}},
     "stop.max_budget_spent: expected at most 1, got 2"),
    ({"experiments": ["az-outage.json"], "stop": {"on_failure": "yes"}},
     "stop.on_failure: expected true or false, got 'yes'"),
    ({"experiments": ["az-outage.json"], "stop": {"on_fail": True}},
     "stop: unknown key 'on_fail' (known: on_failure, max_budget_spent)"),
    ({"experiments": ["az-outage.json"], "cool_down_seconds": -1},
     "cool_down_seconds: expected at least 0, got -1"),
    ({"experiments": ["az-outage.json"], "cool_down_seconds": "soon"},
     "cool_down_seconds: expected a number, got 'soon'"),
    ({"experiments": ["az-outage.json"], "experimants": []},
     "unknown key 'experimants' (known: title, cool_down_seconds"),
    ({"experiments": [{"path": "az-outage.json", "configuration": {"rto_seconds": "soon"}}]},
     "az-outage (az-outage.json)"),
    ({"experiments": [{"path": "az-outage.json", "environment": {"CHAOS_SRE_HEALTHY_TARGETS": "many"}}]},
     "az-outage (az-outage.json)"),
    ({"experiments": ["az-outage.json"], "engine": "fsi"}, "engine: expected 'chaos' or 'fis', got 'fsi'"),
    ({"experiments": [{"path": "az-outage.json", "engine": "lambda"}]}, "experiments[0].engine: "),
    ([1, 2], "plan.yaml: expected a mapping, got [1, 2]"),
])
def test_plan_mistakes_are_one_line_before_anything_runs(tmp_path: Path, document: object,
                                                         message: str) -> None:
    plan = tmp_path / "plan.yaml"
    absolute = json.dumps(document).replace('"az-outage.json"', json.dumps(str(EXPERIMENTS / "az-outage.json")))
    plan.write_text(yaml.safe_dump(json.loads(absolute)))
    for args in (["--check", str(plan)], [str(plan), "--output", str(tmp_path / "out")]):
        result = gameday(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # refused before the first experiment


def test_plan_file_problems_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("experiments: [\n")
    for path, message in ((tmp_path / "missing.yaml", "no game-day plan at"),
                          (broken, "not YAML at line")):
        result = gameday(str(path))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def workflow_steps() -> dict[str, str]:
    """The `run:` commands of .github/workflows/gameday.yml, by step name."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gameday.yml").read_text())
    return {step["name"]: step["run"] for step in workflow["jobs"]["gameday"]["steps"]
            if "run" in step}


@pytest.mark.e2e
def test_workflow_game_day_runs_under_the_lab(tmp_path: Path) -> None:
    """The scheduled workflow's own commands: game day under `lab exec`, summary, regressions.

    The workflow's plan is swapped for two of its experiments (the smoke test and the AZ
    outage): every shipped experiment already runs back to back in one lab in the session's
    shared runs (conftest.shipped_runs), and test_sample_plan_covers_every_shipped_experiment
    checks the shipped plan itself. Every AWS action the game day made is in the runner's IAM
    policy (docs/scheduling/aws/runner-policy.json): the lab counts callers' API calls.
    """
    shipped = yaml.safe_load((EXPERIMENTS / "gameday.yaml").read_text())
    plan_path = write_plan(tmp_path / "gameday.yaml", {
        **shipped, "experiments": [str(EXPERIMENTS / name)
                                   for name in ("lab-smoke.json", "az-outage.json")]})
    steps = workflow_steps()
    local = lambda command: command.replace(".venv/bin/", f"{Path(sys.executable).parent}/") \
        .replace("runs/gameday", str(tmp_path / "gameday")) \
        .replace("experiments/gameday.yaml", str(plan_path))  # noqa: E731
    lab_part, game_day = local(steps["Game day against the lab"]).split(" -- ", 1)
    assert lab_part.endswith("chaos-sre lab exec") and str(plan_path) in game_day
    inner = tmp_path / "inner.sh"
    inner.write_text(then_save_lab_json(game_day, ("/__lab/status", tmp_path / "status.json")) + "\n")
    env = {**os.environ, "CHAOS_SRE_LAB_DIR": str(tmp_path / "lab"),
           "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"),
           "CHAOS_SRE_HISTORY": str(tmp_path / "history.sqlite"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = subprocess.run(f"{lab_part} --api-port 0 --endpoint-port 0 -- bash {inner}",
                            shell=True, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            check=False, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    plan = load_plan(plan_path).steps
    for index, step in enumerate(plan, start=1):
        assert f"[{index}/{len(plan)}] {step.name}: PASSED in " in result.stdout
    assert result.stdout.count(f"cooling down for {shipped['cool_down_seconds']} s") == len(plan) - 1
    assert f"game day PASSED: {len(plan)} of {len(plan)} planned run(s) passed " \
           f"({len(plan)} passed)" in result.stdout
    folder = results_folder(tmp_path / "gameday")
    assert len(list(folder.glob("0*.json"))) == len(plan)
    suite = ET.parse(folder / "report.junit.xml").getroot()
    assert suite.get("tests") == str(len(plan)) and suite.get("failures") == "0"
    page = (folder / "report.html").read_text()
    assert page.count('<figure class="timeline">') == len(plan)
    with sqlite3.connect(tmp_path / "history.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*), SUM(passed) FROM runs").fetchone() == \
            (len(plan), len(plan))

    calls = json.loads((tmp_path / "status.json").read_text())["api_calls"]
    policy = json.loads((ROOT / "docs/scheduling/aws/runner-policy.json").read_text())
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert "ec2:TerminateInstances" in calls and set(calls) <= granted, sorted(set(calls) - granted)

    for name in ("Summary", "Fail on a regression"):
        step = subprocess.run(local(steps[name]), shell=True, cwd=ROOT, capture_output=True,
                              text=True, timeout=60, check=False, env=env)
        assert step.returncode == 0, (name, step.stdout, step.stderr)
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith(f"### ✅ PASSED: chaos-sre game day: {len(plan)} of {len(plan)} "
                              "planned run(s) passed")


@pytest.fixture(scope="module")
def fragile_lab(tmp_path_factory: pytest.TempPathFactory):
    with lab_for_module(tmp_path_factory, "--profile", "fragile") as lab:
        yield lab


@pytest.mark.e2e
def test_stop_rule_stops_at_the_first_failed_verdict(fragile_lab: RunningLab, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", {
        "title": "stop on failure", "cool_down_seconds": 0, "stop": {"on_failure": True},
        "experiments": [str(EXPERIMENTS / "ecs-scale-to-zero.json"),
                        str(EXPERIMENTS / "az-outage.json")]})
    result = gameday(str(plan), "--output", str(tmp_path / "out"),
                     env={**fragile_lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")},
                     timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "[1/2] ecs-scale-to-zero: FAILED in " in result.stdout
    assert "stopping the game day: The web tier survives its ECS api service being scaled to " \
           "zero did not pass: FAILED (stopped during the method" in result.stdout
    assert "[2/2]" not in result.stdout and "not run: az-outage" in result.stdout
    folder = results_folder(tmp_path / "out")
    assert not list(folder.glob("02-*"))
    summary = (folder / "report.md").read_text()
    assert summary.startswith("### ❌ FAILED: stop on failure: 0 of 2 planned run(s) passed")
    assert "stopped early:" in summary and "| az-outage | NOT RUN |" in summary
    suite = ET.parse(folder / "report.junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    skipped = suite.find("testsuite/testcase[@name='az-outage']/skipped")
    assert skipped is not None and skipped.get("message", "").startswith(
        "the game day stopped: The web tier survives")
    assert fragile_lab.client("ecs").describe_services(
        cluster="staging", services=["api"])["services"][0]["desiredCount"] == 1


@pytest.mark.e2e
def test_stop_rule_stops_when_the_summed_budget_reaches_the_limit(tmp_path_factory: pytest.TempPathFactory,
                                                                  tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", {
        "title": "budget limit", "cool_down_seconds": 0,
        "stop": {"on_failure": False, "max_budget_spent": 0.00001},
        "experiments": [str(EXPERIMENTS / "az-outage.json"), str(EXPERIMENTS / "lab-smoke.json")]})
    with lab_for_module(tmp_path_factory) as lab:
        result = gameday(str(plan), "--output", str(tmp_path / "out"),
                         env={**lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")},
                         timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "[1/2] az-outage: PASSED in " in result.stdout
    assert "stopping the game day: the summed budget spent" in result.stdout
    assert "reached the limit of 0.001 %" in result.stdout and "[2/2]" not in result.stdout
    assert "game day FAILED: 1 of 2 planned run(s) passed (1 passed)" in result.stdout


@pytest.mark.e2e
def test_sigterm_rolls_the_running_experiment_back_and_ends_the_game_day(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", {
        "title": "terminated", "cool_down_seconds": 0,
        "experiments": [{"path": str(EXPERIMENTS / "ecs-scale-to-zero.json"),
                         "environment": {"CHAOS_SRE_HOLD_SECONDS": "600"}},
                        str(EXPERIMENTS / "az-outage.json")]})
    ledgers = tmp_path / "ledgers"
    with lab_for_module(tmp_path_factory) as lab:
        process = subprocess.Popen(
            [*CLI, "gameday", str(plan), "--output", str(tmp_path / "out")], cwd=ROOT,
            env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(ledgers)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            ecs = lab.client("ecs")
            assert wait_until(lambda: ecs.describe_services(
                cluster="staging", services=["api"])["services"][0]["desiredCount"] == 0, 90)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        assert time.monotonic() - started < 45  # the 60 s hold was cut short
        assert process.returncode == 1, output[-3000:]
        assert "[1/2] ecs-scale-to-zero: FAILED" in output and "[2/2]" not in output
        assert "not run: az-outage" in output
        service = ecs.describe_services(cluster="staging", services=["api"])["services"][0]
        assert service["desiredCount"] == 3
    rolled_back = run_cli("rollback", "--last", lab_dir=tmp_path,
                          env={"CHAOS_SRE_LEDGER_DIR": str(ledgers)})
    assert "nothing to restore" in rolled_back.stdout, rolled_back.stdout + rolled_back.stderr
