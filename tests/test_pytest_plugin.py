"""The pytest plugin: `pytest --chaos-experiments PATH` runs each experiment as one test."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLI, ROOT, RunningLab

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]


def inner_pytest(*args: str, env: dict[str, str] | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTEST, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, check=False)


def shipped_experiments() -> list[str]:
    return sorted(p.stem for p in (ROOT / "experiments").glob("*.json"))


def test_every_experiment_is_one_passing_test_under_the_lab(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--", *PYTEST,
         "--chaos-experiments", "experiments/", "--chaos-journal-dir", str(tmp_path / "journals"),
         "-v"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "CHAOS_SRE_LAB_DIR": str(tmp_path / "lab"),
             "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    names = shipped_experiments()
    for name in names:
        assert f"experiments/{name}.json::{name} PASSED" in result.stdout
    assert f"collected {len(names)} items" in result.stdout
    assert f"{len(names)} passed" in result.stdout.splitlines()[-1]
    assert "gameday" not in result.stdout  # the plan in experiments/ is not an experiment
    assert sorted(p.stem for p in (tmp_path / "journals").glob("*.json")) == names


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
                        "tests/test_slo_math.py", "--collect-only", "-q")
    assert both.returncode == 0, both.stdout + both.stderr
    lines = both.stdout.splitlines()
    assert "experiments/az-outage.json::az-outage" in lines
    assert any(line.startswith("tests/test_slo_math.py::") for line in lines)
    missing = inner_pytest("--chaos-experiments", "experiments/nope.json", "--collect-only")
    assert missing.returncode == 4
    assert "--chaos-experiments: no file or folder at experiments/nope.json" in missing.stderr


@pytest.mark.parametrize("option", [[], ["--chaos-journal-dir", "elsewhere"]])
def test_without_the_option_the_plugin_collects_nothing_extra(option: list[str]) -> None:
    plain = inner_pytest("tests/test_slo_math.py", "--collect-only", "-q", *option)
    assert plain.returncode == 0, plain.stderr
    assert not any("experiments/" in line for line in plain.stdout.splitlines())
    assert any(line.startswith("tests/test_slo_math.py::") for line in plain.stdout.splitlines())
