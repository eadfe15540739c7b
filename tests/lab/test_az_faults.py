"""AZ faults: selection, batching, refusals, dry run, exact rollback, and the shipped experiments."""

import json
import socket
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import (
    ROOT,
    RUNNER_KEY,
    RunningLab,
    ShippedRuns,
    extension,
    ran_within_the_runner_policy,
    refused_then_failed,
    run_chaos,
    run_cli,
    runner_policy,
    wait_until,
    without_statement,
)

from chaos_sre import iam
from chaos_sre.aws import client as aws_clients
from chaos_sre.errors import RollbackError, ValidationError
from chaos_sre.faults import az as az_faults
from chaos_sre.lab.elbv2.nodes import DNS_TTL_SECONDS
from chaos_sre.lab.web.endpoint import CAUSE_NODE_CUT_OFF
from chaos_sre.safety.ledger import Ledger
from chaos_sre.services.autoscaling import imbalance
from chaos_sre.timescale import ENVIRONMENT_VARIABLE as TIME_SCALE

OUTAGE = ROOT / "experiments" / "az-outage.json"
BLACKHOLE = ROOT / "experiments" / "az-blackhole.json"


def stop_mode_policy() -> dict[str, Any]:
    """`chaos-sre iam policy --target-tag env=staging` for an experiment that stops instances
    (``stop: true``): the shipped experiments terminate, so their policy grants no start."""
    document = {"method": [{"type": "action", "name": "stop-one-az", "provider": {
        "type": "python", "module": "chaos_sre.faults.az", "func": "terminate_az_instances",
        "arguments": {"az": "us-east-1b", "stop": True}}}]}
    policy = iam.policy(iam.needs_of([document]), "us-east-1", {"env": "staging"})
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"ec2:StartInstances", "kms:CreateGrant"} <= granted
    # Issue 36 item 9: a grant for EC2 alone (kms:ViaService), not one for any service
    grant = next(s for s in policy["Statement"] if "kms:CreateGrant" in s["Action"])
    assert grant["Condition"]["StringLike"]["kms:ViaService"] == "ec2.*.amazonaws.com"
    assert grant["Condition"]["Bool"]["kms:GrantIsForAWSResource"] == "true"
    assert not {"ec2:StartInstances", "kms:CreateGrant"} & {
        a for s in runner_policy()["Statement"] for a in s["Action"]}
    return policy


def settings(lab: RunningLab) -> dict[str, Any]:
    return {"aws_region": "us-east-1", "aws_endpoint_url": lab.env["AWS_ENDPOINT_URL"]}


def network_state(lab: RunningLab) -> dict[str, Any]:
    ec2 = lab.client("ec2")
    subnets = {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]}
    acls = ec2.describe_network_acls()["NetworkAcls"]
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    return {"associations": {a["SubnetId"]: acl["NetworkAclId"] for acl in acls
                             for a in acl["Associations"] if a["SubnetId"] in subnets},
            "acl_count": len(acls), "asg_subnets": group["VPCZoneIdentifier"]}


def test_selection_modes_are_seedable() -> None:
    ids = [f"i-{n:02d}" for n in range(10)]
    assert az_faults.select_targets(ids, "all", None, None, None) == sorted(ids)
    three = az_faults.select_targets(ids, "count", 3, None, 7)
    assert len(three) == 3 and three == az_faults.select_targets(ids, "count", 3, None, 7)
    assert len(az_faults.select_targets(ids, "percent", None, 25, 1)) == 3  # rounded up
    assert len(az_faults.select_targets(ids, "count", 50, None, 1)) == 10
    for mode, count, percent in (("some", None, None), ("count", 0, None), ("percent", None, 0),
                                 ("percent", None, 101)):
        with pytest.raises(ValidationError):
            az_faults.select_targets(ids, mode, count, percent, None)


def test_refusals_and_dry_run(start_lab) -> None:
    lab = start_lab("--profile", "fragile")
    config = settings(lab)
    with pytest.raises(ValidationError, match="no running instances match in us-east-1b"):
        az_faults.terminate_az_instances("us-east-1b", tags="app=web", configuration=config)
    with pytest.raises(ValidationError, match="refusing to take all 6 instances"):
        az_faults.terminate_az_instances("us-east-1a", tags={"app": "web"}, configuration=config)
    with pytest.raises(ValidationError, match="select instances with tags and/or asg_names"):
        az_faults.terminate_az_instances("us-east-1a", configuration=config)
    with pytest.raises(ValidationError, match="tags must look like key=value"):
        az_faults.terminate_az_instances("us-east-1a", tags="web", configuration=config)
    plan = az_faults.terminate_az_instances("us-east-1a", asg_names="web", mode="count", count=2,
                                            seed=3, dry_run=True, configuration=config)
    assert plan["dry_run"] is True and len(plan["instance_ids"]) == 2 and plan["calls"] == 0
    assert len(lab.web_instances("running")) == 6
    assert lab.timeline()["faults"] == []


def test_stop_mode_records_a_start_inverse(start_lab, tmp_path: Path, monkeypatch) -> None:
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config = settings(lab)
    # the ASG would replace a stopped instance at its next health sweep: keep it stopped to look
    lab.client("autoscaling").suspend_processes(
        AutoScalingGroupName="web", ScalingProcesses=["HealthCheck", "ReplaceUnhealthy"])
    result = az_faults.terminate_az_instances("us-east-1b", tags="app=web", mode="count", count=1,
                                              seed=1, stop=True, configuration=config)
    stopped = result["instance_ids"]
    assert [i["State"]["Name"] for i in lab.web_instances() if i["InstanceId"] in stopped] == ["stopped"]
    ledger = Ledger(next(tmp_path.glob("run-*.jsonl")))
    assert ledger.pending()[0]["inverse"] == {"op": "start_instances", "instance_ids": stopped}


