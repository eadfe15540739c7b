"""`chaos-sre rollback`: a run killed with SIGKILL mid-fault is restored from its ledger by another
process, in the run's own region and endpoint; repeating it is harmless; bad input is one line."""

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAOS, CLI, ROOT, RunningLab, run_cli, wait_until

EXPERIMENT = ROOT / "experiments" / "ecs-scale-to-zero.json"


def ecs_settings(lab: RunningLab) -> dict[str, Any]:
    service = lab.client("ecs").describe_services(cluster="staging", services=["api"])["services"][0]
    targets = lab.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/staging/api"])["ScalableTargets"]
    return {"desired": service["desiredCount"],
            "scaling": [(t["MinCapacity"], t["MaxCapacity"], t["SuspendedState"]) for t in targets]}


def mutation_done(ledgers: Path) -> bool:
    for path in ledgers.glob("*.jsonl"):
        if any(json.loads(line)["kind"] == "done" for line in path.read_text().splitlines()):
            return True
    return False


@pytest.mark.e2e
def test_a_killed_run_is_restored_by_rollback_last(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    before = ecs_settings(lab)
    ledgers = tmp_path / "ledgers"
    runner = subprocess.Popen(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path",
         str(tmp_path / "journal.json"), str(EXPERIMENT)],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(ledgers),
             "CHAOS_SRE_HOLD_SECONDS": "600"},
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: mutation_done(ledgers), timeout=60, interval=0.1)
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
    assert ecs_settings(lab)["desired"] == 0  # killed mid-fault: nothing was rolled back

    # another shell, without the lab's endpoint: the ledger says where the run's changes went
    shell = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    shell["CHAOS_SRE_LEDGER_DIR"] = str(ledgers)
    result = subprocess.run([*CLI, "rollback", "--last"], env=shell, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "restored: ECS service staging/api restored to desired count 3" in result.stdout
    assert "1 change(s) restored" in result.stdout
    assert ecs_settings(lab) == before

    again = subprocess.run([*CLI, "rollback", "--last"], env=shell, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    assert "nothing to restore: no recorded change is pending" in again.stdout
    assert ecs_settings(lab) == before


def test_rollback_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"kind": "context"}\nnot json\n')
    not_entries = tmp_path / "list.jsonl"
    not_entries.write_text("[1, 2]\n")
    cases = [
        ((), "say which run to roll back: --last or --ledger PATH"),
        (("--last", "--ledger", str(torn)), "say which run to roll back"),
        (("--last",), f"no run ledger in {tmp_path / 'empty'}"),
        (("--ledger", str(tmp_path / "missing.jsonl")), "no ledger at"),
        (("--ledger", str(torn)), "line 2 is not a ledger entry"),
        (("--ledger", str(not_entries)), "line 1 is not a ledger entry (no kind)"),
    ]
    for args, message in cases:
        result = run_cli("rollback", *args, lab_dir=tmp_path / "lab",
                         env={"CHAOS_SRE_LEDGER_DIR": str(tmp_path / "empty")})
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_an_inverse_is_repeated_after_a_transient_aws_error_and_never_after_a_refusal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restore must not give up on one bad second of the API: with the lab's
    --api-fault-rate 0.2, an inverse's wait makes dozens of calls, and botocore's standard retry
    mode stops retrying once its retry quota is spent (https://docs.aws.amazon.com/sdkref/latest/
    guide/feature-retry-behavior.html), so a throttling or 5xx answer can reach the inverse.
    Inverses restore recorded state, so running one again is safe; a refusal is not retried."""
    from chaos_sre.errors import AWSError, RollbackError
    from chaos_sre.safety import ledger as ledger_module

    monkeypatch.setattr(ledger_module, "INVERSE_BACKOFF_SECONDS", 0.01)
    answers: dict[str, list[Exception | str]] = {
        "flaky": [AWSError("x failed: ServiceUnavailable", code="ServiceUnavailable"),
                  AWSError("x failed: Throttling", code="Throttling"), "restored flaky"],
        "refused": [AWSError("x failed: AccessDenied", code="AccessDenied"), "never reached"],
    }
    calls: list[str] = []

    def answer(op: dict[str, Any], where: Any, secrets: Any) -> str:
        calls.append(op["name"])
        outcome = answers[op["name"]].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setitem(ledger_module._INVERSES, "test_answer", answer)
    ledger = ledger_module.Ledger(tmp_path / "run-test.jsonl")
    for name in ("refused", "flaky"):
        ledger.done(ledger.record(f"test:{name}", "change", {}, {"op": "test_answer", "name": name}))
    with pytest.raises(RollbackError, match="test:refused: x failed: AccessDenied") as raised:
        ledger_module.replay(ledger, {})
    assert "restored 1 other change" in str(raised.value)
    assert calls == ["flaky", "flaky", "flaky", "refused"]
    assert [e["resource"] for e in ledger.pending()] == ["test:refused"]
