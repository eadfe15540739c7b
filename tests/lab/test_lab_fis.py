"""AWS FIS in the lab: experiment templates that ``chaos-sre fis export`` writes, run by the
lab as FIS runs them - target resolution, actions on the lab's own resources for their
durations, experiment and action states, StopExperiment ("Experiments for AWS FIS")."""

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, RunningLab, lab_for_module, throttle_in_units, wait_until

from chaos_sre import iam
from chaos_sre.fis.export import Export, export
from chaos_sre.fis.role import TRUST_POLICY, role_policy

ACCOUNT = "123456789012"
TOKENS = itertools.count()
"""A new clientToken per template created: FIS (and moto) answer a token it knows with that
template again."""
ENDED = ("completed", "failed", "stopped")


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


def template(name: str, **changes: Any) -> dict[str, Any]:
    exported = export(ROOT / "experiments" / f"{name}.json", account_id=ACCOUNT).template
    return {**exported, **changes}


def run(lab: RunningLab, body: dict[str, Any], **options: Any) -> tuple[str, dict[str, Any]]:
    """Create the template, start an experiment of it, wait (bounded) until it ends."""
    fis = lab.client("fis")
    unique = {**body, "clientToken": f"{body['clientToken']}-{next(TOKENS)}"}
    template_id = fis.create_experiment_template(**unique)["experimentTemplate"]["id"]
    experiment_id = fis.start_experiment(experimentTemplateId=template_id, **options)[
        "experiment"]["id"]

    def ended() -> dict[str, Any] | None:
        found = fis.get_experiment(id=experiment_id)["experiment"]
        return found if found["state"]["status"] in ENDED else None

    found = wait_until(ended, timeout=30, interval=0.1)
    assert found, fis.get_experiment(id=experiment_id)["experiment"]["state"]
    return experiment_id, found


def with_runbook(lab: RunningLab, exported: Export, hold: str) -> dict[str, Any]:
    """Create the exported template's SSM Automation document in the lab (CreateDocument, as
    docs/fis.md says) and hold its fault ``hold`` long; the template."""
    [runbook] = exported.documents
    lab.client("ssm").create_document(Content=json.dumps(runbook.content), Name=runbook.name,
                                      DocumentType="Automation", DocumentFormat="JSON")
    [action] = exported.template["actions"].values()
    parameters = json.loads(action["parameters"]["documentParameters"])
    action["parameters"]["documentParameters"] = json.dumps({**parameters, "Duration": hold})
    return exported.template


def resolved(lab: RunningLab, experiment_id: str) -> list[str]:
    return sorted(t["targetInformation"]["arn"].rsplit("/", 1)[-1] for t in lab.client(
        "fis").list_experiment_resolved_targets(experimentId=experiment_id)["resolvedTargets"])


def test_a_preview_resolves_the_targets_and_changes_nothing_and_what_fis_cannot_resolve_fails(
        module_lab: RunningLab) -> None:
    """``actionsMode: skip-all`` resolves the targets and skips every action; a target that
    resolves to nothing fails the experiment under ``emptyTargetResolutionMode: fail`` (FIS's
    "Target resolution returned empty set"); a resource type the lab does not resolve (ECS
    tasks, so far) fails it with that reason - never a completed experiment that did nothing."""
    lab = module_lab
    body = template("az-outage")
    experiment_id, preview = run(lab, body, experimentOptions={"actionsMode": "skip-all"})
    assert preview["state"]["status"] == "completed"
    assert [a["state"]["status"] for a in preview["actions"].values()] == ["skipped"]
    in_az = sorted(i["InstanceId"] for i in lab.web_instances("running")
                   if i["Placement"]["AvailabilityZone"] == "us-east-1a")
    assert resolved(lab, experiment_id) == in_az and len(in_az) == 2
    assert lab.timeline()["faults"] == []

    target = body["targets"]["terminate-az-instances-instances"]
    empty = {**body, "targets": {"terminate-az-instances-instances": {
        **target, "resourceTags": {**target["resourceTags"], "app": "nothing"}}}}
    _, failed = run(lab, empty)
    assert failed["state"] == {"status": "failed", "reason": "Target resolution returned empty set: "
                                                             "terminate-az-instances-instances"}
    assert [a["state"]["status"] for a in failed["actions"].values()] == ["cancelled"]

    tasks = {**body, "targets": {"tasks": {"resourceType": "aws:ecs:task", "selectionMode": "ALL",
                                           "resourceTags": {"app": "api"}}},
             "actions": {"stop-tasks": {"actionId": "aws:ecs:stop-task", "targets": {"Tasks": "tasks"}}}}
    _, unresolved = run(lab, tasks)
    assert unresolved["state"] == {"status": "failed", "reason": "the chaos-sre lab does not "
                                                                 "resolve resource type aws:ecs:task"}
    assert lab.timeline()["faults"] == []


