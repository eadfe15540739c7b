"""A canary secret never leaks: for every experiment, credentials from the environment and secrets
declared in the experiment (from the environment and inline) appear in no journal, sample file,
ledger, log or console output of the run.

The runs are the session's shared runs of the shipped experiments (conftest.shipped_runs), made
with canary credentials in the environment and canary secrets declared in every experiment."""

from pathlib import Path

import pytest
from conftest import (
    CANARIES,
    CANARY_INLINE,
    CANARY_SECRET,
    CANARY_TOKEN,
    ROOT,
    SHIPPED_EXPERIMENTS,
    RunningLab,
    ShippedRuns,
    extension,
    run_chaos,
    with_secrets,
)


@pytest.mark.e2e
@pytest.mark.parametrize("name", SHIPPED_EXPERIMENTS)
def test_no_secret_reaches_any_file_or_output_of_a_run(shipped_runs: ShippedRuns, name: str) -> None:
    journal = shipped_runs.journal(name)
    assert extension(journal)["verdict"]["passed"] is True, extension(journal)["verdict"]
    assert journal["run"], "the method ran"
    assert journal["experiment"]["secrets"]["notify"]["webhook_token"] != CANARY_INLINE
    files = shipped_runs.files(name)
    suffixes = {"".join(p.suffixes[-2:]) if p.name.endswith(".console.log") else p.suffix
                for p in files}
    assert suffixes >= {".json", ".jsonl", ".log", ".console.log"}  # journal, samples, log, console
    if name != "lab-smoke":  # its change is chaostoolkit-aws's own, outside chaos-sre's ledger
        assert any(p.parent == shipped_runs.ledgers for p in files), files
    for path in files:
        text = path.read_text(errors="replace")
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {path.name}"
    for canary in CANARIES:
        assert canary not in shipped_runs.stdout + shipped_runs.stderr


def test_a_run_that_never_starts_keeps_its_secrets_out_of_the_journal(start_lab,
                                                                      tmp_path: Path) -> None:
    lab: RunningLab = start_lab()
    document = with_secrets(ROOT / "experiments" / "ecs-scale-to-zero.json")
    env = {"AWS_SECRET_ACCESS_KEY": CANARY_SECRET, "AWS_SESSION_TOKEN": CANARY_TOKEN,
           "CHAOS_SRE_RTO_SECONDS": "-1",
           "CHAOS_SRE_SLO": str(ROOT / "probes" / "web.yaml")}
    status, journal, stderr = run_chaos(lab, document, tmp_path / "run", env=env)
    assert status != 0 and "argument rto_seconds: expected more than 0, got -1" in stderr
    text = (tmp_path / "run" / "journal.json").read_text()
    assert CANARY_INLINE not in text and "***redacted by chaos-sre***" in text
    assert journal["experiment"]["secrets"]["aws"]["aws_secret_access_key"] == {
        "type": "env", "key": "AWS_SECRET_ACCESS_KEY"}
