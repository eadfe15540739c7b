"""ECS scale-in: the actions with their ledger, exact restore of count and auto scaling, the
waiter and probes, a crash replay, and the shipped experiment on both profiles."""

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import (
    ROOT,
    RunningLab,
    ShippedRuns,
    extension,
    lab_settings,
    ledger_entries,
    ran_within_the_runner_policy,
    run_chaos,
    wait_until,
)

from chaos_sre.aws.client import _cached_session, session_key
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults import ecs as ecs_faults
from chaos_sre.probes import ecs as ecs_probes
from chaos_sre.safety.ledger import Ledger, replay
from chaos_sre.timescale import wall_seconds

EXPERIMENT = ROOT / "experiments" / "ecs-scale-to-zero.json"
CLUSTER, SERVICE = "staging", "api"



def described(lab: RunningLab) -> dict[str, Any]:
    """What a restore must bring back, straight from DescribeServices/DescribeScalableTargets."""
    service = lab.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    targets = lab.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{CLUSTER}/{SERVICE}"])["ScalableTargets"]
    return {"desired": service["desiredCount"],
            "scaling": [(t["MinCapacity"], t["MaxCapacity"], t["SuspendedState"]) for t in targets]}




def test_bad_arguments_and_missing_services_are_one_line_errors(shared_lab: RunningLab,
                                                                own_ledger: Path) -> None:
    config = lab_settings(shared_lab)
    before = described(shared_lab)
    refusals = [
        (ValidationError, "set_desired_count: argument desired_count: expected a whole number, got 'many'",
         {"service": SERVICE, "desired_count": "many"}),
        (ValidationError, "argument desired_count: expected at least 0, got -1",
         {"service": SERVICE, "desired_count": -1}),
        (ValidationError, "got 2.5", {"service": SERVICE, "desired_count": 2.5}),
        (ValidationError, "already has desired count 3: nothing would change",
         {"service": SERVICE, "desired_count": 3}),
        (ValidationError, "argument restore_timeout_seconds: expected more than 0, got 0",
         {"service": SERVICE, "desired_count": 1, "restore_timeout_seconds": 0}),
        (AWSError, "ECS service nope not found (or not ACTIVE) in cluster staging",
         {"service": "nope", "desired_count": 1}),
    ]
    for error, message, arguments in refusals:
        with pytest.raises(error) as caught:
            ecs_faults.set_desired_count(cluster=CLUSTER, configuration=config, **arguments)
        assert message in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(AWSError) as caught:
        ecs_faults.scale_service_to_zero(cluster="no-such-cluster", service=SERVICE,
                                         configuration=config)
    assert caught.value.code == "ClusterNotFoundException"
    plan = ecs_faults.scale_service_to_zero(cluster=CLUSTER, service=SERVICE, dry_run=True,
                                            configuration=config)
    assert plan["dry_run"] is True and plan["after"]["desired_count"] == 0
    assert plan["after"]["scalable_target"]["min"] == 0
    assert described(shared_lab) == before
    assert ledger_entries(own_ledger) == []


def test_a_daemon_service_is_refused_before_anything_changes(start_lab, own_ledger: Path) -> None:
    """Issue 19 item 13: a service using the DAEMON scheduling strategy runs one task per
    container instance and has no desired count; AWS refuses one in UpdateService
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html#service_scheduler_daemon),
    and so does the lab now (moto set it). The fault refuses such a service in one line before
    its ledger records anything."""
    lab = start_lab()
    ecs = lab.client("ecs")
    definition = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
        "taskDefinition"]
    ecs.create_service(cluster=CLUSTER, serviceName="agent", taskDefinition=definition,
                       schedulingStrategy="DAEMON", launchType="EC2")
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.update_service(cluster=CLUSTER, service="agent", desiredCount=0)
    for fault, arguments in ((ecs_faults.scale_service_to_zero, {}),
                             (ecs_faults.set_desired_count, {"desired_count": 2})):
        with pytest.raises(ValidationError) as caught:
            fault(cluster=CLUSTER, service="agent", configuration=lab_settings(lab), **arguments)
        assert "uses the DAEMON scheduling strategy" in str(caught.value)
    assert ledger_entries(own_ledger) == []