def test_the_exported_az_outage_and_rds_failover_run_on_what_they_resolved(start_lab) -> None:
    """The az-outage template: its running instances of group web in us-east-1a resolved and
    terminated by aws:ec2:terminate-instances, and the lab's ground truth sees exactly those.
    The rds-failover template: aws:rds:failover-db-cluster on cluster orders by its ARN, and
    the writer moves out of us-east-1a (the lab's Aurora failover)."""
    lab = start_lab()
    experiment_id, done = run(lab, template("az-outage"))
    assert done["state"]["status"] == "completed", done["state"]
    taken = resolved(lab, experiment_id)
    assert len(taken) == 2
    assert wait_until(lambda: sorted(f["resource"] for f in lab.timeline()["faults"]
                                     if f["kind"] == "instance-terminated") == taken, timeout=5)
    experiment_id, done = run(lab, template("rds-failover"))
    assert done["state"]["status"] == "completed", done["state"]
    assert resolved(lab, experiment_id) == [f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:orders"]
    rds = lab.client("rds")

    def writer_zone() -> str:
        cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
        writer = next(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]
                      if m["IsClusterWriter"])
        return str(rds.describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"][0][
            "AvailabilityZone"])

    assert wait_until(lambda: writer_zone() != "us-east-1a", timeout=15)


def test_a_network_cut_holds_for_its_duration_and_a_stop_gives_it_back(start_lab) -> None:
    """aws:network:disrupt-connectivity (scope all) on the blackhole's subnets: a network ACL
    tagged managedByFIS denies their traffic for the action's duration (PT1M: 6 s at time scale
    0.1), then each subnet's ACL is given back and the new one deleted. StopExperiment ends a
    second cut early the same way: the action ``stopped``, the experiment ``stopped``."""
    lab = start_lab()
    blackhole = template("az-blackhole")
    cut = {**blackhole, "targets": {"blackhole-az-subnets": blackhole["targets"]["blackhole-az-subnets"]},
           "actions": {"cut": {**blackhole["actions"]["blackhole-az-cut-network"],
                               "parameters": {"duration": "PT1M", "scope": "all"}}},
           "stopConditions": [{"source": "none"}]}
    ec2 = lab.client("ec2")

    def network() -> dict[str, list[str]]:
        """Each network ACL and the subnets it is associated with (a replaced association gets
        a new id, as on AWS)."""
        return {acl["NetworkAclId"]: sorted(a["SubnetId"] for a in acl["Associations"])
                for acl in ec2.describe_network_acls()["NetworkAcls"]}

    before = network()
    started = time.monotonic()
    experiment_id, done = run(lab, cut)
    assert done["state"]["status"] == "completed", done["state"]
    assert time.monotonic() - started >= 6 * 0.9
    subnets = resolved(lab, experiment_id)
    events = [(e["kind"], e["resource"]) for e in lab.timeline()["events"]
              if e["kind"] in ("subnet-unreachable", "subnet-reachable")]
    assert {r for k, r in events if k == "subnet-unreachable"} == set(subnets)
    assert wait_until(lambda: {r for k, r in [(e["kind"], e["resource"]) for e in lab.timeline()[
        "events"]] if k == "subnet-reachable"} >= set(subnets), timeout=5)
    assert network() == before

    fis = lab.client("fis")
    template_id = fis.create_experiment_template(**{**cut, "clientToken": "second"})[
        "experimentTemplate"]["id"]
    second = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: fis.get_experiment(id=second)["experiment"]["actions"]["cut"][
        "state"]["status"] == "running", timeout=5, interval=0.05)
    fis.stop_experiment(id=second)
    assert wait_until(lambda: fis.get_experiment(id=second)["experiment"]["state"]["status"]
                      == "stopped", timeout=5, interval=0.05)
    stopped = fis.get_experiment(id=second)["experiment"]
    assert stopped["actions"]["cut"]["state"]["status"] == "stopped"
    assert network() == before
    json.dumps(stopped, default=str)