def test_instances_in_no_group_are_refused_unless_allowed_and_count_in_max_percent(
        start_lab) -> None:
    """Issue 36 item 2: selected by tags, terminate takes any running instance with them - also
    one in no Auto Scaling group, which nothing replaces (only a group's members are replaced,
    "Replace Auto Scaling instances based on health checks",
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html).
    It is refused, naming it, unless allowed; allowed, the guardrails' max_percent counts the
    instances in no group as a group of their own. Before this, it was terminated with the
    group's and max_percent never saw it."""
    from chaos_sre.safety.guardrails import GuardrailViolation

    lab = start_lab()
    ec2 = lab.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["web-us-east-1a"]}])[
        "Subnets"][0]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    loner = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet,
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": "app", "Value": "web"}, {"Key": "env", "Value": "staging"}]}],
                              )["Instances"][0]["InstanceId"]
    assert wait_until(lambda: loner in {i["InstanceId"] for i in lab.web_instances("running")}, timeout=30)
    with pytest.raises(ValidationError, match=f"refusing to terminate 1 instance\\(s\\) in no Auto "
                                              f"Scaling group \\({loner}\\): nothing replaces them"):
        az_faults.terminate_az_instances("us-east-1a", tags="app=web,env=staging",
                                         configuration=settings(lab))
    guarded = {**settings(lab), "guardrails": {"max_percent": 50}}
    with pytest.raises(GuardrailViolation, match="1 of 1 \\(100 %\\) of instances in no Auto Scaling group"):
        az_faults.terminate_az_instances("us-east-1a", tags="app=web,env=staging",
                                         allow_instances_outside_groups=True, configuration=guarded)
    assert loner in {i["InstanceId"] for i in lab.web_instances("running")}
    assert lab.timeline()["faults"] == []
    plan = az_faults.terminate_az_instances("us-east-1a", tags="app=web,env=staging", dry_run=True,
                                            allow_instances_outside_groups=True,
                                            configuration=settings(lab))
    assert loner in plan["instance_ids"] and len(plan["instance_ids"]) == 3


def test_stop_mode_marks_the_started_instances_healthy_again(start_lab, tmp_path: Path,
                                                             monkeypatch) -> None:
    """Issue 36 item 1: with only ReplaceUnhealthy suspended, the group's HealthCheck process marks
    a stopped instance Unhealthy, the mark never clears by itself, and "as soon as you resume the
    ReplaceUnhealthy process, Amazon EC2 Auto Scaling replaces instances that were marked unhealthy
    while this process was suspended"
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html).
    The restore starts the instance and, once the load balancer finds it healthy, sets its health
    back (SetInstanceHealth), so resuming the process later replaces nothing. Before this, the
    restore only started it: it was terminated at the resume (the lab strict since e1ae6c3)."""
    from chaos_sre.safety.ledger import replay

    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    autoscaling = lab.client("autoscaling")
    autoscaling.suspend_processes(AutoScalingGroupName="web", ScalingProcesses=["ReplaceUnhealthy"])
    result = az_faults.terminate_az_instances("us-east-1b", tags="app=web", mode="count", count=1,
                                              seed=1, stop=True, configuration=settings(lab))
    victim = result["instance_ids"][0]

    def health() -> str:
        return str(autoscaling.describe_auto_scaling_instances(
            InstanceIds=[victim])["AutoScalingInstances"][0]["HealthStatus"]).upper()

    assert wait_until(lambda: health() == "UNHEALTHY", timeout=30)
    ledger = Ledger(next(tmp_path.glob("run-*.jsonl")))
    assert ledger.pending()[0]["inverse"]["mark_healthy"] == [victim]
    outcome = replay(ledger, settings(lab))
    assert outcome == [f"started ['{victim}']; marked {victim} healthy in their Auto Scaling group again"]
    assert health() == "HEALTHY"
    autoscaling.resume_processes(AutoScalingGroupName="web", ScalingProcesses=["ReplaceUnhealthy"])
    time.sleep(3)  # several health sweeps (1 s apart at the lab's time scale)
    assert victim in {i["InstanceId"] for i in lab.web_instances("running")}
    assert not [e for e in lab.timeline()["events"]
                if e["kind"] == "asg-instance-replaced" and e["resource"] == victim]


def test_stop_mode_is_refused_for_instances_their_asg_would_replace(start_lab) -> None:
    """Issue 19 item 4: a stopped instance fails the EC2 health check and its Auto Scaling group
    terminates and replaces it ("Health checks for instances in an Auto Scaling group": an
    instance in any state but running is unhealthy,
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html), as
    the lab's group does: stop mode on its members is a termination the restore cannot start
    again, so it is refused unless the group's ReplaceUnhealthy (or HealthCheck) is suspended."""
    lab = start_lab()
    with pytest.raises(ValidationError, match="refusing to stop instances of Auto Scaling group web"):
        az_faults.terminate_az_instances("us-east-1b", tags="app=web", mode="count", count=1,
                                         stop=True, configuration=settings(lab))
    assert len(lab.web_instances("running")) == 6 and lab.timeline()["faults"] == []


def test_stop_mode_restore_waits_for_running_and_fails_when_the_kms_grant_is_missing(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """Issue 19 item 4: the restore called StartInstances and called the instance restored. With
    an EBS volume encrypted by a customer managed KMS key and no kms:CreateGrant for the caller,
    the instance goes from pending back to stopped, StateReason Client.InternalError (AWS
    re:Post, https://repost.aws/knowledge-center/kms-iam-ec2-permission), as the lab's does. The
    restore waits for running and fails, naming the instance; it stays pending, and once the
    grant is allowed the next rollback starts it. The fault runs as the runner held to the
    policy generated for a stop-mode experiment: taking out its kms:CreateGrant statement is
    what stops the start."""
    lab = start_lab()
    lab.attach_policy(stop_mode_policy(), RUNNER_KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", RUNNER_KEY)
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ec2 = settings(lab), lab.client("ec2")
    key = lab.client("kms").create_key(Description="batch volumes")["KeyMetadata"]["Arn"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["web-us-east-1b"]}])[
        "Subnets"][0]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet,
        BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {
            "VolumeSize": 8, "Encrypted": True, "KmsKeyId": key}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "app", "Value": "batch"}, {"Key": "env", "Value": "staging"}]}],
    )["Instances"][0]["InstanceId"]

    def state() -> str:
        return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0][
            "State"]["Name"]

    assert wait_until(lambda: state() == "running", timeout=30)
    az_faults.terminate_az_instances("us-east-1b", tags="app=batch", stop=True,
                                     allow_total_outage=True, configuration=config)
    assert wait_until(lambda: state() == "stopped", timeout=30)
    policy = stop_mode_policy()
    grant = next(s for s in policy["Statement"] if "kms:CreateGrant" in s["Action"])
    lab.attach_policy(without_statement(policy, grant), RUNNER_KEY)
    with pytest.raises(RollbackError, match=f"{instance}: Client.InternalError"):
        az_faults.restore_az(config)
    assert state() == "stopped"
    lab.attach_policy(policy, RUNNER_KEY)
    assert az_faults.restore_az(config) == [f"started ['{instance}']"]
    assert state() == "running"


