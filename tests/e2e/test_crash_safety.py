"""Crashes and interruptions: SIGKILL after every mutating step of every experiment, then one
`chaos-sre rollback --last`, leaves every touched resource as it was before the run; SIGTERM and
Ctrl-C run the rollbacks; a second Ctrl-C during them leaves the rest pending, not lost."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHAOS,
    CLI,
    MUTATING_STEPS,
    ROOT,
    RunningLab,
    account_snapshot,
    sampled_lightly,
    wait_until,
)

KILL_POINTS = [(name, step) for name, steps in MUTATING_STEPS.items()
               for step in range(1, steps + 1)]
"""(experiment, k): kill the runner right after its k-th mutation reached AWS - every mutating
step of every experiment (tests/e2e/test_api_faults.py checks the step counts on complete runs)."""


def settles_to(lab: RunningLab, before: dict[str, Any], *, timeout: float = 90,
               hold: float = 5.0) -> bool:
    """Whether the account returns to ``before`` and stays so for ``hold`` seconds.

    Holding matters: right after a kill, a terminated instance still looks healthy to its target
    group for a couple of health checks, so a single look could pass before the outage shows.
    """
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if account_snapshot(lab) == before:
            since = since if since is not None else time.monotonic()
            if time.monotonic() - since >= hold:
                return True
        else:
            since = None
        time.sleep(0.5)
    return False


def entries(ledgers: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(ledgers.glob("*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


def start_run(lab: RunningLab, experiment: str, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    """`chaos run` in its own process group (so it and its sampler can be signalled together)."""
    out = open(tmp_path / "console.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path",
         str(tmp_path / "journal.json"), str(sampled_lightly(experiment, tmp_path))],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"),
             "CHAOS_SRE_HOLD_SECONDS": "300", **env},
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def rollback_last(lab: RunningLab, ledgers: Path) -> subprocess.CompletedProcess[str]:
    """`chaos-sre rollback --last` from a shell that has credentials but not the lab's endpoint."""
    shell = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    shell.update(CHAOS_SRE_LEDGER_DIR=str(ledgers), AWS_ACCESS_KEY_ID="lab",
                 AWS_SECRET_ACCESS_KEY="lab")
    return subprocess.run([*CLI, "rollback", "--last"], env=shell, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.e2e
@pytest.mark.parametrize("experiment, step", KILL_POINTS)
def test_sigkill_after_each_mutating_step_then_one_rollback_restores_everything(
        start_lab, tmp_path: Path, experiment: str, step: int) -> None:
    lab = start_lab()
    before = account_snapshot(lab)
    ledgers = tmp_path / "ledgers"
    runner = start_run(lab, experiment, tmp_path)
    try:
        assert wait_until(
            lambda: sum(e["kind"] == "done" for e in entries(ledgers)) >= step or runner.poll() is not None,
            timeout=90, interval=0.01)
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
    recorded = entries(ledgers)
    done = sum(e["kind"] == "done" for e in recorded)
    assert done >= step, f"the run ended before its mutating step {step} ({done} done)"
    assert not any(e["kind"] == "reverted" for e in recorded)  # killed before any rollback

    result = rollback_last(lab, ledgers)
    assert result.returncode == 0, result.stderr
    assert settles_to(lab, before), (before, account_snapshot(lab))
    again = rollback_last(lab, ledgers)
    assert again.returncode == 0 and "nothing to restore" in again.stdout
    assert account_snapshot(lab) == before


@pytest.mark.e2e
def test_sigterm_during_the_method_runs_the_rollbacks(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    before = account_snapshot(lab)
    runner = start_run(lab, "ecs-scale-to-zero", tmp_path)
    ledgers = tmp_path / "ledgers"
    assert wait_until(lambda: any(e["kind"] == "done" for e in entries(ledgers)), timeout=60,
                      interval=0.05)
    os.killpg(runner.pid, signal.SIGTERM)
    started = time.monotonic()
    assert runner.wait(timeout=120) != 0
    assert time.monotonic() - started < 30  # did not sit out the 30 s hold
    assert account_snapshot(lab) == before
    assert [e["kind"] for e in entries(ledgers)][-1] == "reverted"
    journal = json.loads((tmp_path / "journal.json").read_text())
    reasons = next(x for x in journal["extensions"] if x["name"] == "chaos_sre")["verdict"]["reasons"]
    assert any(r.startswith("the run was interrupted (Ctrl-C or SIGTERM)") for r in reasons), reasons


@pytest.mark.e2e
def test_a_second_ctrl_c_during_the_rollback_leaves_the_rest_pending(start_lab,
                                                                     tmp_path: Path) -> None:
    lab = start_lab()
    before = account_snapshot(lab)
    runner = start_run(lab, "ecs-scale-to-zero", tmp_path)
    ledgers, console = tmp_path / "ledgers", tmp_path / "console.log"
    assert wait_until(lambda: any(e["kind"] == "done" for e in entries(ledgers)), timeout=60,
                      interval=0.05)
    os.killpg(runner.pid, signal.SIGINT)
    assert wait_until(lambda: "Rollback: restore-service" in console.read_text(), timeout=30,
                      interval=0.02)
    os.killpg(runner.pid, signal.SIGINT)
    assert runner.wait(timeout=60) != 0
    recorded = entries(ledgers)
    intents = [e for e in recorded if e["kind"] == "intent"]
    assert len(intents) == 1  # the change is on record, whether or not its inverse finished
    result = rollback_last(lab, ledgers)
    assert result.returncode == 0, result.stderr
    assert account_snapshot(lab) == before


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interruption_inside_an_action_skips_its_pause_and_rolls_back_at_once(
        shared_lab: RunningLab, tmp_path: Path, signum: int) -> None:
    """Chaos Toolkit sleeps an activity's ``pauses.after`` in a ``finally`` (chaostoolkit-lib
    1.44, chaoslib/activity.py ``execute_activity``: its ``interrupted`` flag is never set), so an
    interruption that lands inside the action itself, not its pause, used to wait out the whole
    pause with the fault in place. The action here blocks for 3 s, its pause is 600 AWS seconds
    (60 s at the lab's time scale 0.1); the signal comes 1 s into the action: the rollback must
    start within a few seconds, not after 60."""
    from test_control import experiment  # the control's test experiment shape

    blocking = {"type": "action", "name": "slow-action", "pauses": {"after": 600},
                "provider": {"type": "process", "path": "sleep", "arguments": "3"}}
    marker = tmp_path / "rolled-back"
    rollback = {"type": "action", "name": "note-rollback",
                "provider": {"type": "process", "path": "touch", "arguments": str(marker)}}
    document = experiment([blocking], rollbacks=[rollback])
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(document))
    out = open(tmp_path / "console.log", "w")  # noqa: SIM115 - closed with the process
    runner = subprocess.Popen(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path",
         str(tmp_path / "journal.json"), str(path)],
        env={**os.environ, **shared_lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")},
        cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    console = tmp_path / "console.log"
    assert wait_until(lambda: "Action: slow-action" in console.read_text(), timeout=60,
                      interval=0.02), console.read_text()
    time.sleep(1)
    os.killpg(runner.pid, signum)
    interrupted_at = time.monotonic()
    assert wait_until(marker.exists, timeout=30, interval=0.05), console.read_text()
    assert time.monotonic() - interrupted_at < 10, "the rollback waited out the action's pause"
    assert runner.wait(timeout=60) != 0
    assert "Pausing after activity for 60.0s" in console.read_text()  # 600 AWS s, played
