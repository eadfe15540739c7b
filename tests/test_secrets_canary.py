"""A canary secret never leaks: for every experiment, credentials from the environment and secrets
declared in the experiment (from the environment and inline) appear in no journal, sample file,
ledger, log or console output of the run."""

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, RunningLab, extension, run_chaos

CANARY_KEY_ID = "AKIACANARYKEYID00042"
CANARY_SECRET = "canary-secret-access-key-9f2c71"
CANARY_TOKEN = "canary-session-token-41d8e0"
CANARY_INLINE = "canary-inline-webhook-token-77ab12"
CANARIES = (CANARY_SECRET, CANARY_TOKEN, CANARY_INLINE)


def with_secrets(experiment: Path) -> dict[str, Any]:
    """The shipped experiment, its chaos-sre activities given AWS credentials through `secrets`."""
    document = json.loads(experiment.read_text())
    document["secrets"] = {
        "aws": {
            "aws_access_key_id": {"type": "env", "key": "AWS_ACCESS_KEY_ID"},
            "aws_secret_access_key": {"type": "env", "key": "AWS_SECRET_ACCESS_KEY"},
            "aws_session_token": {"type": "env", "key": "AWS_SESSION_TOKEN"},
        },
        "notify": {"webhook_token": CANARY_INLINE},
    }
    activities = [*document.get("steady-state-hypothesis", {}).get("probes", []),
                  *document["method"], *document.get("rollbacks", [])]
    for activity in activities:
        provider = activity.get("provider", {})
        if provider.get("type") == "python":
            activity["secrets"] = ["aws", "notify"]
    for control in document.get("controls", []):
        arguments = control["provider"].get("arguments", {})
        if isinstance(arguments.get("slo"), str) and not arguments["slo"].startswith("${"):
            arguments["slo"] = str(ROOT / arguments["slo"])
    return document


@pytest.mark.parametrize("name", ["az-outage", "az-blackhole", "rds-failover", "dynamodb-throttle",
                                  "ecs-scale-to-zero", "lab-smoke"])
def test_no_secret_reaches_any_file_or_output_of_a_run(start_lab, tmp_path: Path, name: str) -> None:
    lab: RunningLab = start_lab()
    document = with_secrets(ROOT / "experiments" / f"{name}.json")
    run_dir = tmp_path / "run"
    env = {"AWS_ACCESS_KEY_ID": CANARY_KEY_ID, "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
           "AWS_SESSION_TOKEN": CANARY_TOKEN, "CHAOS_SRE_SLO": str(ROOT / "probes" / _slo(name))}
    status, journal, stderr = run_chaos(lab, document, run_dir, env=env)
    assert status == 0, stderr[-3000:]
    assert extension(journal)["verdict"]["passed"] is True
    assert journal["run"], "the method ran"
    files = [p for p in run_dir.rglob("*") if p.is_file() and p.name != "experiment.json"]
    assert {p.suffix for p in files} >= {".json", ".jsonl", ".log"}  # journal, samples+ledger, log
    for path in files:
        text = path.read_text(errors="replace")
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {path.name}"
    for canary in CANARIES:
        assert canary not in stderr


def _slo(name: str) -> str:
    return {"rds-failover": "checkout.yaml", "dynamodb-throttle": "session.yaml"}.get(name, "web.yaml")


def test_a_run_that_never_starts_keeps_its_secrets_out_of_the_journal(start_lab,
                                                                      tmp_path: Path) -> None:
    lab: RunningLab = start_lab()
    document = with_secrets(ROOT / "experiments" / "ecs-scale-to-zero.json")
    env = {"AWS_SECRET_ACCESS_KEY": CANARY_SECRET, "AWS_SESSION_TOKEN": CANARY_TOKEN,
           "CHAOS_SRE_RTO_SECONDS": "-1",
           "CHAOS_SRE_SLO": str(ROOT / "probes" / "web.yaml")}
    status, journal, stderr = run_chaos(lab, document, tmp_path / "run", env=env)
    assert status != 0 and "rto_seconds must be in" in stderr
    text = (tmp_path / "run" / "journal.json").read_text()
    assert CANARY_INLINE not in text and "***redacted by chaos-sre***" in text
    assert journal["experiment"]["secrets"]["aws"]["aws_secret_access_key"] == {
        "type": "env", "key": "AWS_SECRET_ACCESS_KEY"}