@pytest.mark.slow
def test_a_thousand_instances_take_one_call_per_thousand_ids(start_lab, monkeypatch) -> None:
    lab = start_lab()
    ec2 = lab.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "batch"}]}]
    subnet = {s["AvailabilityZone"]: s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]}
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:app", "Values": ["web"]}])["Vpcs"][0]["VpcId"]
    big = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.64.0/20",
                            AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    ec2.run_instances(ImageId=image, MinCount=1001, MaxCount=1001, SubnetId=big,
                      TagSpecifications=tags)
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet["us-east-1b"],
                      TagSpecifications=tags)
    running = [{"Name": "tag:app", "Values": ["batch"]},
               {"Name": "instance-state-name", "Values": ["running"]}]
    assert wait_until(lambda: sum(len(r["Instances"]) for page in ec2.get_paginator(
        "describe_instances").paginate(Filters=running) for r in page["Reservations"]) == 1002,
        timeout=30, interval=1.0)
    calls: Counter[str] = Counter()
    monkeypatch.setattr(aws_clients, "_clients", {})  # the handlers die with this test's clients
    real_client = az_faults.aws_client

    def counting_client(service: str, *args: Any, **kwargs: Any) -> Any:
        client = real_client(service, *args, **kwargs)
        client.meta.events.register("before-call.*.*",
                                    lambda model, **_: calls.update([model.name]),
                                    unique_id="counted-calls")  # once per client
        return client

    monkeypatch.setattr(az_faults, "aws_client", counting_client)
    result = az_faults.terminate_az_instances("us-east-1a", tags="app=batch",
                                              allow_instances_outside_groups=True,
                                              configuration=settings(lab))
    assert len(result["instance_ids"]) == 1001
    assert calls["TerminateInstances"] == 2 and result["calls"] == 2


def outage_passed(journal: dict[str, Any], scale: float) -> list[str]:
    """The az-outage run PASSED at ``scale`` with its recovery in AWS seconds within its RTO;
    the instances it terminated."""
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True
    assert ext["time_scale"] == scale
    assert 0 < ext["recovery"]["recover_seconds"] <= ext["recovery"]["rto_seconds"] == 100
    terminated = journal["run"][0]["output"]["instance_ids"]
    assert len(terminated) == 2
    return sorted(terminated)


