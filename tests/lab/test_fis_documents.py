"""``chaos-sre fis export`` of the faults FIS has no action for: generated SSM Automation
documents with the fault's own calls and values, from its dry run against the lab."""

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, RunningLab, throttle_in_units

from chaos_sre.errors import ValidationError
from chaos_sre.fis.export import export

ACCOUNT = "123456789012"


@pytest.fixture
def lab_endpoint(shared_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> RunningLab:
    """The experiments read the lab's endpoint from the environment, as under chaos run."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", shared_lab.env["AWS_ENDPOINT_URL"])
    return shared_lab


def calls(content: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(step name, API, the call's own inputs) of every step of a document."""
    return [(s["name"], s["inputs"].get("Api", s["action"]),
             {k: v for k, v in s["inputs"].items() if k not in ("Service", "Api")})
            for s in content["mainSteps"]]


def test_ecs_scale_to_zero_runs_as_an_automation_that_gives_the_count_and_scaling_back(
        lab_endpoint: RunningLab) -> None:
    """FIS has no action that sets an ECS service's desired count: the export generates a
    document making the fault's calls - the scalable target held (minimum 0, scaling suspended),
    the count 0, the hold, the count back (3), its tasks running, the target exactly as it was -
    and the template starts it with aws:ssm:start-automation-execution."""
    exported = export(ROOT / "experiments" / "ecs-scale-to-zero.json", account_id=ACCOUNT)
    [action] = exported.template["actions"].values()
    assert action["actionId"] == "aws:ssm:start-automation-execution"
    name = "chaos-sre-ecs-scale-to-zero-set-desired-count"
    assert action["parameters"]["documentArn"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:document/{name}"
    assert json.loads(action["parameters"]["documentParameters"]) == {
        "AutomationAssumeRole": f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-ssm-ecs-scale-to-zero",
        "Duration": "PT1M40S"}
    [document] = exported.documents
    assert document.name == name
    target = {"ServiceNamespace": "ecs", "ResourceId": "service/staging/api",
              "ScalableDimension": "ecs:service:DesiredCount"}
    suspended = {k: True for k in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                                   "ScheduledScalingSuspended")}
    assert calls(document.content) == [
        ("HoldScaling", "RegisterScalableTarget",
         {**target, "MinCapacity": 0, "MaxCapacity": 9, "SuspendedState": suspended}),
        ("SetDesiredCount", "UpdateService", {"cluster": "staging", "service": "api", "desiredCount": 0}),
        ("Hold", "aws:sleep", {"Duration": "{{ Duration }}"}),
        ("UndoSetDesiredCount", "UpdateService", {"cluster": "staging", "service": "api",
                                                  "desiredCount": 3}),
        ("UndoSetDesiredCountSettled", "DescribeServices", {
            "cluster": "staging", "services": ["api"], "PropertySelector": "$.services[0].runningCount",
            "DesiredValues": ["3"]}),
        ("UndoHoldScaling", "RegisterScalableTarget",
         {**target, "MinCapacity": 3, "MaxCapacity": 9,
          "SuspendedState": {k: False for k in suspended}})]
    fis_role = {tuple(s["Action"]): s["Resource"] for s in exported.role_policy()["Statement"]}
    assert set(fis_role[("ssm:StartAutomationExecution",)]) == {
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:document/{name}",
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:automation-definition/{name}:*"}
    assert fis_role[("iam:PassRole",)] == f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-ssm-ecs-scale-to-zero"
    role = exported.automation_role
    assert role is not None
    granted = {a for s in role["Statement"] for a in s["Action"]}
    assert {"ecs:UpdateService", "application-autoscaling:RegisterScalableTarget"} <= granted


def test_dynamodb_throttle_runs_as_an_automation_with_the_planned_capacity(
        lab_endpoint: RunningLab, tmp_path: Path) -> None:
    """The throttle's document holds the table's auto scaling (its read and write scalable
    targets: minimum lowered, scaling suspended), lowers the capacity the fault's plan computes
    (here the units given), waits for the table ACTIVE, holds, restores the capacity and then
    each scalable target exactly; a fraction of a consumption CloudWatch has not published yet
    is refused as chaos run refuses it."""
    with pytest.raises(ValidationError, match="consumed no read capacity in the minutes CloudWatch "
                                              "published"):
        export(ROOT / "experiments" / "dynamodb-throttle.json", account_id=ACCOUNT)
    exported = export(throttle_in_units(tmp_path), account_id=ACCOUNT)
    [content] = [d.content for d in exported.documents]
    steps = calls(content)
    assert [(name, api) for name, api, _ in steps] == [
        ("HoldScaling1", "RegisterScalableTarget"), ("HoldScaling2", "RegisterScalableTarget"),
        ("Throttle", "UpdateTable"), ("ThrottleSettled", "DescribeTable"), ("Hold", "aws:sleep"),
        ("UndoThrottle", "UpdateTable"), ("UndoThrottleSettled", "DescribeTable"),
        ("UndoHoldScaling2", "RegisterScalableTarget"), ("UndoHoldScaling1", "RegisterScalableTarget")]
    held = {step[2]["ScalableDimension"]: step[2] for step in steps[:2]}
    restored = {step[2]["ScalableDimension"]: step[2] for step in steps[-2:]}
    assert set(held) == set(restored) == {"dynamodb:table:ReadCapacityUnits",
                                          "dynamodb:table:WriteCapacityUnits"}
    for dimension, hold in held.items():
        assert hold["MinCapacity"] == 10 and all(hold["SuspendedState"].values())
        assert restored[dimension]["MinCapacity"] > 10
        assert not any(restored[dimension]["SuspendedState"].values())
    assert steps[2][2] == {"TableName": "sessions", "ProvisionedThroughput": {
        "ReadCapacityUnits": 10, "WriteCapacityUnits": 10}}
    assert steps[5][2] == {"TableName": "sessions", "ProvisionedThroughput": {
        "ReadCapacityUnits": 100, "WriteCapacityUnits": 100}}


def test_the_stop_condition_alarms_watch_the_load_balancer_the_slo_names(
        lab_endpoint: RunningLab) -> None:
    """The alarms read the SLO's load balancer's CloudWatch dimension (app/web/ID) from the
    account, and CloudWatch takes them: both windows' metric-math alarms are created and start
    with no data (the composite that the template's stop condition names pairs them; the lab
    does not answer PutCompositeAlarm yet)."""
    exported = export(ROOT / "experiments" / "az-blackhole.json", account_id=ACCOUNT)
    requests = exported.alarm_requests()
    arn = lab_endpoint.client("elbv2").describe_load_balancers(Names=["web"])["LoadBalancers"][0][
        "LoadBalancerArn"]
    dimension = arn.split(":loadbalancer/", 1)[1]
    cloudwatch = lab_endpoint.client("cloudwatch")
    created = []
    for operation, given in requests:
        if operation == "PutMetricAlarm":
            assert {d["Value"] for m in given["Metrics"] if "MetricStat" in m
                    for d in m["MetricStat"]["Metric"]["Dimensions"]} == {dimension}
            cloudwatch.put_metric_alarm(**given)
            created.append(given["AlarmName"])
    try:
        alarms = cloudwatch.describe_alarms(AlarmNames=created)["MetricAlarms"]
        assert sorted(a["AlarmName"] for a in alarms) == ["chaos-sre-az-blackhole-burn-long",
                                                          "chaos-sre-az-blackhole-burn-short"]
        assert {a["Threshold"] for a in alarms} == {0.72}
    finally:
        cloudwatch.delete_alarms(AlarmNames=created)
