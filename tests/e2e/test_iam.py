"""`chaos-sre iam policy`: the least-privilege policy from what faults, probes and the control
declare; the docs generated from it are current, every AWS call each shipped experiment made in
the lab is one its declarations grant, the shipped runs were held to the generated policy alone
(the lab evaluates it: chaos_sre.lab.core.iam_evaluation), and each of its statements is needed
by a call those runs made."""

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from conftest import (
    CANARY_KEY_ID,
    ROOT,
    RUNNER_KEY,
    SHIPPED_EXPERIMENTS,
    ShippedRuns,
    denied_without_each_statement,
    extension,
    run_cli,
    runner_policy,
)

from chaos_sre import iam
from chaos_sre.lab.core.mutations import is_mutation

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))


def test_the_runner_policy_and_the_safety_table_are_generated_and_current() -> None:
    """docs/scheduling/aws/runner-policy.json and docs/safety.md's table come from the
    declarations (`make docs`); a declaration changed without regenerating them fails here."""
    policy, notes = iam.render(EXPERIMENTS, region="eu-west-1", output="json",
                               target_tags={"env": "staging"})
    assert json.loads(policy) == json.loads(
        (ROOT / "docs" / "scheduling" / "aws" / "runner-policy.json").read_text())
    assert notes == []
    table, _ = iam.render(EXPERIMENTS, region=None, output="markdown")
    page = (ROOT / "docs" / "safety.md").read_text()
    assert iam.with_table(page, table) == page


def test_mutations_are_scoped_and_limited_to_the_region() -> None:
    document = json.loads(iam.render(EXPERIMENTS, region="eu-west-1", output="json",
                                     target_tags={"env": "staging"})[0])
    reads, *mutations = document["Statement"]
    assert reads["Resource"] == "*" and all(
        a.split(":")[1].startswith(("Describe", "Get", "List", "Simulate")) for a in reads["Action"])
    scoped = {action: statement for statement in mutations for action in statement["Action"]}
    assert scoped["ec2:TerminateInstances"]["Resource"] == "arn:aws:ec2:*:*:instance/*"
    assert scoped["ec2:DeleteNetworkAcl"]["Condition"]["StringEquals"][
        "aws:ResourceTag/chaos-sre:fault"] == "deny-all"
    assert all(s["Condition"]["StringEquals"]["aws:RequestedRegion"] == "eu-west-1"
               for s in mutations)
    for target_action in ("ec2:TerminateInstances", "dynamodb:UpdateTable", "ecs:UpdateService",
                          "rds:FailoverDBCluster", "autoscaling:UpdateAutoScalingGroup"):
        assert scoped[target_action]["Condition"]["StringEquals"]["aws:ResourceTag/env"] == "staging"
    tagging = [s for s in mutations if "ec2:CreateTags" in s["Action"]]
    assert tagging and all(s["Action"] == ["ec2:CreateTags"] and s["Condition"]["StringEquals"][
        "ec2:CreateAction"] == "CreateNetworkAcl" for s in tagging), "tags only what it creates"
    # Issue 36 item 9: no mutating action on "*"; RegisterScalableTarget only for the ECS
    # service's count and DynamoDB capacity (its condition keys service-namespace and
    # scalable-dimension, Service Authorization Reference, Application Auto Scaling). The zonal
    # shift actions take no resource ARN: IAM scopes them by the load balancer's ARN in
    # arc-zonal-shift:ResourceIdentifier ("IAM and permissions for zonal shift"), so their "*"
    # carries that condition
    by_identifier = [s for s in mutations if s["Resource"] == "*"
                     and "arc-zonal-shift:ResourceIdentifier" in s["Condition"].get("StringLike", {})]
    assert [s["Action"] for s in mutations if s["Resource"] == "*" and s not in by_identifier] == []
    assert [s["Action"] for s in by_identifier] == [
        ["arc-zonal-shift:CancelZonalShift", "arc-zonal-shift:StartZonalShift"]]
    assert by_identifier[0]["Condition"]["StringLike"] == {
        "arc-zonal-shift:ResourceIdentifier": "arn:aws:elasticloadbalancing:*:*:loadbalancer/*"}
    registering = [s["Condition"] for s in mutations
                   if "application-autoscaling:RegisterScalableTarget" in s["Action"]]
    assert sorted((c["StringEquals"]["application-autoscaling:service-namespace"],
                   {**c["StringEquals"], **c.get("StringLike", {})}[
                       "application-autoscaling:scalable-dimension"]) for c in registering) == [
        ("dynamodb", "dynamodb:*CapacityUnits"), ("ecs", "ecs:service:DesiredCount")]