def test_outage_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run, at the lab's default time scale: PASSED, and the instances it
    says it terminated are the faults the lab observed."""
    terminated = outage_passed(shipped_runs.journal("az-outage"), 0.1)
    assert sorted(f["resource"] for f in shipped_runs.lab_truth("az-outage").faults) == terminated


def test_the_fault_clock_starts_at_the_first_change_not_at_the_action(shipped_runs: ShippedRuns) -> None:
    """Time to detect and to recover run from fault injection (docs/slo.md), not from the start of
    the action: the blackhole reads the account, plans and simulates its permissions before its
    first change (its AZRebalance suspension is a preparation, the zonal shift the first change
    to the service), so the shipped run's clock starts at that change's ledger intent."""
    journal = shipped_runs.journal("az-blackhole")
    ext = extension(journal)
    ledger = Ledger(Path(ext["ledger_path"]))
    first_change = ledger.injected_at()
    assert first_change is not None
    assert next(e["operation"] for e in ledger.intents() if e.get("effect", True)) == "start_zonal_shift"
    assert ext["fault_started_at"] == first_change
    action = next(a for a in journal["run"] if a["activity"]["name"] == "blackhole-az")
    started = datetime.fromisoformat(action["start"])
    started_at = (started if started.tzinfo else started.replace(tzinfo=UTC)).timestamp()
    assert started_at < first_change


@pytest.mark.e2e
def test_outage_experiment_passes_at_twice_the_speed(start_lab, tmp_path: Path) -> None:
    """The same file at twice the lab's default speed (issue 19 item 14: its times are AWS
    seconds, played at the scale the lab exports): PASSED, with its recovery reported in AWS
    seconds, within the RTO it states in them."""
    lab = start_lab("--time-scale", "0.05")
    status, journal, stderr = run_chaos(lab, OUTAGE, tmp_path)
    assert status == 0, stderr[-3000:]
    terminated = outage_passed(journal, 0.05)
    assert sorted(f["resource"] for f in lab.timeline()["faults"]) == terminated


@pytest.mark.e2e
def test_outage_experiment_fails_on_fragile_with_a_reason(start_lab, tmp_path: Path) -> None:
    lab = start_lab("--profile", "fragile")
    refused_then_failed(
        lab, OUTAGE, tmp_path,
        refusal="refusing to take all 6 instances of the service: every one is in us-east-1a",
        allow={"CHAOS_SRE_ALLOW_TOTAL_OUTAGE": "true"})


@pytest.mark.e2e
def test_blackhole_experiment_passes_and_restores_exactly(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    before = network_state(lab)
    status, journal, stderr = run_chaos(lab, BLACKHOLE, tmp_path,
                                        env={"CHAOS_SRE_HOLD_SECONDS": "80"})
    assert status == 0, stderr[-3000:]
    assert extension(journal)["verdict"]["passed"] is True
    assert [f["kind"] for f in lab.timeline()["faults"]] == ["subnet-unreachable"]
    assert network_state(lab) == before
    ledger = Ledger(next((tmp_path / "ledgers").glob("run-*.jsonl")))
    assert ledger.pending() == []
    entries = [json.loads(line) for line in ledger.path.read_text().splitlines()]
    assert {e["kind"] for e in entries} == {"header", "context", "intent", "done", "reverted"}
    assert entries[0] == {"kind": "header", "format": 3, "at": entries[0]["at"],
                          "written_by": "chaos-sre 0.1.0"}
    entries = entries[1:]
    assert entries[0] == {"kind": "context", "at": entries[0]["at"], "aws_region": "us-east-1",
                          "aws_endpoint_url": lab.env["AWS_ENDPOINT_URL"]}


@pytest.mark.e2e
def test_blackhole_experiment_fails_on_fragile_and_still_restores(start_lab, tmp_path: Path) -> None:
    lab = start_lab("--profile", "fragile")
    before = network_state(lab)
    status, journal, _ = run_chaos(lab, BLACKHOLE, tmp_path, env={"CHAOS_SRE_HOLD_SECONDS": "80"})
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("error budget" in r or "did not recover" in r for r in reasons), reasons
    assert network_state(lab) == before
    ran_within_the_runner_policy(lab)
    # The budget runs out with the AZ still cut off: the stop ends the method or the
    # after-method check (whose probe would wait 120 s for targets that cannot heal).
    assert journal["status"] == "interrupted" and extension(journal)["stopped"] is not None
    assert (journal.get("steady_states") or {}).get("after") is None
    assert any(r.startswith("stopped during the") for r in reasons), reasons


def test_blackhole_with_load_balancer_restores_exactly_and_twice_is_harmless(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """The deny-all ACL is used right after it is created, which EC2's eventual consistency
    may answer with InvalidNetworkAclID.NotFound ("Eventual consistency in the Amazon EC2 API",
    https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html), as the lab does
    for a moment: the fault retries that code for the ACL it just created.

    Issue 36 item 5: SetSubnets changes the whole load balancer, every listener and service
    behind it, and stays changed if the run dies; AWS's own way to move a load balancer's
    traffic out of one AZ is an ARC zonal shift, temporary by construction ("Zonal shift in
    ARC", https://docs.aws.amazon.com/r53recovery/latest/dg/arc-zonal-shift.html), for load
    balancers registered with ARC (``zonal_shift.config.enabled``, off by default: "Enable
    zonal shift for your Application Load Balancer") and one shift per load balancer. The lab
    answers the ARC API (chaos_sre/lab/arczonalshift); the blackhole shifts the load balancer
    away from the AZ, leaves its subnets alone, cancels the shift in its restore, and refuses
    before any change a load balancer that is not registered or already shifted."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config = settings(lab)
    elbv2, arc = lab.client("elbv2"), lab.client("arc-zonal-shift")
    arn = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    zone_b = next(z["ZoneId"] for z in lab.client("ec2").describe_availability_zones()[
        "AvailabilityZones"] if z["ZoneName"] == "us-east-1b")

    def balancer_subnets() -> list[str]:
        zones = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["AvailabilityZones"]
        return sorted(z["SubnetId"] for z in zones)

    def active_shifts() -> list[tuple[str, str]]:
        return [(s["awayFrom"], s["comment"]) for s in arc.list_zonal_shifts(status="ACTIVE")["items"]]

    def blackhole() -> dict[str, Any]:
        return az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                      load_balancer_names="web", configuration=config)

    before, lb_before = network_state(lab), balancer_subnets()
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "zonal_shift.config.enabled", "Value": "false"}])
    with pytest.raises(ValidationError, match=r"load balancer web is not registered for ARC zonal "
                       r"shift \(zonal_shift.config.enabled is off\): enable it .* or pass "
                       "load_balancer_move \"set-subnets\""):
        blackhole()
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "zonal_shift.config.enabled", "Value": "true"}])
    theirs = arc.start_zonal_shift(resourceIdentifier=arn, awayFrom=zone_b, expiresIn="30m",
                                   comment="an operator's shift")
    with pytest.raises(ValidationError, match=f"load balancer web is already shifted away from "
                       f"{zone_b} \\(zonal shift {theirs['zonalShiftId']}"):
        blackhole()
    arc.cancel_zonal_shift(zonalShiftId=theirs["zonalShiftId"])
    for bad, why in (("soon", "expected a whole number, got 'soon'"), (0, "must be from 1 to 4320 "
                     "minutes \\(ARC's 72 hours\\), got 0"), (4321, "got 4321")):
        with pytest.raises(ValidationError, match=why):
            az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                   load_balancer_names="web", zonal_shift_minutes=bad,
                                   configuration=config)
    assert list(tmp_path.glob("*.jsonl")) == [] and network_state(lab) == before

    plan = blackhole()
    assert plan["zonal_shifts"] == {"web": f"away from {zone_b} for 60 min"}
    assert balancer_subnets() == lb_before
    [(away, comment)] = active_shifts()
    assert away == zone_b and comment.startswith("chaos-sre run ")
    assert plan["subnet_ids"][0] not in network_state(lab)["asg_subnets"]
    assert "elasticloadbalancing:SetSubnets" not in lab.api_calls()
    assert len(az_faults.restore_az(config)) == 5
    assert az_faults.restore_az(config) == []
    assert network_state(lab) == before and balancer_subnets() == lb_before
    assert active_shifts() == []

    # A StartZonalShift whose answer is lost and that is sent again meets the shift it started
    # (ConflictException): the run keeps that shift as its own, and its restore cancels it.
    from chaos_sre.faults.az import zonal_shift

    def answer_lost_then_sent_again(client: Any, method: str, **params: Any) -> Any:
        if method == "start_zonal_shift":
            sent(client, method, **params)
        return sent(client, method, **params)

    sent = zonal_shift.call
    monkeypatch.setattr(zonal_shift, "call", answer_lost_then_sent_again)
    blackhole()
    [(away, comment)] = active_shifts()
    shift_id = arc.list_zonal_shifts(status="ACTIVE")["items"][0]["zonalShiftId"]
    ledger = Ledger(max(tmp_path.glob("*.jsonl"), key=lambda path: path.stat().st_mtime_ns))
    started = [e["seq"] for e in ledger.intents() if e["operation"] == "start_zonal_shift"][-1]
    assert [e["outcome"] for e in ledger.entries() if e.get("seq") == started and e["kind"] == "done"] == \
        [shift_id] and comment.startswith(f"chaos-sre run {ledger.path.stem}:") and away == zone_b
    az_faults.restore_az(config)
    assert active_shifts() == [] and network_state(lab) == before


def lab_nodes(lab: RunningLab) -> dict[str, dict[str, Any]]:
    """AZ -> the web ALB's node there that DNS lists (`/__lab/status`)."""
    status = requests.get(f"{lab.target_url}/__lab/status", timeout=5).json()
    return {n["availability_zone"]: n for n in status["load_balancer_nodes"]["web"]}


