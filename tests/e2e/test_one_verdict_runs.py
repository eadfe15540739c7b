"""One verdict through `chaos run` against the lab: dry runs and refused flags, as a user types them.

Nothing here changes the lab (a dry run plans, a refused run stops before the sampler starts),
so the module shares one lab; each run's journal, log and history are its own.
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAOS, ROOT, RUNNER_KEY, RunningLab, extension

from chaos_sre.journal import outcome

pytestmark = pytest.mark.e2e


def chaos_run(lab: RunningLab, tmp_path: Path, experiment: str, *flags: str,
              env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """`chaos run FLAGS experiments/EXPERIMENT.json` from the repository root, as the runner."""
    journal = tmp_path / "journal.json"
    result = subprocess.run(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", *flags, "--journal-path",
         str(journal), str(ROOT / "experiments" / f"{experiment}.json")],
        env={**os.environ, **lab.env, "AWS_ACCESS_KEY_ID": RUNNER_KEY,
             "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"),
             "CHAOS_SRE_HISTORY": str(tmp_path / "history.sqlite"), **(env or {})},
        capture_output=True, text=True, timeout=180, check=False, cwd=ROOT)
    return result.returncode, json.loads(journal.read_text()), result.stderr


def unchanged(lab: RunningLab, tmp_path: Path) -> None:
    """Nothing was injected, nothing recorded for rollback, no history row."""
    assert lab.timeline()["faults"] == []
    assert len(lab.web_instances("running")) == 6
    assert not (tmp_path / "history.sqlite").exists()


def test_chaos_run_dry_actions_is_a_dry_run_with_its_plan(shared_lab: RunningLab,
                                                          tmp_path: Path) -> None:
    """Case 2: at 18db4a1 `chaos run --dry=actions` ended `status: passed` and exit 0."""
    status, journal, stderr = chaos_run(shared_lab, tmp_path, "az-outage", "--dry=actions")
    verdict = extension(journal)["verdict"]
    assert status == 1 and verdict["status"] == "dry-run" and verdict["passed"] is False, verdict
    assert "chaos-sre dry run: would terminate 2 instance(s) in us-east-1a" in stderr
    assert "dry run: targets resolved, no fault was injected" in verdict["reasons"]
    plan = extension(journal)["dry_run"]["plan"]
    assert [step["activity"] for step in plan] == ["terminate-az-instances"]
    assert len(plan[0]["plan"]["instance_ids"]) == 2
    assert "chaos-sre: verdict DRY-RUN" in stderr
    assert journal["status"] == "failed" and outcome(journal).startswith("DRY-RUN - ")
    unchanged(shared_lab, tmp_path)


def test_the_dry_run_setting_of_a_shipped_experiment_is_a_dry_run(shared_lab: RunningLab,
                                                                   tmp_path: Path) -> None:
    """Case 1: at 18db4a1 `CHAOS_SRE_DRY_RUN=true` (the README's first step against staging)
    gave PASSED, exit 0 and a history row recovering in about 0 s."""
    status, journal, _ = chaos_run(shared_lab, tmp_path, "rds-failover",
                                   env={"CHAOS_SRE_DRY_RUN": "true"})
    ext = extension(journal)
    assert status == 1 and ext["verdict"]["status"] == "dry-run", ext["verdict"]
    assert ext["fault_started_at"] is None and ext["recovery"]["recover_seconds"] is None
    assert ext["dry_run"]["plan"][0]["plan"]["kind"] == "aurora-failover"
    assert shared_lab.client("rds").describe_db_clusters(DBClusterIdentifier="orders")[
        "DBClusters"][0]["Status"] == "available"
    unchanged(shared_lab, tmp_path)


@pytest.mark.parametrize("flags,refusal", [
    (("--dry=probes",), "chaos run --dry=probes is refused: it injects the real fault but runs no probe"),
    (("--dry=pause",), "chaos run --dry=pause is refused: it skips the pauses"),
    (("--hypothesis-strategy", "before-method-only"),
     "hypothesis strategy 'before-method-only' (from chaos run --hypothesis-strategy) is refused"),
    (("--rollback-strategy", "default"),
     "got 'default' from chaos run --rollback-strategy"),
], ids=["dry-probes", "dry-pause", "before-method-only", "rollback-default"])
def test_a_flag_the_verdict_cannot_trust_is_refused_before_anything_runs(
        shared_lab: RunningLab, tmp_path: Path, flags: tuple[str, ...], refusal: str) -> None:
    """Cases 3 and 4: at 18db4a1 `--dry=probes` injected the real fault and judged nothing,
    `--dry=pause` left it live for milliseconds, `before-method-only` never judged the steady
    state after the fault, and `--rollback-strategy default` overrode the experiment's
    `always` so a chaos-sre stop left the fault in place."""
    status, journal, stderr = chaos_run(shared_lab, tmp_path, "az-outage", *flags)
    verdict = extension(journal)["verdict"]
    assert status == 1 and verdict["status"] == "inconclusive", verdict
    assert verdict["reasons"][0].startswith("not judged, nothing was sampled or injected: ")
    assert refusal in verdict["reasons"][0] and refusal in stderr
    assert outcome(journal).startswith("INCONCLUSIVE - not judged")
    assert not (tmp_path / "journal.samples.jsonl").exists()
    assert journal.get("run") in (None, [])
    unchanged(shared_lab, tmp_path)
