"""A third-party package (tests/plugins: a Lambda fault and the lab service that plays Lambda's
concurrency API) installed by its entry points alone, with no edit to chaos-sre: discovery,
validation, the IAM policy, dry run, the ledger and `rollback --last`, the effect check, the
lab's IAM evaluation, call log, mutation ground truth and `lab status`, the account snapshot and
the refused-mutation test all cover it (docs/contributing.md walks through the package)."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import test_refused_mutations as refused_mutations
from conftest import (
    CHAOS,
    CLI,
    ROOT,
    RUNNER_KEY,
    RunningLab,
    account_snapshot,
    extension,
    run_chaos,
    run_cli,
    runner_policy,
)

from chaos_sre.faults import registry
from chaos_sre.lab.core.services import lab_services

PLUGINS = ROOT / "tests" / "plugins"
EXPERIMENT = PLUGINS / "lambda-throttle.json"
QUICK = {"CHAOS_SRE_HOLD_SECONDS": "10"}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The package installed, as a distribution's metadata on the path makes it: for this
    process and every process it starts (the labs, `chaos run`, `chaos-sre`)."""
    shipped = dict(registry._FAULTS)

    def forget() -> None:
        for name in [m for m in sys.modules if m.split(".")[0] == "lambda_sample"]:
            del sys.modules[name]
        for cached in (lab_services, registry.fault_modules, runner_policy):
            cached.cache_clear()
        registry._FAULTS.clear()
        registry._FAULTS.update(shipped)

    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("PYTHONPATH", str(PLUGINS))
    forget()
    yield {**os.environ}
    forget()


def test_discovery_validation_and_the_policy_find_the_plugin(installed: dict[str, str],
                                                            tmp_path: Path) -> None:
    discovered = tmp_path / "discovery.json"
    result = subprocess.run([CHAOS, "discover", "--no-system-info", "--no-install",
                             "--discovery-path", str(discovered), "chaos-sre"],
                            env=installed, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    action = next(a for a in json.loads(discovered.read_text())["activities"]
                  if (a["mod"], a["name"]) == ("lambda_sample.faults", "throttle_function"))
    assert [a["name"] for a in action["arguments"]] == [
        "function_name", "reserved_concurrency_limit", "dry_run", "configuration", "secrets"]
    assert action["doc"].startswith("Throttle a Lambda function")

    assert run_cli("validate", "--offline", str(EXPERIMENT), lab_dir=tmp_path).returncode == 0
    broken = json.loads(EXPERIMENT.read_text())
    broken["method"][0]["provider"]["arguments"]["reserved_concurrency_limit"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(broken))
    refused = run_cli("validate", "--offline", str(tmp_path / "bad.json"), lab_dir=tmp_path)
    assert (refused.returncode, refused.stderr.strip()) == (2, (
        f"error: {tmp_path / 'bad.json'}: method[0] (throttle-function) argument "
        "reserved_concurrency_limit: expected at least 0, got -1"))

    policy = run_cli("iam", "policy", str(EXPERIMENT), lab_dir=tmp_path)
    assert policy.returncode == 0, policy.stderr
    statements = json.loads(policy.stdout)["Statement"]
    granted = {(action, json.dumps(s["Resource"])) for s in statements for action in s["Action"]}
    assert ("lambda:PutFunctionConcurrency", '"arn:aws:lambda:*:*:function:*"') in granted
    assert ("lambda:DeleteFunctionConcurrency", '"arn:aws:lambda:*:*:function:*"') in granted
    assert {"lambda:GetFunction", "lambda:GetFunctionConcurrency"} <= {a for a, _ in granted}


@pytest.mark.e2e
def test_the_plugin_runs_is_judged_rolled_back_and_seen_by_the_lab(
        installed: dict[str, str], start_lab, tmp_path: Path) -> None:
    """Under the runner policy generated for its experiment (the lab's IAM evaluation), the
    fault's dry run changes nothing, its run PASSES with its effect verified, the lab's call log,
    ground truth and timeline see it, `lab status` and the account snapshot show it, and a
    crashed run is restored by `rollback --last`."""
    lab: RunningLab = start_lab()
    status = run_cli("lab", "status", lab_dir=lab.lab_dir)
    assert "lambda function worker: reserved concurrency none" in status.stdout, status.stdout
    before = account_snapshot(lab)
    assert before["lambda_sample"] is None

    dry = subprocess.run(
        [sys.executable, "-c", "import json; from lambda_sample.faults import throttle_function; "
         "print(json.dumps(throttle_function(function_name='worker', dry_run=True)))"],
        env={**installed, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "dry")},
        capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(dry.stdout.splitlines()[-1]) == {
        "dry_run": True, "function_name": "worker", "before": None, "after": 0}, dry.stderr
    assert lab.timeline()["faults"] == [] and account_snapshot(lab) == before
    assert not (tmp_path / "dry").exists()  # a dry run writes no ledger

    code, journal, stderr = run_chaos(lab, EXPERIMENT, tmp_path / "run", env=QUICK)
    verdict = extension(journal)["verdict"]
    assert code == 0 and verdict["status"] == "passed", (verdict, stderr[-2000:])
    assert extension(journal)["targets"] == ["lambda:function/worker: throttle-function"]
    # the sample's lab service saw its fault, and so did chaos-sre's own Lambda service
    assert sorted(f["kind"] for f in lab.timeline()["faults"]) == [
        "lambda-function-throttled", "lambda-reserved-concurrency-lowered"]
    mutations = requests.get(f"{lab.target_url}/__lab/mutations", timeout=5).json()
    assert [(m["action"], m["resources"]) for m in mutations] == [
        ("lambda:PutFunctionConcurrency", ["lambda:function/worker"]),
        ("lambda:DeleteFunctionConcurrency", ["lambda:function/worker"])]
    evaluated = {r["action"]: r for r in lab.iam_requests(RUNNER_KEY)}
    assert evaluated["lambda:PutFunctionConcurrency"]["allowed"] is True
    assert evaluated["lambda:PutFunctionConcurrency"]["resources"] == [{
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:worker",
        "tags": {"app": "worker", "env": "staging"}}]
    assert account_snapshot(lab) == before

    crashed = subprocess.run(
        [sys.executable, "-c", "import os; from lambda_sample.faults import throttle_function; "
         "throttle_function(function_name='worker', reserved_concurrency_limit=2); os._exit(9)"],
        env={**installed, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "crash")},
        capture_output=True, text=True, timeout=120, check=False)
    assert crashed.returncode == 9, crashed.stderr
    assert account_snapshot(lab)["lambda_sample"] == 2
    restored = subprocess.run([*CLI, "rollback", "--last"], capture_output=True, text=True,
                              env={**installed, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "crash")},
                              timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr
    assert "Lambda function worker: reserved concurrency removed, as before" in restored.stdout
    assert account_snapshot(lab) == before


@pytest.mark.e2e
def test_the_refused_mutation_test_covers_the_plugin(installed: dict[str, str], start_lab,
                                                     tmp_path: Path) -> None:
    refused_mutations.test_a_refused_mutation_is_a_fault_that_never_ran("lambda_sample", start_lab,
                                                                        tmp_path)