def unanswered(lab: RunningLab, requests_sent: int) -> int:
    """How many of ``requests_sent`` requests to the endpoint got no answer within 0.5 s."""
    lost = 0
    for _ in range(requests_sent):
        try:
            assert requests.get(f"{lab.target_url}/", timeout=0.5).status_code == 200
        except (requests.Timeout, requests.ConnectionError):
            lost += 1
    return lost


def healthy_targets_in(lab: RunningLab, zone: str) -> int:
    """How many of target group ``web``'s healthy targets are in ``zone``."""
    elbv2 = lab.client("elbv2")
    arn = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
    healthy = [t["Target"]["Id"] for t in elbv2.describe_target_health(
        TargetGroupArn=arn)["TargetHealthDescriptions"] if t["TargetHealth"]["State"] == "healthy"]
    return sum(1 for i in lab.web_instances() if i["InstanceId"] in healthy
               and i["Placement"]["AvailabilityZone"] == zone)


def test_a_cut_off_load_balancer_node_answers_nothing_until_dns_drops_it(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """An ALB has a node in each of its subnets, and its subnet's network ACL must let clients in
    ("Troubleshoot your Application Load Balancers": "the network ACL for the subnet must allow
    traffic from the clients"); with cross-zone load balancing the node stays in DNS while any AZ
    has a healthy target (AWS re:Post, "elb-dns-cross-zone-balance-configuration"). So a
    blackhole that leaves the ALB its subnet leaves every third client hanging for the whole
    cut, which the lab did not show (its endpoint answered from every AZ). Shifted away from
    the AZ first (an ARC zonal shift takes the AZ's node out of DNS, "Using cross-zone load
    balancing with zonal shift"), the node leaves DNS one TTL (60 s) later, and the restore
    cancels the shift only after its network ACL, so the node answers as soon as it is listed."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ttl = settings(lab), DNS_TTL_SECONDS * float(lab.env[TIME_SCALE])
    vpc = lab.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["web"]}])[
        "Vpcs"][0]["VpcId"]
    assert all(node["answers"] for node in lab_nodes(lab).values())

    az_faults.blackhole_az("us-east-1a", tags="app=web", vpc_id=vpc, configuration=config)
    assert wait_until(lambda: not lab_nodes(lab)["us-east-1a"]["answers"], 10)
    assert wait_until(lambda: healthy_targets_in(lab, "us-east-1a") == 0, 20)
    assert unanswered(lab, 9) == 3
    time.sleep(ttl + 1)
    assert lab_nodes(lab)["us-east-1a"] == {"subnet_id": ANY, "availability_zone": "us-east-1a",
                                            "answers": False, "leaving": False}
    assert "load balancer web nodes in DNS: us-east-1a (cut off), us-east-1b, us-east-1c" in \
        run_cli("lab", "status", lab_dir=lab.lab_dir).stdout
    assert unanswered(lab, 9) == 3
    az_faults.restore_az(config)
    assert wait_until(lambda: all(node["answers"] for node in lab_nodes(lab).values()), 10)

    az_faults.blackhole_az("us-east-1a", tags="app=web", load_balancer_names="web",
                           configuration=config)
    assert wait_until(lambda: lab_nodes(lab)["us-east-1a"]["leaving"], 10)
    assert wait_until(lambda: "us-east-1a" not in lab_nodes(lab), ttl + 5)
    assert wait_until(lambda: healthy_targets_in(lab, "us-east-1a") == 0, 20)
    assert unanswered(lab, 9) == 0
    restored = az_faults.restore_az(config)
    assert " back on acl-" in restored[0] and restored[-1].startswith("zonal shift ")
    assert wait_until(lambda: lab_nodes(lab).get("us-east-1a", {}).get("answers"), 10)
    assert unanswered(lab, 9) == 0
    assert lab.timeline()["requests"]["by_cause"][CAUSE_NODE_CUT_OFF] == 6


def test_blackhole_leaves_network_and_gateway_load_balancers_their_subnets(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """Issue 19 item 2: removing a subnet from a Network Load Balancer deletes that node's network
    interface, and a subnet added back gets a new one ("Update the Availability Zones for your
    Network Load Balancer",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html): an
    internet-facing NLB's restore by subnet IDs lost the AZ's Elastic IP, and a Gateway Load
    Balancer refuses to drop a subnet ("include all subnets that were enabled previously",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetSubnets.html). The
    lab keeps each NLB node's address and refuses a GWLB's removal, as AWS does; the blackhole
    removes the AZ's subnet from Application Load Balancers only (the network ACL cuts the other
    nodes off) and says in its plan which it left."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ec2, elbv2 = settings(lab), lab.client("ec2"), lab.client("elbv2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]]
    mappings = [{"SubnetId": subnet, "AllocationId": ec2.allocate_address(Domain="vpc")["AllocationId"]}
                for subnet in subnets]
    elbv2.create_load_balancer(Name="edge", Type="network", Scheme="internet-facing",
                               SubnetMappings=mappings)
    elbv2.create_load_balancer(Name="inspection", Type="gateway", Subnets=subnets)

    def zones() -> dict[str, Any]:
        return {b["LoadBalancerName"]: sorted(b["AvailabilityZones"], key=lambda z: z["SubnetId"])
                for b in elbv2.describe_load_balancers(
                    Names=["web", "edge", "inspection"])["LoadBalancers"]}

    before = zones()
    assert {a["AllocationId"] for z in before["edge"] for a in z["LoadBalancerAddresses"]} == \
        {m["AllocationId"] for m in mappings}
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                  load_balancer_names="web,edge,inspection",
                                  load_balancer_move="set-subnets", configuration=config)
    during = zones()
    assert len(during["web"]) == 2
    assert during["edge"] == before["edge"] and during["inspection"] == before["inspection"]
    assert sorted(plan["load_balancers_left_as_they_are"]) == ["edge", "inspection"]
    az_faults.restore_az(config)
    assert zones() == before