def test_fis_acts_through_the_api_with_its_role_from_outside_the_network_it_cuts(start_lab) -> None:
    """FIS calls the services' APIs with the experiment's role ("Experiment role"; its calls are
    in CloudTrail under that role's session), from AWS's side: a cut of the runner's own subnet
    leaves the runner's calls unanswered but not FIS's, which give the subnet its ACL back when
    the duration ends. Every call FIS made is counted (``lab status``) and logged as a caller's,
    so a run's requests can be told in full."""
    lab = start_lab()
    ec2 = lab.client("ec2")
    runner = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["runner-us-east-1c"]}])[
        "Subnets"][0]["SubnetId"]
    before = {acl["NetworkAclId"]: sorted(a["SubnetId"] for a in acl["Associations"])
              for acl in ec2.describe_network_acls()["NetworkAcls"]}
    blackhole = template("az-blackhole")
    cut = {**blackhole, "clientToken": "runner-cut", "stopConditions": [{"source": "none"}],
           "targets": {"runner": {"resourceType": "aws:ec2:subnet", "selectionMode": "ALL",
                                  "resourceArns": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{runner}"]}},
           "actions": {"cut": {"actionId": "aws:network:disrupt-connectivity", "targets": {"Subnets": "runner"},
                               "parameters": {"duration": "PT20S", "scope": "all"}}}}
    fis = lab.client("fis")
    template_id = fis.create_experiment_template(**cut)["experimentTemplate"]["id"]
    experiment_id = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]

    def experiment() -> dict[str, Any]:
        """Read from the lab's own routes: the runner's AWS calls get no answer meanwhile."""
        return next(e for e in lab.api.status()["fis_experiments"] if e["id"] == experiment_id)

    assert wait_until(lambda: lab.api.status()["caller"]["route_cut"], timeout=10, interval=0.05)
    assert wait_until(lambda: experiment()["status"] in ENDED, timeout=30, interval=0.1)
    assert experiment()["status"] == "completed", experiment()
    assert lab.api.status()["caller"]["route_cut"] is None
    after = {acl["NetworkAclId"]: sorted(a["SubnetId"] for a in acl["Associations"])
             for acl in ec2.describe_network_acls()["NetworkAcls"]}
    assert after == before
    calls = experiment()["api_calls"]
    assert {k: calls.get(k) for k in ("sts:AssumeRole", "ec2:CreateNetworkAcl", "ec2:DeleteNetworkAcl")} \
        == {"sts:AssumeRole": 1, "ec2:CreateNetworkAcl": 1, "ec2:DeleteNetworkAcl": 1}
    assert calls["ec2:ReplaceNetworkAclAssociation"] >= 2 and calls["ec2:DescribeSubnets"] >= 1
    logged = lab.api_calls()
    assert {"ec2:CreateNetworkAcl", "ec2:ReplaceNetworkAclAssociation", "ec2:DeleteNetworkAcl"} <= set(logged)


def test_fis_acts_only_as_a_role_that_trusts_it_and_only_as_far_as_the_exported_policy_allows(
        start_lab) -> None:
    """FIS assumes the experiment's role, which must trust ``fis.amazonaws.com``, and its calls
    are allowed by the role's policies alone ("Experiment role for AWS FIS"). With the role in
    the lab's IAM: one that trusts another service fails the experiment before anything
    changes; the exported role policy without its TerminateInstances statement fails the action
    naming the call; the exported policy whole lets the az-outage and a network cut run (the
    cut's ACL created with its tag, associated, given back and deleted)."""
    lab = start_lab()
    iam = lab.client("iam")
    outage = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT)
    role = outage.template["roleArn"].rsplit("/", 1)[-1]
    other = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(other))
    _, refused = run(lab, outage.template)
    assert refused["state"]["status"] == "failed"
    assert refused["state"]["reason"].startswith(f"Unable to assume role {outage.template['roleArn']}")
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(TRUST_POLICY))
    policy = outage.role_policy()
    without = {**policy, "Statement": [s for s in policy["Statement"]
                                       if "ec2:TerminateInstances" not in s["Action"]]}
    iam.put_role_policy(RoleName=role, PolicyName="fis", PolicyDocument=json.dumps(without))
    _, denied = run(lab, outage.template)
    assert denied["state"]["status"] == "failed" and "ec2:TerminateInstances" in denied["state"]["reason"]
    assert lab.timeline()["faults"] == []
    iam.put_role_policy(RoleName=role, PolicyName="fis", PolicyDocument=json.dumps(policy))
    experiment_id, done = run(lab, outage.template)
    assert done["state"]["status"] == "completed", done["state"]
    assert wait_until(lambda: sorted(f["resource"] for f in lab.timeline()["faults"]
                                     if f["kind"] == "instance-terminated") == resolved(lab, experiment_id),
                      timeout=5)

    blackhole = export(ROOT / "experiments" / "az-blackhole.json", account_id=ACCOUNT)
    cut = {**blackhole.template, "stopConditions": [{"source": "none"}],
           "targets": {"subnets": blackhole.template["targets"]["blackhole-az-subnets"]},
           "actions": {"cut": {**blackhole.template["actions"]["blackhole-az-cut-network"],
                               "targets": {"Subnets": "subnets"},
                               "parameters": {"duration": "PT10S", "scope": "all"}}}}
    cut_role = cut["roleArn"].rsplit("/", 1)[-1]
    iam.create_role(RoleName=cut_role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    iam.put_role_policy(RoleName=cut_role, PolicyName="fis", PolicyDocument=json.dumps(role_policy(
        cut, "us-east-1", ACCOUNT)))
    acls = {acl["NetworkAclId"] for acl in lab.client("ec2").describe_network_acls()["NetworkAcls"]}
    _, done = run(lab, cut)
    assert done["state"]["status"] == "completed", done["state"]
    assert {acl["NetworkAclId"] for acl in lab.client("ec2").describe_network_acls()["NetworkAcls"]} == acls


def test_the_exported_lab_smoke_and_az_blackhole_run_on_what_they_resolved(
        start_lab) -> None:
    """First the lab-smoke template (chaostoolkit-aws's terminate_instances as FIS
    terminate-instances): the web instances in us-east-1a resolved by tag and filters, and
    terminated. Then the az-blackhole template, its hold shortened to PT1M (6 s at time scale
    0.1): the AZ's subnets cut by a managedByFIS network ACL, the group's launches there failing
    for capacity, and a zonal autoshift (FIS_EXPERIMENT) of the load balancer, which has zonal
    autoshift enabled (the resilient profile's; enabling it again needs its practice run
    configuration first, as ARC requires). At the end each
    is given back: the subnets' ACLs, the launches, the shift cancelled."""
    lab = start_lab()
    smoke_id, smoke = run(lab, template("lab-smoke"))  # chaostoolkit-aws's terminate, in FIS
    assert smoke["state"]["status"] == "completed", smoke
    assert wait_until(lambda: sorted(f["resource"] for f in lab.timeline()["faults"]
                                     if f["kind"] == "instance-terminated") == resolved(lab, smoke_id),
                      timeout=5)
    arn = lab.client("elbv2").describe_load_balancers(Names=["web"])["LoadBalancers"][0][
        "LoadBalancerArn"]
    arc = lab.client("arc-zonal-shift")
    assert arc.get_managed_resource(resourceIdentifier=arn)["zonalAutoshiftStatus"] == "ENABLED"
    arc.update_zonal_autoshift_configuration(resourceIdentifier=arn, zonalAutoshiftStatus="DISABLED")
    arc.delete_practice_run_configuration(resourceIdentifier=arn)  # the resilient profile's, made again
    with pytest.raises(ClientError, match="no practice run configuration"):
        arc.update_zonal_autoshift_configuration(resourceIdentifier=arn, zonalAutoshiftStatus="ENABLED")
    arc.create_practice_run_configuration(resourceIdentifier=arn, outcomeAlarms=[{
        "type": "CLOUDWATCH", "alarmIdentifier": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:web-slo"}])
    arc.update_zonal_autoshift_configuration(resourceIdentifier=arn, zonalAutoshiftStatus="ENABLED")
    assert arc.get_managed_resource(resourceIdentifier=arn)["zonalAutoshiftStatus"] == "ENABLED"
    body = template("az-blackhole")
    for action in body["actions"].values():
        action["parameters"]["duration"] = "PT1M"
    experiment_id, done = run(lab, body)
    assert done["state"]["status"] == "completed", done
    assert {a["state"]["status"] for a in done["actions"].values()} == {"completed"}, done
    [shift] = arc.list_zonal_shifts(status="CANCELED")["items"]
    assert (shift["resourceIdentifier"], shift["shiftType"]) == (arn, "FIS_EXPERIMENT")
    kinds = [(e["kind"], e["resource"]) for e in lab.timeline()["events"]]
    cut = {r for k, r in kinds if k == "subnet-unreachable"}
    assert cut and cut <= set(resolved(lab, experiment_id)), kinds
    assert not arc.list_zonal_shifts()["items"]
    assert lab.api.status()["fis_experiments"][-1]["status"] == "completed"


def test_the_exported_ecs_automation_scales_to_zero_and_back_and_a_stop_runs_its_undo(
        start_lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """aws:ssm:start-automation-execution of the generated document (created with SSM
    CreateDocument, as docs/fis.md says): the scalable target held, the service at 0 tasks for
    the hold (PT1M), then the count and the target exactly as before. A second experiment
    stopped mid-hold cancels the automation: its onCancel steps give everything back first
    (the action ``stopping``, then ``stopped``), then the experiment is ``stopped``."""
    lab = start_lab()
    monkeypatch.setenv("AWS_ENDPOINT_URL", lab.env["AWS_ENDPOINT_URL"])
    exported = export(ROOT / "experiments" / "ecs-scale-to-zero.json", account_id=ACCOUNT)
    body = with_runbook(lab, exported, "PT1M")
    ecs, scaling = lab.client("ecs"), lab.client("application-autoscaling")

    def state() -> tuple[int, Any]:
        service = ecs.describe_services(cluster="staging", services=["api"])["services"][0]
        target = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[
            "service/staging/api"])["ScalableTargets"][0]
        return service["desiredCount"], (target["MinCapacity"], target["MaxCapacity"],
                                         target["SuspendedState"])

    before = state()
    assert before[0] == 3
    fis = lab.client("fis")
    template_id = fis.create_experiment_template(**body)["experimentTemplate"]["id"]
    first = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: state()[0] == 0, timeout=10, interval=0.1)
    assert wait_until(lambda: fis.get_experiment(id=first)["experiment"]["state"]["status"]
                      in ENDED, timeout=40)
    assert fis.get_experiment(id=first)["experiment"]["state"]["status"] == "completed"
    assert wait_until(lambda: state() == before, timeout=10)

    second = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: state()[0] == 0, timeout=10, interval=0.1)
    fis.stop_experiment(id=second)
    assert wait_until(lambda: fis.get_experiment(id=second)["experiment"]["state"]["status"]
                      == "stopped", timeout=40)
    stopped = fis.get_experiment(id=second)["experiment"]
    assert [a["state"]["status"] for a in stopped["actions"].values()] == ["stopped"]
    assert state() == before
    kinds = [e["kind"] for e in lab.timeline()["events"] if e["resource"].startswith(second)]
    assert kinds.index("fis-action-stopping") < kinds.index("fis-action-stopped")


def test_the_exported_dynamodb_automation_throttles_and_restores_the_table(
        start_lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The throttle's generated document run by the lab's FIS: the table's auto scaling held,
    its capacity lowered to the planned units for the hold (PT1M), then the capacity and each
    scalable target exactly as before. The export plans the throttle (its document needs the
    planned units) as a runner held to `iam policy --engine fis` alone: it checks the guardrails,
    not the runner's own permissions for the changes, which the automation's role makes."""
    lab = start_lab()
    monkeypatch.setenv("AWS_ENDPOINT_URL", lab.env["AWS_ENDPOINT_URL"])
    experiment = throttle_in_units(tmp_path)
    lab.attach_policy(iam.policy_for([experiment], region=None, engine="fis"), "fis-runner")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fis-runner")
    exported = export(experiment, account_id=ACCOUNT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", lab.env["AWS_ACCESS_KEY_ID"])
    with_runbook(lab, exported, "PT1M")
    dynamodb, scaling = lab.client("dynamodb"), lab.client("application-autoscaling")

    def state() -> tuple[Any, Any]:
        throughput = dynamodb.describe_table(TableName="sessions")["Table"]["ProvisionedThroughput"]
        targets = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[
            "table/sessions"])["ScalableTargets"]
        return ((throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]),
                sorted((t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"],
                        tuple(sorted(t["SuspendedState"].items()))) for t in targets))

    before = state()
    assert before[0] == (100, 100)
    fis = lab.client("fis")
    template_id = fis.create_experiment_template(**exported.template)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: state()[0] == (10, 10), timeout=15, interval=0.1)
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
                      in ENDED, timeout=60)
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "completed"
    assert wait_until(lambda: state() == before, timeout=15)


def test_the_exported_lambda_automation_throttles_the_function_and_removes_its_reservation(
        module_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """FIS has no reserved-concurrency action (its Lambda actions act inside invocations), so
    the throttle runs as the generated automation: PutFunctionConcurrency 0 for the hold, then -
    the function had no reservation - DeleteFunctionConcurrency, not a Put of some number."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", module_lab.env["AWS_ENDPOINT_URL"])
    exported = export(ROOT / "experiments" / "lambda-throttle.json", account_id=ACCOUNT)
    steps = [(s["name"], s["inputs"].get("Api")) for s in exported.documents[0].content["mainSteps"]]
    assert steps == [("Throttle", "PutFunctionConcurrency"), ("Hold", None),
                     ("UndoThrottle", "DeleteFunctionConcurrency")]
    aws = module_lab.client("lambda")
    seen: list[Any] = []
    fis = module_lab.client("fis")
    body = with_runbook(module_lab, exported, "PT30S")
    template_id = fis.create_experiment_template(**body)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: seen.append(aws.get_function_concurrency(
        FunctionName="api-worker").get("ReservedConcurrentExecutions")) or seen[-1] == 0,
        timeout=10, interval=0.1)
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
                      in ENDED, timeout=30)
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "completed"
    assert aws.get_function_concurrency(FunctionName="api-worker").get(
        "ReservedConcurrentExecutions") is None


