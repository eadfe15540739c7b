"""`chaos-sre iam policy`: the least-privilege policy from what faults, probes and the control
declare; the docs generated from it are current, and every AWS call each shipped experiment made
in the lab is one its declarations grant."""

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED_EXPERIMENTS, ShippedRuns, run_cli

from chaos_sre import iam

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))


def test_the_runner_policy_and_the_safety_table_are_generated_and_current() -> None:
    """docs/scheduling/aws/runner-policy.json and docs/safety.md's table come from the
    declarations (`make docs`); a declaration changed without regenerating them fails here."""
    policy, notes = iam.render(EXPERIMENTS, region="eu-west-1", output="json")
    assert json.loads(policy) == json.loads(
        (ROOT / "docs" / "scheduling" / "aws" / "runner-policy.json").read_text())
    assert notes == ["chaosaws.ec2.actions.terminate_instances declares no permissions: grant "
                     "what it calls yourself"]
    table, _ = iam.render(EXPERIMENTS, region=None, output="markdown")
    page = (ROOT / "docs" / "safety.md").read_text()
    assert iam.with_table(page, table) == page


def test_mutations_are_scoped_and_limited_to_the_region() -> None:
    document = json.loads(iam.render(EXPERIMENTS, region="eu-west-1", output="json")[0])
    reads, *mutations = document["Statement"]
    assert reads["Resource"] == "*" and all(
        a.split(":")[1].startswith(("Describe", "Get", "List")) for a in reads["Action"])
    scoped = {action: statement for statement in mutations for action in statement["Action"]}
    assert scoped["ec2:TerminateInstances"]["Resource"] == "arn:aws:ec2:*:*:instance/*"
    assert scoped["ec2:DeleteNetworkAcl"]["Condition"]["StringEquals"][
        "aws:ResourceTag/chaos-sre:fault"] == "deny-all"
    assert all(s["Condition"]["StringEquals"]["aws:RequestedRegion"] == "eu-west-1"
               for s in mutations)


def test_the_command_prints_one_experiments_policy_and_refuses_bad_files(tmp_path: Path) -> None:
    result = run_cli("iam", "policy", str(ROOT / "experiments" / "dynamodb-throttle.json"),
                     lab_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    actions = {a for s in json.loads(result.stdout)["Statement"] for a in s["Action"]}
    assert "dynamodb:UpdateTable" in actions and not any(a.startswith("ec2:") for a in actions)
    missing = run_cli("iam", "policy", str(tmp_path / "nope.json"), lab_dir=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")
    assert len(missing.stderr.strip().splitlines()) == 1


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


@pytest.mark.e2e
@pytest.mark.xdist_group("shipped-runs")
@pytest.mark.parametrize("name", [n for n in SHIPPED_EXPERIMENTS if n != "lab-smoke"])
def test_each_experiments_recorded_calls_are_within_its_declared_policy(
        name: str, shipped_runs: ShippedRuns) -> None:
    """The lab records every call with its time; the calls made while this experiment ran
    (its journal's start to end) are all granted by `iam policy` for this experiment alone."""
    journal = shipped_runs.journal(name)
    start, end = _epoch(journal["start"]), _epoch(journal["end"])
    made = {action for at, action in shipped_runs.api_calls() if start <= at <= end}
    assert made, "the run made no AWS call the lab saw"
    policy = json.loads(iam.render([ROOT / "experiments" / f"{name}.json"], region=None,
                                   output="json")[0])
    granted = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert made <= granted, sorted(made - granted)