def test_a_service_on_a_managed_ec2_capacity_provider_is_refused_unless_allowed(
        start_lab, own_ledger: Path) -> None:
    """Issue 19 item 13: managed scaling sizes an EC2 capacity provider's Auto Scaling group to
    the tasks placed on it ("Amazon ECS capacity provider managed scaling",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers-managed-scaling.html):
    scaled to zero, a service on one lets the group terminate its instances, and the restore
    waits for new ones - a run that churns the cluster's instances and times the launch, not the
    service. The fault refuses such a service (its own strategy, or the cluster's default) before
    recording anything, unless allow_capacity_scale_in says to go ahead, and names the group."""
    lab = start_lab()
    ecs, autoscaling = lab.client("ecs"), lab.client("autoscaling")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])[
        "AutoScalingGroups"][0]
    ecs.create_capacity_provider(name="web-capacity", autoScalingGroupProvider={
        "autoScalingGroupArn": group["AutoScalingGroupARN"],
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100}})
    ecs.create_cluster(clusterName="ec2", capacityProviders=["web-capacity"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "web-capacity",
                                                         "weight": 1}])
    api = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    ecs.create_service(cluster="ec2", serviceName="worker", taskDefinition=api["taskDefinition"],
                       desiredCount=2, networkConfiguration=api["networkConfiguration"])
    config = lab_settings(lab)
    with pytest.raises(ValidationError) as caught:
        ecs_faults.scale_service_to_zero(cluster="ec2", service="worker", configuration=config)
    assert "runs on EC2 capacity provider web-capacity (Auto Scaling group web) with managed " \
        "scaling" in str(caught.value)
    assert ledger_entries(own_ledger) == []
    allowed = ecs_faults.scale_service_to_zero(cluster="ec2", service="worker", dry_run=True,
                                               allow_capacity_scale_in=True, configuration=config)
    assert allowed["managed_capacity_providers"] == {"web-capacity": group["AutoScalingGroupARN"]}
    fargate = ecs_faults.scale_service_to_zero(cluster=CLUSTER, service=SERVICE, dry_run=True,
                                               configuration=config)
    assert "managed_capacity_providers" not in fargate


def test_probes_report_counts_stability_targets_and_scaling(shared_lab: RunningLab) -> None:
    config = lab_settings(shared_lab)
    args = {"cluster": CLUSTER, "service": SERVICE, "configuration": config}
    assert ecs_probes.task_counts(**args) == {"desired": 3, "running": 3, "pending": 0}
    assert ecs_probes.running_task_count(**args) == 3
    assert ecs_probes.service_is_stable(**args) is True
    assert ecs_probes.service_healthy_targets(**args) == 3
    assert ecs_probes.scaling_settings(**args) == {"desired_count": 3, "scalable_target": {
        "min": 3, "max": 9, "suspended": {"DynamicScalingInSuspended": False,
                                          "DynamicScalingOutSuspended": False,
                                          "ScheduledScalingSuspended": False}}}
    assert ecs_probes.wait_until_stable(timeout_seconds=5, poll_seconds=0.2, **args)["running"] == 3
    with pytest.raises(ValidationError, match="poll_seconds must be greater than 0"):
        ecs_probes.wait_until_stable(poll_seconds=0, **args)


def test_set_desired_count_holds_against_auto_scaling_and_restores_exactly(
        start_lab, own_ledger: Path) -> None:
    lab = start_lab()
    config = lab_settings(lab)
    before = described(lab)
    result = ecs_faults.set_desired_count(cluster=CLUSTER, service=SERVICE, desired_count=1,
                                          configuration=config)
    assert result["before"]["desired_count"] == 3 and result["after"]["scalable_target"]["min"] == 1
    intent = [e for e in ledger_entries(own_ledger) if e["kind"] == "intent"]
    assert intent[0]["pre_state"] == result["before"]
    assert intent[0]["inverse"]["op"] == "restore_ecs_service"
    suspended = described(lab)["scaling"][0]
    assert suspended[:2] == (1, 9) and all(suspended[2].values())
    assert wait_until(lambda: ecs_probes.task_counts(CLUSTER, SERVICE, config) ==
                      {"desired": 1, "running": 1, "pending": 0}, timeout=15)
    time.sleep(7)  # past a scaling policy evaluation (60 s AWS): suspended, so it stays at 1
    assert described(lab)["desired"] == 1
    kinds = [e["kind"] for e in lab.timeline()["events"]]
    assert "autoscaling-desired-count-changed" not in kinds

    restored = ecs_faults.restore_service(configuration=config)
    assert described(lab) == before
    assert ecs_probes.service_healthy_targets(CLUSTER, SERVICE, config) == 3
    assert ecs_probes.service_is_stable(CLUSTER, SERVICE, config)
    assert 0 < restored["restore_to_healthy_seconds"] < 300
    assert "restored to desired count 3, auto scaling 3-9" in restored["restored"][0]
    assert ecs_faults.restore_service(configuration=config) == {"restored": []}
    assert described(lab) == before