def test_the_exported_s3_automation_denies_the_role_and_deletes_the_policy_it_added(
        module_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """FIS has no action that changes a bucket policy, so S3 access denied runs as the generated
    automation: PutBucketPolicy with the deny statement for the hold, then - the bucket had no
    policy - DeleteBucketPolicy, not a Put of an empty policy (S3 has none)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", module_lab.env["AWS_ENDPOINT_URL"])
    exported = export(ROOT / "experiments" / "s3-access-denied.json", account_id=ACCOUNT)
    steps = [(s["name"], s["inputs"].get("Api")) for s in exported.documents[0].content["mainSteps"]]
    assert steps == [("DenyAccess", "PutBucketPolicy"), ("Hold", None),
                     ("UndoDenyAccess", "DeleteBucketPolicy")]
    assert {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"} <= {
        action for s in (exported.automation_role or {})["Statement"] for action in s["Action"]}
    s3 = module_lab.client("s3")
    fis = module_lab.client("fis")
    body = with_runbook(module_lab, exported, "PT30S")
    template_id = fis.create_experiment_template(**body)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: _has_policy(s3) and "ChaosSreDenywebapp" in s3.get_bucket_policy(
        Bucket="uploads")["Policy"], timeout=10, interval=0.1)
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
                      in ENDED, timeout=30)
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "completed"
    assert not _has_policy(s3)


def test_the_exported_replication_pause_holds_new_objects_pending_and_replicates_them_after(
        module_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """aws:s3:bucket-pause-replication ("AWS FIS actions reference"): the buckets carrying the
    target's tags (FIS targets S3 buckets by tags only) stop replicating for the duration;
    unlike disabled rules, an object written meanwhile waits PENDING and is replicated once the
    pause ends. The replication configuration is never changed."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", module_lab.env["AWS_ENDPOINT_URL"])
    exported = export(ROOT / "experiments" / "s3-replication-paused.json", account_id=ACCOUNT)
    [(name, action)] = exported.template["actions"].items()
    assert action["actionId"] == "aws:s3:bucket-pause-replication"
    [target] = exported.template["targets"].values()
    assert target["resourceType"] == "aws:s3:bucket"
    assert target["resourceTags"] == {"app": "web", "env": "staging"}
    s3, fis = module_lab.client("s3"), module_lab.client("fis")
    configuration = s3.get_bucket_replication(Bucket="uploads")["ReplicationConfiguration"]
    body = {**exported.template, "clientToken": "pause-replication",
            "actions": {name: {**action, "parameters": {**action["parameters"], "duration": "PT30S"}}}}
    template_id = fis.create_experiment_template(**body)["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
                      == "running", timeout=5, interval=0.05)
    s3.put_object(Bucket="uploads", Key="fis/during.bin", Body=b"during")
    time.sleep(1.0)  # ten AWS seconds: twice the lab's replication time
    assert s3.head_object(Bucket="uploads", Key="fis/during.bin")["ReplicationStatus"] == "PENDING"
    assert s3.get_bucket_replication(Bucket="uploads")["ReplicationConfiguration"] == configuration
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
                      in ENDED, timeout=30)
    assert fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "completed"
    assert wait_until(lambda: s3.head_object(Bucket="uploads", Key="fis/during.bin")
                      .get("ReplicationStatus") == "COMPLETED", timeout=10, interval=0.1)
    assert s3.head_object(Bucket="uploads-replica", Key="fis/during.bin")["ReplicationStatus"] == "REPLICA"


