"""The run summary `make demo` prints from a journal."""

import json
from pathlib import Path

import pytest

from chaos_sre.errors import ValidationError
from chaos_sre.journal import main, summary


def _journal(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "journal.json"
    path.write_text(json.dumps({"status": "completed", "deviated": False, "duration": 12.34,
                                "experiment": {"title": "AZ outage"}, **extra}))
    return path


def test_summary_with_the_verdict(tmp_path: Path) -> None:
    extension = {"name": "chaos_sre",
                 "verdict": {"passed": False, "reasons": ["recovery took 40.00 s, more than the RTO of 30 s"]},
                 "recovery": {"detect_seconds": 0.25, "recover_seconds": 40.0, "rto_seconds": 30},
                 "budget": {"consumed_fraction": 0.0021, "allowed_fraction": 0.005},
                 "samples_path": "journal.samples.jsonl"}
    text = summary(_journal(tmp_path, extensions=[extension]))
    assert "outcome:    FAILED - recovery took 40.00 s, more than the RTO of 30 s" in text
    assert "detected after 0.25 s, recovered after 40.00 s (RTO 30 s)" in text
    assert "spent 0.21 % of the SLO window's error budget (allowed 0.5 %)" in text
    assert "duration:   12.3 s (status completed)" in text
    assert "restore:" not in text
    extension["recovery"].update(restore_to_healthy_seconds=3.97, restore_rto_seconds=10)
    text = summary(_journal(tmp_path, extensions=[extension]))
    assert "restore:    healthy 3.97 s after the restore (restore RTO 10 s)" in text
    assert "time scale:" not in text  # against AWS (or an older journal): nothing to say
    text = summary(_journal(tmp_path, extensions=[{**extension, "time_scale": 0.1}]))
    assert "duration:   123.4 s (12.3 s on the lab's wall clock, status completed)" in text
    assert "time scale: 0.1 (the lab's): every time above is in AWS seconds" in text


def test_summary_without_the_control(tmp_path: Path) -> None:
    """A journal no chaos-sre control judged is never PASSED, even with no hypothesis."""
    assert "outcome:    INCONCLUSIVE - the run had no chaos-sre control: nothing judged it by " \
        "an SLO" in summary(_journal(tmp_path))


def test_bad_journals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValidationError, match="no journal at"):
        summary(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main([str(broken)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main([]) == 2