def test_the_restore_waits_for_healthy_targets_in_every_target_group(
        start_lab, own_ledger: Path) -> None:
    """Issue 19 item 13: an ECS service registers every task with each of its target groups
    ("Use load balancing to distribute Amazon ECS service traffic", several target groups per
    service: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/register-multiple-targetgroups.html),
    and each group runs its own health checks. The restore summed healthy targets over the groups,
    so it declared a two-task service healthy once one group had both tasks healthy and the other,
    with a slower health check, had none. It now waits for each group."""
    lab = start_lab()
    config, ecs, elbv2 = lab_settings(lab), lab.client("ecs"), lab.client("elbv2")
    api = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    fast = api["loadBalancers"][0]["targetGroupArn"]
    vpc = elbv2.describe_target_groups(TargetGroupArns=[fast])["TargetGroups"][0]["VpcId"]
    slow = elbv2.create_target_group(
        Name="api-admin", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
        HealthCheckPath="/api/health", HealthCheckIntervalSeconds=60, HealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_service(
        cluster=CLUSTER, serviceName="api-two", taskDefinition=api["taskDefinition"], desiredCount=2,
        launchType="FARGATE", networkConfiguration=api["networkConfiguration"],
        loadBalancers=[{"targetGroupArn": arn, "containerName": SERVICE, "containerPort": 8080}
                       for arn in (fast, slow)])

    def healthy(arn: str) -> int:
        return sum(1 for d in elbv2.describe_target_health(TargetGroupArn=arn)[
            "TargetHealthDescriptions"] if d["TargetHealth"]["State"] == "healthy")

    assert wait_until(lambda: healthy(slow) == 2, timeout=30)
    ecs_faults.scale_service_to_zero(cluster=CLUSTER, service="api-two", configuration=config)
    assert wait_until(lambda: ecs_probes.task_counts(CLUSTER, "api-two", config)["running"] == 0,
                      timeout=30)
    ecs_faults.restore_service(configuration=config)
    assert healthy(slow) == 2, "the restore ended before the slower target group was healthy"
    assert ecs_probes.service_healthy_targets(CLUSTER, "api-two", config) == 2


def test_a_crashed_run_is_restored_from_its_ledger_file(start_lab, own_ledger: Path) -> None:
    """Also: the count holds when a scaling policy evaluates between UpdateService and
    RegisterScalableTarget. RegisterScalableTarget "changes the resource's current capacity to a
    value that is inside of this range" and a target tracking policy keeps the count within
    min/max (Application Auto Scaling API Reference, RegisterScalableTarget; "Target tracking
    scaling policies for Application Auto Scaling"): a count of 0 below the old minimum of 3 went
    back to 3 when the register call was slow (retried under throttling, 1 run in 8 at 20 % API
    faults). The register call is held here past one policy evaluation of the lab."""
    lab = start_lab()
    config = lab_settings(lab)
    before = described(lab)
    events, held = _cached_session(session_key(config, None)).events, []  # the fault's clients'

    def slow_register(**_: Any) -> None:
        held.append(time.time())
        time.sleep(wall_seconds(65))  # past one 60 s (AWS) policy evaluation

    event = "before-call.application-auto-scaling.RegisterScalableTarget"
    events.register(event, slow_register)
    try:
        ecs_faults.scale_service_to_zero(cluster=CLUSTER, service=SERVICE, configuration=config)
    finally:
        events.unregister(event, slow_register)
    assert len(held) == 1
    assert described(lab)["desired"] == 0
    # another process (the runner died) replays the file it left behind
    ledger = Ledger(sorted(own_ledger.glob("*.jsonl"))[0])
    outcomes = replay(ledger, config)
    assert len(outcomes) == 1 and "stable with 3 healthy targets" in outcomes[0]
    assert described(lab) == before
    assert replay(ledger, config) == []


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_a_service_deployed_by_task_sets_is_refused(start_lab, controller: str) -> None:
    """Issue 36 item 10: a service with the CODE_DEPLOY or EXTERNAL deployment controller runs
    its tasks in task sets, and DescribeServices lists deployments only for the ECS controller
    ("deployments", "taskSets", Amazon ECS API Reference, DescribeServices; the lab answers as
    AWS does), so the restore's services_stable wait (one deployment at the desired count) never
    held and the run ended with the count changed and the restore timed out. Refused before any
    change, naming the controller."""
    lab = start_lab()
    ecs = lab.client("ecs")
    api = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    ecs.create_service(cluster=CLUSTER, serviceName="blue-green", taskDefinition=api["taskDefinition"],
                       desiredCount=0, launchType="FARGATE",
                       networkConfiguration=api["networkConfiguration"],
                       deploymentController={"type": controller})
    assert ecs.describe_services(cluster=CLUSTER, services=["blue-green"])["services"][0][
        "deployments"] == []
    with pytest.raises(ValidationError, match=f"blue-green in cluster {CLUSTER} uses the {controller} "
                                              "deployment controller"):
        ecs_faults.set_desired_count(cluster=CLUSTER, service="blue-green", desired_count=2,
                                     dry_run=True, configuration=lab_settings(lab))
    assert ecs.describe_services(cluster=CLUSTER, services=["blue-green"])["services"][0][
        "desiredCount"] == 0


def test_a_refused_count_change_after_the_scaling_change_is_still_restored(
        shared_lab: RunningLab, own_ledger: Path) -> None:
    """RegisterScalableTarget goes first (suspending scaling and lowering the minimum, the count
    inside the new range), so a refused RegisterScalableTarget changes nothing
    (test_refused_mutations) and no policy evaluation comes between the two calls; when AWS then
    refuses UpdateService the scalable target was changed: the ledger says "partly applied" and
    the rollback restores it. (The permission check before the first change would refuse the
    run with nothing changed; it is turned off here for the call-time refusal AWS can still
    give, by a policy the simulation does not see.)"""
    config = {**lab_settings(shared_lab), "preflight_permissions": False}
    before = described(shared_lab)
    shared_lab.deny("ecs:UpdateService")
    try:
        with pytest.raises(AWSError, match="AccessDeniedException"):
            ecs_faults.scale_service_to_zero(cluster=CLUSTER, service=SERVICE,
                                             configuration=config)
    finally:
        shared_lab.deny()
    outcomes = [e for e in ledger_entries(own_ledger) if e["kind"] in ("done", "failed")]
    assert [e["kind"] for e in outcomes] == ["done"]
    assert outcomes[0]["outcome"].startswith("partly applied: update_service failed")
    assert shared_lab.timeline()["faults"] == []  # the count never moved
    ecs_faults.restore_service(configuration=config)
    assert described(shared_lab) == before


def test_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab: the web tier falls back while ``api`` has
    no task. That the run restores exactly, under API faults too, is
    tests/e2e/test_api_faults.py's (its account snapshot holds what :func:`described` reads)."""
    journal = shipped_runs.journal("ecs-scale-to-zero")
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True, ext["verdict"]["reasons"]
    assert "no bad sample after the fault: the SLI never dropped" in ext["verdict"]["reasons"]
    assert journal["run"][1]["output"] == {"desired": 0, "running": 0, "pending": 0}
    assert ext["budget"]["consumed_fraction"] <= ext["budget"]["allowed_fraction"]
    assert 0 < ext["recovery"]["restore_to_healthy_seconds"] <= ext["recovery"]["restore_rto_seconds"]
    truth = shipped_runs.lab_truth("ecs-scale-to-zero")
    assert truth.causes["200-api-fallback"] > 0  # the web tier fell back
    assert [f["kind"] for f in truth.faults] == ["ecs-desired-count-decreased"]


@pytest.mark.e2e
def test_experiment_fails_on_fragile_with_reasons_and_still_restores(start_lab,
                                                                     tmp_path: Path) -> None:
    lab = start_lab("--profile", "fragile")
    before = described(lab)
    status, journal, _ = run_chaos(lab, EXPERIMENT, tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("of the error budget" in r and "more than" in r for r in reasons), reasons
    assert any("to be healthy again, more than the restore RTO" in r for r in reasons), reasons
    assert described(lab) == before == {"desired": 1, "scaling": []}
    ran_within_the_runner_policy(lab)