def test_blackhole_suspends_az_rebalance_restores_only_what_it_removed_and_waits_for_balance(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """Issue 19 item 3: changing an Auto Scaling group's subnets starts AZ rebalancing
    ("Rebalancing activities": changing the group's AZs or subnets rebalances it, launching
    before terminating, https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html
    and "Suspend and resume processes", AZRebalance,
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html), so
    instances churned at the fault and again after the restore, once the verdict's window had
    closed; and the restore overwrote a subnet change made during the run. The lab rebalances
    on a subnet change as AWS does; the fault suspends AZRebalance first, the restore adds back
    only the subnets it removed and waits until the group is balanced again."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ec2, autoscaling = settings(lab), lab.client("ec2"), lab.client("autoscaling")

    def group() -> dict[str, Any]:
        return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])[
            "AutoScalingGroups"][0]

    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                  configuration=config)
    assert [p["ProcessName"] for p in group()["SuspendedProcesses"]] == ["AZRebalance"]
    added = ec2.create_subnet(VpcId=plan["vpc_id"], CidrBlock="10.0.31.0/24",
                              AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    during = group()["VPCZoneIdentifier"]
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="web",
                                          VPCZoneIdentifier=f"{during},{added}")
    faulted_at = time.time()
    time.sleep(4)  # several ASG sweeps: time for a rebalance to start, were it not suspended
    assert not [e for e in lab.timeline()["events"]
                if e["kind"].startswith("asg-rebalance") and e["at"] >= faulted_at]
    az_faults.restore_az(config)
    restored = group()
    assert set(restored["VPCZoneIdentifier"].split(",")) == \
        set(during.split(",")) | {added} | set(plan["subnet_ids"])
    assert restored["SuspendedProcesses"] == []
    assert imbalance(restored) is None, imbalance(restored)
    assert Counter(i["AvailabilityZone"] for i in restored["Instances"])["us-east-1b"] == 2


def test_the_rebalance_wait_leaves_standby_and_hook_held_instances_to_their_owners(
        start_lab, tmp_path: Path, monkeypatch) -> None:
    """Issue 36 item 10: the restore's wait for a balanced group took every instance not
    InService for one still moving, so a group with an instance in Standby ("Temporarily remove
    instances from your Auto Scaling group": the group launches a replacement and leaves the
    Standby one alone) or a launch held by a lifecycle hook (Pending:Wait up to the hook's
    heartbeat timeout, an hour by default, "Amazon EC2 Auto Scaling lifecycle hooks",
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html) never looked
    balanced and the restore failed after its timeout. The lab holds launches in Pending:Wait
    and answers CompleteLifecycleAction; the wait leaves Standby out and counts a held launch
    where it was placed."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, autoscaling = settings(lab), lab.client("autoscaling")

    def states() -> dict[str, str]:
        return {i["InstanceId"]: i["LifecycleState"] for i in autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]}

    autoscaling.put_lifecycle_hook(LifecycleHookName="warm-up", AutoScalingGroupName="web",
                                   LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
                                   HeartbeatTimeout=3600, DefaultResult="CONTINUE")
    aside = next(i["InstanceId"] for i in lab.web_instances("running")
                 if i["Placement"]["AvailabilityZone"] == "us-east-1a")
    autoscaling.enter_standby(AutoScalingGroupName="web", InstanceIds=[aside],
                              ShouldDecrementDesiredCapacity=False)
    assert wait_until(lambda: "Pending:Wait" in states().values(), timeout=30), states()
    held = next(i for i, state in states().items() if state == "Pending:Wait")
    with pytest.raises(ClientError, match="No active Lifecycle Action found with instance ID"):
        autoscaling.complete_lifecycle_action(LifecycleHookName="warm-up", AutoScalingGroupName="web",
                                              LifecycleActionResult="CONTINUE", InstanceId=aside)

    az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", configuration=config)
    restored = az_faults.restore_az(config)
    assert restored[-1] == "ASG web: AZRebalance resumed, the group is balanced"
    assert states()[aside] == "Standby" and states()[held] == "Pending:Wait"
    autoscaling.complete_lifecycle_action(LifecycleHookName="warm-up", AutoScalingGroupName="web",
                                          LifecycleActionResult="CONTINUE", InstanceId=held)
    assert wait_until(lambda: states()[held] == "InService", timeout=10), states()


def test_a_refused_call_stops_the_blackhole_before_its_first_change(start_lab, tmp_path: Path,
                                                                    monkeypatch) -> None:
    """Issue 36 item 7: permissions were discovered one call at a time. With the generated
    policy, CreateNetworkAcl is allowed only in a VPC tagged as a target (aws:ResourceTag), so
    in an untagged VPC the run had suspended AZRebalance and shrunk the load balancer when the
    refusal came. Every fault now lists the calls it and its restore make and asks IAM first
    (SimulatePrincipalPolicy for the runner's identity,
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html; the lab
    answers it from the policy it enforces): the run is refused, naming the call, and nothing
    changes."""
    lab = start_lab()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", RUNNER_KEY)
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ec2 = settings(lab), lab.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["web"]}])["Vpcs"][0]["VpcId"]
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "env"}])
    before = (network_state(lab), lab.client("elbv2").describe_load_balancers(Names=["web"])[
        "LoadBalancers"][0]["AvailabilityZones"])
    with pytest.raises(ValidationError, match=f"blackhole_az: refusing to start, nothing was changed: "
                                              f".* ec2:CreateNetworkAcl on arn:aws:ec2:us-east-1:"
                                              f"\\d+:vpc/{vpc} \\(implicitDeny\\)"):
        az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                               load_balancer_names="web", configuration=config)
    assert (network_state(lab), lab.client("elbv2").describe_load_balancers(Names=["web"])[
        "LoadBalancers"][0]["AvailabilityZones"]) == before
    assert [m["action"] for m in lab.api.mutations()] == ["ec2:DeleteTags"]  # the test's own
    assert lab.timeline()["faults"] == []
    assert not list(tmp_path.glob("run-*.jsonl"))
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "staging"}])
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                  load_balancer_names="web", dry_run=True, configuration=config)
    assert plan["dry_run"] is True
    simulated = [r for r in lab.iam_requests(RUNNER_KEY) if r["action"] == "iam:SimulatePrincipalPolicy"]
    assert simulated and all(r["allowed"] for r in simulated)


