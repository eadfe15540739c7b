"""The pytest plugin: `pytest --chaos-experiments PATH` runs each experiment as one test."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, RunningLab, ShippedRuns, inner_pytest_environment

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]


def inner_pytest(*args: str, env: dict[str, str] | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTEST, *args], cwd=ROOT, capture_output=True, text=True,
                          env=inner_pytest_environment(**(env or {})), timeout=timeout,
                          check=False)


def shipped_experiments() -> list[str]:
    return sorted(p.stem for p in (ROOT / "experiments").glob("*.json"))


@pytest.mark.e2e
def test_every_experiment_is_one_passing_test_under_the_lab(shipped_runs: ShippedRuns) -> None:
    """`chaos-sre lab exec -- pytest --chaos-experiments DIR`: the session's shared run of every
    shipped experiment (conftest.shipped_runs) is this very command, once per lab it is spread
    over: each collects its folder's experiments and passes them all."""
    assert shipped_runs.returncode == 0, shipped_runs.stdout[-4000:] + shipped_runs.stderr[-2000:]
    names = shipped_experiments()
    assert sorted(n for group in shipped_runs.groups for n in group) == names
    for name in names:
        assert re.search(rf"/{re.escape(name)}\.json::{re.escape(name)} PASSED", shipped_runs.stdout)
    for group in shipped_runs.groups:
        assert f"collected {len(group)} items" in shipped_runs.stdout
        assert re.search(rf"=+ {len(group)} passed in ", shipped_runs.stdout)
    assert (shipped_runs.experiments / "gameday.yaml").is_file()
    assert "gameday" not in shipped_runs.stdout  # the plan in the folder is not an experiment
    assert sorted(p.stem for p in shipped_runs.journals.glob("*.json")) == names
    for name in names:  # beside each journal: its Chaos Toolkit log and console output
        assert "Experiment ended with status" in (shipped_runs.journals / f"{name}.log").read_text()
        assert "chaos-sre: verdict PASSED" in (
            shipped_runs.journals / f"{name}.console.log").read_text()


@pytest.mark.e2e
def test_a_failed_verdict_fails_the_test_with_the_run_summary(start_lab, tmp_path: Path) -> None:
    lab: RunningLab = start_lab("--profile", "fragile")
    result = inner_pytest("--chaos-experiments", "experiments/ecs-scale-to-zero.json",
                          "--chaos-journal-dir", str(tmp_path / "journals"),
                          env={**lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")},
                          timeout=300)
    assert result.returncode == 1, result.stdout[-4000:]
    assert "experiments/ecs-scale-to-zero.json: verdict FAILED" in result.stdout
    for line in ("outcome:    FAILED - stopped during the method", "budget:     spent",
                 f"journal:    {tmp_path / 'journals' / 'ecs-scale-to-zero.json'}"):
        assert line in result.stdout, result.stdout[-3000:]
    assert "1 failed" in result.stdout.splitlines()[-1]
    assert "Traceback" not in result.stdout


def test_experiments_join_named_test_paths_and_bad_paths_are_refused() -> None:
    both = inner_pytest("--chaos-experiments", "experiments/az-outage.json",
                        "tests/unit/test_slo_math.py", "--collect-only", "-q")
    assert both.returncode == 0, both.stdout + both.stderr
    lines = both.stdout.splitlines()
    assert "experiments/az-outage.json::az-outage" in lines
    assert any(line.startswith("tests/unit/test_slo_math.py::") for line in lines)
    missing = inner_pytest("--chaos-experiments", "experiments/nope.json", "--collect-only")
    assert missing.returncode == 4
    assert "--chaos-experiments: no file or folder at experiments/nope.json" in missing.stderr


@pytest.mark.parametrize("option", [[], ["--chaos-journal-dir", "elsewhere"]])
def test_without_the_option_the_plugin_collects_nothing_extra(option: list[str]) -> None:
    plain = inner_pytest("tests/unit/test_slo_math.py", "--collect-only", "-q", *option)
    assert plain.returncode == 0, plain.stderr
    assert not any("experiments/" in line for line in plain.stdout.splitlines())
    assert any(line.startswith("tests/unit/test_slo_math.py::") for line in plain.stdout.splitlines())