def _has_policy(s3: Any) -> bool:
    try:
        s3.get_bucket_policy(Bucket="uploads")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return False
    return True


def test_the_safety_lever_stops_running_experiments_and_refuses_new_ones(
        module_lab: RunningLab) -> None:
    """"Safety lever for AWS FIS": engaged (with a reason), it stops every running experiment and
    StartExperiment is refused (ConflictException) until it is disengaged. moto has no safety
    lever: the lab answers GetSafetyLever and UpdateSafetyLeverState, moto the rest of FIS."""
    fis = module_lab.client("fis")
    wait = {"description": "hold", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-fis",
            "stopConditions": [{"source": "none"}], "clientToken": "lever",
            "actions": {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}}}}
    template_id = fis.create_experiment_template(**wait)["experimentTemplate"]["id"]
    running = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    assert wait_until(lambda: fis.get_experiment(id=running)["experiment"]["state"]["status"]
                      == "running", timeout=5, interval=0.05)
    assert fis.get_safety_lever(id="default")["safetyLever"]["state"]["status"] == "disengaged"
    lever = fis.update_safety_lever_state(id="default", state={"status": "engaged",
                                                               "reason": "incident 42"})
    assert lever["safetyLever"]["state"] == {"status": "engaged", "reason": "incident 42"}
    try:
        assert wait_until(lambda: fis.get_experiment(id=running)["experiment"]["state"] == {
            "status": "stopped", "reason": "Experiment stopped by the safety lever: incident 42"},
            timeout=5, interval=0.05)
        with pytest.raises(ClientError, match="ConflictException.*safety lever is engaged"):
            fis.start_experiment(experimentTemplateId=template_id)
    finally:
        fis.update_safety_lever_state(id="default", state={"status": "disengaged", "reason": "over"})
    again = fis.start_experiment(experimentTemplateId=template_id,
                                 experimentOptions={"actionsMode": "skip-all"})["experiment"]["id"]
    assert wait_until(lambda: fis.get_experiment(id=again)["experiment"]["state"]["status"]
                      == "completed", timeout=5, interval=0.05)