def test_blackhole_rollback_deletes_only_its_own_network_acls(start_lab, tmp_path: Path,
                                                              monkeypatch) -> None:
    """Issue 19 item 10: the rollback deleted every unassociated chaos-sre deny-all ACL of the
    VPC, also one another run had just created and was about to associate (a concurrent
    blackhole). The ACLs carry the run that created them (set in CreateNetworkAcl's
    TagSpecifications, so a run killed before recording the id is still cleaned up:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkAcl.html), and a
    rollback deletes only its own."""
    lab = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    config, ec2 = settings(lab), lab.client("ec2")
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                  configuration=config)
    vpc = ec2.describe_subnets(SubnetIds=plan["subnet_ids"][:1])["Subnets"][0]["VpcId"]
    others = ec2.create_network_acl(VpcId=vpc, TagSpecifications=[{
        "ResourceType": "network-acl", "Tags": [{"Key": "chaos-sre:fault", "Value": "deny-all"},
                                                {"Key": "chaos-sre:run", "Value": "run-other"}]}])
    other_id = others["NetworkAcl"]["NetworkAclId"]
    ours = plan["network_acl_ids"]
    az_faults.restore_az(config)
    left = {a["NetworkAclId"] for a in ec2.describe_network_acls(Filters=[
        {"Name": "tag:chaos-sre:fault", "Values": ["deny-all"]}])["NetworkAcls"]}
    assert left == {other_id}, (left, ours)


def test_blackhole_stays_in_one_vpc_and_refuses_the_runners_own_subnet(
        shared_lab: RunningLab, monkeypatch) -> None:
    """Issue 19 item 1: subnets were chosen by AZ and tags only, so broad tags (env=staging) or
    none gave the deny-all ACL to every subnet of the AZ in every VPC of the region - another
    team's VPC, and the runner's own subnet, which then cannot reach AWS to roll back. The
    blackhole is scoped to one VPC (DescribeSubnets filter vpc-id,
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html) and refuses a
    subnet holding the runner's network interface, found from the ECS task metadata endpoint
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html)
    and DescribeNetworkInterfaces. A load balancer name that does not exist (az-blackhole names
    ALB `web` by default) is one line before any change: DescribeLoadBalancers answers
    LoadBalancerNotFound when any name it is given does not exist (API reference), which the lab
    does too (moto only for the first name)."""
    config, ec2 = settings(shared_lab), shared_lab.client("ec2")
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4",
                       shared_lab.env["ECS_CONTAINER_METADATA_URI_V4"])

    def vpc(name: str) -> str:
        return ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"][0]["VpcId"]

    def subnet(name: str) -> str:
        return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])[
            "Subnets"][0]["SubnetId"]

    with pytest.raises(ValidationError, match="name the VPC"):
        az_faults.blackhole_az("us-east-1c", tags="env=staging", dry_run=True, configuration=config)
    with pytest.raises(ValidationError, match=f"runner's own subnet {subnet('runner-us-east-1c')}"):
        az_faults.blackhole_az("us-east-1c", tags="env=staging", asg_names="web", dry_run=True,
                               configuration=config)
    with pytest.raises(ValidationError, match="Auto Scaling group web not in"):
        az_faults.blackhole_az("us-east-1c", tags="env=staging", asg_names="web",
                               vpc_id=vpc("shared"), dry_run=True, configuration=config)
    with pytest.raises(ValidationError, match="load_balancer_names: web, edge - at least one is "
                                              "not a load balancer"):
        az_faults.blackhole_az("us-east-1c", tags="app=web", asg_names="web",
                               load_balancer_names="web,edge", dry_run=True, configuration=config)
    plan = az_faults.blackhole_az("us-east-1c", tags="app=web", asg_names="web", dry_run=True,
                                  configuration=config)
    assert plan["vpc_id"] == vpc("web") and plan["subnet_ids"] == [subnet("web-us-east-1c")]
    shared = az_faults.blackhole_az("us-east-1c", vpc_id=vpc("shared"), dry_run=True,
                                    configuration=config)
    assert shared["subnet_ids"] == [subnet("shared-us-east-1c")]
    assert shared_lab.timeline()["faults"] == []


def test_a_launch_template_in_the_request_needs_run_instances_and_a_subnet_change_does_not(
        shared_lab: RunningLab) -> None:
    """Issue 36 item 9: Auto Scaling checks ec2:RunInstances (and ec2:CreateTags for a template
    with tag specifications, iam:PassRole for one with an instance profile) when a
    Create/UpdateAutoScalingGroup request provides a launch template ("Amazon EC2 Auto Scaling
    API permissions",
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html).
    The lab checks it too. The blackhole's UpdateAutoScalingGroup provides subnets only, so the
    generated policy rightly grants none of them: the runner's subnet-only update of the
    launch-template group ``web`` goes through, the same update naming the template does not."""
    runner = shared_lab.client("autoscaling", access_key=RUNNER_KEY, retries=False)
    group = shared_lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["LaunchTemplateName"] == "web"
    granted = {a for s in runner_policy()["Statement"] for a in s["Action"]}
    assert "ec2:RunInstances" not in granted
    assert all(s["Condition"]["StringEquals"]["iam:PassedToService"] == "s3.amazonaws.com"
               for s in runner_policy()["Statement"] if "iam:PassRole" in s["Action"])  # S3 replication's
    with pytest.raises(ClientError, match="You are not authorized to use launch template: web "
                                          "\\(the caller may not ec2:RunInstances, ec2:CreateTags\\)"):
        runner.update_auto_scaling_group(AutoScalingGroupName="web",
                                         VPCZoneIdentifier=group["VPCZoneIdentifier"],
                                         LaunchTemplate={"LaunchTemplateName": "web",
                                                         "Version": "$Latest"})
    runner.update_auto_scaling_group(AutoScalingGroupName="web",
                                     VPCZoneIdentifier=group["VPCZoneIdentifier"])


@pytest.mark.parametrize("tag", ["eks:nodegroup-name", "elasticbeanstalk:environment-name",
                                 "AmazonECSManaged"])