def test_target_tags_must_be_key_value_pairs(tmp_path: Path) -> None:
    assert iam.parse_target_tags(["env=staging", " team = sre "]) == {"env": "staging", "team": "sre"}
    result = run_cli("iam", "policy", "--target-tag", "staging", str(EXPERIMENTS[0]), lab_dir=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: --target-tag wants KEY=VALUE")


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
    made = {action for at, action in shipped_runs.api_calls(name) if start <= at <= end}
    assert made, "the run made no AWS call the lab saw"
    policy = json.loads(iam.render([ROOT / "experiments" / f"{name}.json"], region=None,
                                   output="json")[0])
    granted = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert made <= granted, sorted(made - granted)


@pytest.mark.e2e
@pytest.mark.xdist_group("shipped-runs")
@pytest.mark.parametrize("name", [n for n in SHIPPED_EXPERIMENTS if n != "lab-smoke"])
def test_each_run_counts_its_aws_calls_in_its_journal(name: str, shipped_runs: ShippedRuns) -> None:
    """Issue 36 item 10: every run's journal counts the AWS requests it made, by action
    (``aws_calls``), against the account's shared API rate limits: each is an action the lab saw
    the run make, and the mutations the lab counted in the run's time are the journal's."""
    journal = shipped_runs.journal(name)
    counted = extension(journal)["aws_calls"]
    start, end = _epoch(journal["start"]), _epoch(journal["end"])
    seen = Counter(action for at, action in shipped_runs.api_calls(name) if start <= at <= end)
    assert counted and set(counted) >= {a for a in seen if is_mutation(a.split(":", 1)[1])}
    assert {a: n for a, n in counted.items() if is_mutation(a.split(":", 1)[1])} == {
        a: n for a, n in seen.items() if is_mutation(a.split(":", 1)[1])}
    assert counted.get("iam:SimulatePrincipalPolicy", 0) >= 1  # the permission check


PROVEN_ELSEWHERE = {
    ("rds:RebootDBInstance",): "test_rds_faults.py::test_experiment_on_a_multi_az_instance "
                               "(rds-failover.json on a Multi-AZ instance: CHAOS_SRE_DB_INSTANCE)",
}
"""Statements the shipped runs with their default configuration do not use, and the test whose
run under the runner policy shows each is needed."""


@pytest.mark.e2e
@pytest.mark.xdist_group("shipped-runs")
def test_the_shipped_runs_were_held_to_the_generated_policy_alone(shipped_runs: ShippedRuns) -> None:
    """Every shipped experiment ran as a caller the lab held to `chaos-sre iam policy
    --target-tag env=staging` and nothing else, and nothing it asked for was denied."""
    policies, evaluated = shipped_runs.iam()
    assert policies == {CANARY_KEY_ID: runner_policy()}
    assert shipped_runs.returncode == 0, shipped_runs.stdout[-3000:]
    requests = evaluated[CANARY_KEY_ID]
    assert [r for r in requests if not r["allowed"]] == []
    mutated = {r["action"] for r in requests if r["resources"][0]["arn"] != "*"}
    assert {"ec2:TerminateInstances", "ec2:CreateNetworkAcl", "ec2:ReplaceNetworkAclAssociation",
            "rds:FailoverDBCluster", "dynamodb:UpdateTable", "ecs:UpdateService"} <= mutated
    assert all(r["resources"][0]["tags"].get("env") == "staging" for r in requests
               if r["action"] in ("ec2:TerminateInstances", "dynamodb:UpdateTable",
                                  "ecs:UpdateService", "rds:FailoverDBCluster"))
    shifts = [r for r in requests if r["action"] in ("arc-zonal-shift:StartZonalShift",
                                                     "arc-zonal-shift:CancelZonalShift")]
    assert sorted({r["action"] for r in shifts}) == ["arc-zonal-shift:CancelZonalShift",
                                                      "arc-zonal-shift:StartZonalShift"]
    assert all(":loadbalancer/app/web/" in r["context"]["arc-zonal-shift:ResourceIdentifier"]
               for r in shifts)


@pytest.mark.e2e
@pytest.mark.xdist_group("shipped-runs")
def test_removing_any_statement_denies_a_call_the_shipped_runs_made(shipped_runs: ShippedRuns) -> None:
    """Each statement of the generated policy is needed: replayed against the policy without it,
    some IAM request the shipped runs made (action, resources and their tags, request tags) is
    denied - the call the lab would have answered with AccessDenied. The runs that show such a
    denial reported are in test_refused_mutations.py; what only other arguments need (stop mode's
    StartInstances and kms:CreateGrant) is not in this policy at all."""
    policy = runner_policy()
    needed = denied_without_each_statement(policy, shipped_runs.iam()[1][CANARY_KEY_ID])
    for statement in policy["Statement"]:
        if tuple(statement["Action"]) in PROVEN_ELSEWHERE:
            assert needed[statement["Sid"]] == [], statement
            continue
        denied = needed[statement["Sid"]]
        assert denied, f"{statement['Sid']} ({', '.join(statement['Action'])}) is not needed"
        assert set(denied) <= set(statement["Action"]) or statement["Resource"] == "*", denied


def test_the_runner_may_register_only_the_scalable_targets_its_faults_change(start_lab) -> None:
    """Signed as the runner, held to the generated policy: RegisterScalableTarget of another
    namespace (an Aurora cluster's replicas) or another dimension is refused, as IAM evaluates the
    action's condition keys (Service Authorization Reference, "Actions, resources, and condition
    keys for AWS Application Auto Scaling"); the ECS service's count is allowed. The lab evaluates
    those keys since this test's commit; the policy before it granted the action on *."""
    lab = start_lab()
    runner = lab.client("application-autoscaling", retries=False, access_key=RUNNER_KEY)
    for namespace, resource, dimension in (
            ("rds", "cluster:orders", "rds:cluster:ReadReplicaCount"),
            ("ecs", "service/staging/api", "ecs:service:DesiredCount")):
        attempt = {"ServiceNamespace": namespace, "ResourceId": resource,
                   "ScalableDimension": dimension, "MinCapacity": 0, "MaxCapacity": 9}
        if namespace == "rds":
            with pytest.raises(runner.exceptions.ClientError, match="AccessDenied"):
                runner.register_scalable_target(**attempt)
        else:
            runner.register_scalable_target(**attempt)


def test_the_runner_may_not_touch_untagged_resources_or_rewrite_tags(start_lab) -> None:
    """Signed as the runner, held to the generated policy (as a staging account's role would
    hold it): terminating an instance without the target tag env=staging is UnauthorizedOperation
    (EC2 API Reference, "Unauthorized operation") and changes nothing; tagging it so is refused
    too, so the runner cannot make a resource a target; a tagged instance is terminated."""
    lab = start_lab()
    ec2, runner = lab.client("ec2"), lab.client("ec2", retries=False, access_key=RUNNER_KEY)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["web-us-east-1b"]}])[
        "Subnets"][0]["SubnetId"]

    def launch(tags: dict[str, str]) -> str:
        return str(ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet,
                                     TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )["Instances"][0]["InstanceId"])

    untagged, tagged = launch({"app": "batch"}), launch({"app": "batch", "env": "staging"})
    for attempt in (lambda: runner.terminate_instances(InstanceIds=[untagged]),
                    lambda: runner.terminate_instances(InstanceIds=[untagged, tagged]),
                    lambda: runner.create_tags(Resources=[untagged],
                                               Tags=[{"Key": "env", "Value": "staging"}])):
        with pytest.raises(runner.exceptions.ClientError, match="UnauthorizedOperation"):
            attempt()
    states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances(
        InstanceIds=[untagged, tagged])["Reservations"] for i in r["Instances"]}
    assert set(states.values()) <= {"pending", "running"}, states
    assert runner.terminate_instances(InstanceIds=[tagged])["TerminatingInstances"]
    assert runner.describe_instances(InstanceIds=[untagged])["Reservations"]