def test_blackhole_refuses_auto_scaling_groups_another_service_manages(
        shared_lab: RunningLab, tag: str) -> None:
    """Issue 36 item 6: an Auto Scaling group that another service owns was edited behind its
    owner's back (subnets removed, AZRebalance suspended). EKS manages a node group's group
    through its service-linked role ("AWSServiceRoleForAmazonEKSNodegroup",
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSServiceRoleForAmazonEKSNodegroup.html)
    and finds it by eks:nodegroup-name; ECS adds AmazonECSManaged to a capacity provider's group
    whose scaling it manages ("Using managed scaling", ECS Developer Guide); Elastic Beanstalk
    tags its environment's group with elasticbeanstalk:environment-name and rewrites it on every
    environment update. The lab keeps the tags as AWS does; the blackhole refuses such a group
    in asg_names, naming the owner, before any change (the network ACL cuts its instances off
    without it)."""
    autoscaling = shared_lab.client("autoscaling")
    owned = {"ResourceId": "web", "ResourceType": "auto-scaling-group", "Key": tag,
             "Value": "web", "PropagateAtLaunch": False}
    autoscaling.create_or_update_tags(Tags=[owned])
    try:
        with pytest.raises(ValidationError, match=f"refusing to change Auto Scaling groups another "
                                                  f"service manages: web belongs to .*\\({tag}\\)"):
            az_faults.blackhole_az("us-east-1c", tags="app=web", asg_names="web", dry_run=True,
                                   configuration=settings(shared_lab))
        plan = az_faults.blackhole_az("us-east-1c", tags="app=web", dry_run=True,
                                      load_balancer_names="web", configuration=settings(shared_lab))
        assert plan["asg_names"] == [] and plan["subnet_ids"]
    finally:
        autoscaling.delete_tags(Tags=[owned])
    assert shared_lab.timeline()["faults"] == []


def test_blackhole_lists_what_else_it_cuts_and_refuses_what_other_azs_and_the_runner_need(
        start_lab, monkeypatch) -> None:
    """Issue 36 item 4: a network ACL cuts every interface in its subnets ("Control subnet
    traffic with network access control lists", Amazon VPC User Guide), not only the service's:
    a NAT gateway that other AZs' subnets route their egress through ("NAT gateways"), an
    interface endpoint the runner calls AWS through. The lab describes those interfaces as AWS
    does (InterfaceType nat_gateway and vpc_endpoint; moto: interface). The blackhole lists every
    interface it cuts by owner type, refuses a NAT gateway other AZs route through unless
    allowed, always one the runner routes through, and an endpoint the runner uses unless
    allowed; before, it cut them all without a word."""
    lab = start_lab()
    ec2, config = lab.client("ec2"), settings(lab)

    def subnet(name: str) -> str:
        return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])[
            "Subnets"][0]["SubnetId"]

    cut, served, runner = subnet("web-us-east-1b"), subnet("web-us-east-1a"), subnet("runner-us-east-1c")
    vpc = ec2.describe_subnets(SubnetIds=[cut])["Subnets"][0]["VpcId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=cut, AllocationId=address)["NatGateway"]["NatGatewayId"]
    interface = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [cut]}, {
        "Name": "description", "Values": [f"Interface for NAT Gateway {gateway}"]}])["NetworkInterfaces"][0]
    assert interface["InterfaceType"] == "nat_gateway"
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=gateway)
    ec2.associate_route_table(RouteTableId=table, SubnetId=served)

    with pytest.raises(ValidationError, match=f"refusing to cut off NAT gateway {gateway} \\(routes "
                                              f"subnets {served}\\): subnets outside the cut AZ"):
        az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", dry_run=True,
                               configuration=config)
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", dry_run=True,
                                  allow_cross_az_nat_gateways=True, configuration=config)
    assert plan["network_interfaces"]["nat_gateway"] == [interface["NetworkInterfaceId"]]
    assert len(plan["network_interfaces"]["instance"]) == 2

    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", lab.env["ECS_CONTAINER_METADATA_URI_V4"])
    runner_route = ec2.associate_route_table(RouteTableId=table, SubnetId=runner)["AssociationId"]
    with pytest.raises(ValidationError, match=f"NAT gateway {gateway} \\(runner subnet {runner}\\): "
                                              "the runner reaches AWS through it"):
        az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", dry_run=True,
                               allow_cross_az_nat_gateways=True, configuration=config)
    ec2.disassociate_route_table(AssociationId=runner_route)  # a deleted gateway: a blackhole route
    ec2.delete_nat_gateway(NatGatewayId=gateway)
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface",
                                       ServiceName="com.amazonaws.us-east-1.ec2", SubnetIds=[cut],
                                       PrivateDnsEnabled=True)["VpcEndpoint"]["VpcEndpointId"]
    with pytest.raises(ValidationError, match=f"refusing to cut off interface endpoint {endpoint}: "
                                              "the runner calls AWS through it"):
        az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", dry_run=True,
                               configuration=config)
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web", dry_run=True,
                                  allow_endpoint_interfaces=True, configuration=config)
    assert plan["network_interfaces"]["vpc_endpoint"]
    assert lab.timeline()["faults"] == []


def test_an_unanswering_task_metadata_endpoint_refuses_the_blackhole(
        shared_lab: RunningLab, monkeypatch) -> None:
    """Where ECS says the runner runs in a task but its metadata endpoint does not answer, the
    runner's subnet is unknown: the blackhole is refused with one line, nothing changes."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", f"http://127.0.0.1:{port}/v4/runner")
    with pytest.raises(ValidationError, match="cannot tell where the runner runs"):
        az_faults.blackhole_az("us-east-1c", tags="app=web", asg_names="web", dry_run=True,
                               configuration=settings(shared_lab))


def test_blackhole_reads_the_tags_of_more_than_twenty_load_balancers(start_lab) -> None:
    """Issue 19 item 13: ELBv2 DescribeTags takes at most 20 resource ARNs ("Array Members:
    Maximum number of 20 items",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html)
    and the lab refuses more, as AWS does; the blackhole's guardrails read them 20 at a time."""
    lab = start_lab()
    elbv2, ec2 = lab.client("elbv2"), lab.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]]
    names = ["web"] + [f"extra-{n}" for n in range(21)]
    for name in names[1:]:
        elbv2.create_load_balancer(Name=name, Subnets=subnets, Tags=[{"Key": "app", "Value": "web"}])
    arns = [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers(Names=names)["LoadBalancers"]]
    with pytest.raises(ClientError, match="less than or equal to 20"):
        elbv2.describe_tags(ResourceArns=arns)
    plan = az_faults.blackhole_az("us-east-1b", tags="app=web", asg_names="web",
                                  load_balancer_names=",".join(names), dry_run=True,
                                  load_balancer_move="set-subnets",
                                  configuration=settings(lab))
    assert plan["dry_run"] is True and sorted(plan["load_balancer_names"]) == sorted(names)
