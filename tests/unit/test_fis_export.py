"""``chaos-sre fis export``: experiments as FIS CreateExperimentTemplate inputs (pure: no lab, no
AWS call - the account is given)."""

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from conftest import ROOT, run_cli

from chaos_sre.errors import ValidationError
from chaos_sre.fis.actions import ACTIONS, check_action, duration_seconds, iso_duration
from chaos_sre.fis.automation import ApiCall, Change, Wait, document
from chaos_sre.fis.export import export, fault_seconds

ACCOUNT = "123456789012"
EXPORTED = ["az-outage", "az-blackhole", "rds-failover", "lab-smoke"]


def exported(name: str, **changes: Any) -> dict[str, Any]:
    return export(ROOT / "experiments" / f"{name}.json", account_id=ACCOUNT, **changes).template


def with_arguments(tmp_path: Path, name: str, **arguments: Any) -> Path:
    """The shipped experiment with its first action's arguments changed."""
    document = json.loads((ROOT / "experiments" / f"{name}.json").read_text())
    action = next(step for step in document["method"] if step["type"] == "action")
    action["provider"]["arguments"].update(arguments)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("name", EXPORTED)
def test_a_shipped_experiment_exports_to_a_valid_template(name: str) -> None:
    """The export checks every action against the FIS action table and the whole input against
    botocore's CreateExperimentTemplate input shape; a second export is the same template (its
    clientToken too, so creating it twice is idempotent)."""
    template = exported(name)
    assert template == exported(name)
    assert template["experimentOptions"] == {"accountTargeting": "single-account",
                                             "emptyTargetResolutionMode": "fail"}
    assert template["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-fis-{name}"
    assert template["tags"] == {"chaos-sre:experiment": name}
    for action in template["actions"].values():
        assert set(action.get("targets", {}).values()) <= set(template["targets"])
        assert action["actionId"] in ACTIONS


def test_the_az_outage_is_fis_terminate_instances_on_the_groups_running_instances_in_the_az() -> None:
    template = exported("az-outage")
    assert template["targets"] == {"terminate-az-instances-instances": {
        "resourceType": "aws:ec2:instance", "selectionMode": "ALL",
        "resourceTags": {"app": "web", "env": "staging", "aws:autoscaling:groupName": "web"},
        "filters": [{"path": "Placement.AvailabilityZone", "values": ["us-east-1a"]},
                    {"path": "State.Name", "values": ["running"]}]}}
    assert template["actions"] == {"terminate-az-instances-take-instances": {
        "actionId": "aws:ec2:terminate-instances", "parameters": {},
        "description": "terminate the running instances in us-east-1a",
        "targets": {"Instances": "terminate-az-instances-instances"}}}


def test_the_blackhole_cuts_the_subnets_holds_launches_and_shifts_traffic_for_its_hold() -> None:
    """FIS's deny-all network ACL (scope all), launches in the AZ failing for the groups, and a
    zonal shift of the load balancers - each for the experiment's hold (150 AWS seconds)."""
    actions = exported("az-blackhole")["actions"]
    assert {a["actionId"]: a["parameters"] for a in actions.values()} == {
        "aws:network:disrupt-connectivity": {"duration": "PT2M30S", "scope": "all"},
        "aws:ec2:asg-insufficient-instance-capacity-error": {
            "availabilityZoneIdentifiers": "us-east-1a", "duration": "PT2M30S", "percentage": "100"},
        "aws:arc:start-zonal-autoshift": {"availabilityZoneIdentifier": "us-east-1a",
                                          "duration": "PT2M30S"}}


def test_the_rds_failover_targets_the_cluster_by_its_arn() -> None:
    template = exported("rds-failover", region="eu-west-1")
    assert template["targets"]["failover-database-database"]["resourceArns"] == [
        f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:orders"]
    assert [a["actionId"] for a in template["actions"].values()] == ["aws:rds:failover-db-cluster"]


@pytest.mark.parametrize(("name", "arguments", "refusal"), [
    ("az-outage", {"seed": 7}, "argument seed has no FIS equivalent: FIS picks"),
    ("az-outage", {"asg_names": "web,api"}, "argument asg_names has no FIS equivalent: a FIS target "
                                            "matches one value per tag"),
    ("az-outage", {"mode": "percent", "percent": 12.5}, "FIS takes a whole PERCENT\\(1-100\\), not 12.5"),
    ("az-blackhole", {"load_balancer_move": "set-subnets"}, "FIS has no action that changes a load "
                                                            "balancer's subnets"),
    ("rds-failover", {"fail_back": True}, "argument fail_back has no FIS equivalent: FIS does not "
                                          "fail back"),
    ("rds-failover", {"target_instance": "orders-2"}, "argument target_instance has no FIS equivalent"),
    ("az-outage", {"dry_run": True}, "dry_run is true; preview a FIS experiment with"),
])
def test_an_argument_fis_cannot_express_is_refused_in_one_line_naming_it(
        tmp_path: Path, name: str, arguments: dict[str, Any], refusal: str) -> None:
    path = with_arguments(tmp_path, name, **arguments)
    with pytest.raises(ValidationError, match=f"^{path}: method\\[0\\] \\([a-z-]+\\): .*{refusal}") as caught:
        export(path, account_id=ACCOUNT)
    assert "\n" not in str(caught.value)


def test_a_fault_shorter_than_fis_takes_is_refused(tmp_path: Path) -> None:
    """FIS actions last at least a minute: a blackhole held 30 s cannot be one."""
    document = json.loads((ROOT / "experiments" / "az-blackhole.json").read_text())
    document["method"][0]["pauses"] = {"after": 30}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValidationError, match="the fault lasts 30 s until the rollbacks, and FIS "
                                              "actions last at least 1 minute"):
        export(path, account_id=ACCOUNT)
    assert fault_seconds([{"pauses": {"after": 30}}, {"pauses": {"before": 5, "after": 7}}], 0) == 42


def test_an_action_without_a_fis_mapping_is_refused_by_the_command_line(tmp_path: Path) -> None:
    """The real command line: exit 2, one line naming the action and its function."""
    document = json.loads((ROOT / "experiments" / "lab-smoke.json").read_text())
    document["method"][0]["provider"]["func"] = "stop_instances"
    path = tmp_path / "stop.json"
    path.write_text(json.dumps(document))
    failed = run_cli("fis", "export", str(path), "--account-id", ACCOUNT, lab_dir=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [
        f"error: {path}: method[0] (terminate-one-az): chaosaws.ec2.actions.stop_instances has no "
        "FIS mapping, so FIS cannot run it; run this experiment with chaos run"]
    out = tmp_path / "template.json"
    written = run_cli("fis", "export", str(ROOT / "experiments" / "az-outage.json"),
                      "--account-id", ACCOUNT, "-o", str(out), lab_dir=tmp_path)
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text()) == exported("az-outage")


def test_the_action_table_refuses_what_fis_does_not_document() -> None:
    ok = check_action("cut", "aws:network:disrupt-connectivity",
                      {"duration": "PT1M", "scope": "all"}, {"Subnets": "subnets"})
    assert ok.resource_type == "aws:ec2:subnet"
    refusals = [
        (("cut", "aws:network:disrupt-connectivity", {"duration": "PT1M", "scpe": "all"},
          {"Subnets": "s"}), "takes no parameter 'scpe'"),
        (("cut", "aws:network:disrupt-connectivity", {"scope": "all"}, {"Subnets": "s"}),
         "needs parameter 'duration'"),
        (("cut", "aws:network:disrupt-connectivity", {"duration": "PT30S"}, {"Subnets": "s"}),
         "FIS takes PT1M to PT12H, not PT30S"),
        (("cut", "aws:network:disrupt-connectivity", {"duration": "PT13H"}, {"Subnets": "s"}),
         "not PT13H"),
        (("cut", "aws:network:disrupt-connectivity", {"duration": "PT1M", "scope": "everything"},
          {"Subnets": "s"}), "expected one of all, availability-zone"),
        (("cut", "aws:network:disrupt-connectivity", {"duration": "PT1M"}, {"Instances": "s"}),
         "targets Subnets, not Instances"),
        (("stop", "aws:ec2:stop-instances", {"completeIfInstancesTerminated": "yes"},
          {"Instances": "i"}), "expected \"true\" or \"false\""),
        (("x", "aws:ec2:explode", {}, {}), "aws:ec2:explode is not in chaos-sre's FIS action table"),
    ]
    for arguments, refusal in refusals:
        with pytest.raises(ValidationError, match=refusal):
            check_action(*arguments)


def test_durations_are_iso_8601_as_fis_writes_them() -> None:
    assert [iso_duration(s) for s in (60, 150, 3600, 3661, 0.2)] == ["PT1M", "PT2M30S", "PT1H",
                                                                     "PT1H1M1S", "PT1S"]
    assert [duration_seconds(t) for t in ("PT1M", "PT2M30S", "PT12H")] == [60, 150, 43200]
    for bad in ("PT", "1M", "P1D", "PT1.5M"):
        with pytest.raises(ValidationError, match="not an ISO 8601 duration"):
            duration_seconds(bad)


def test_an_automation_undoes_what_it_changed_whenever_it_stops() -> None:
    """The generated SSM document: changes, the hold, then the undoing newest first. A change
    that fails goes to the undoing of what was already changed; one cancelled (FIS stopping the
    experiment cancels the automation) to its own undo too; an undo that fails lets the others
    run. Nothing changed yet: the automation just stops."""
    def api(name: str) -> ApiCall:
        return ApiCall("ecs", name, {})

    content = document("test", [Change("First", api("A"), undo=api("UndoA")),
                                Change("Second", api("B"), undo=api("UndoB"),
                                       settle_undo=Wait(api("Describe"), "$.x", ["1"]))])
    steps = {s["name"]: (s["action"], s.get("onFailure"), s.get("onCancel"), s.get("isEnd", False))
             for s in content["mainSteps"]}
    assert [s["name"] for s in content["mainSteps"]] == [
        "First", "Second", "Hold", "UndoSecond", "UndoSecondSettled", "UndoFirst"]
    assert steps == {
        "First": ("aws:executeAwsApi", "Abort", "step:UndoFirst", False),
        "Second": ("aws:executeAwsApi", "step:UndoFirst", "step:UndoSecond", False),
        "Hold": ("aws:sleep", "step:UndoSecond", "step:UndoSecond", False),
        "UndoSecond": ("aws:executeAwsApi", "Continue", None, False),
        "UndoSecondSettled": ("aws:waitForAwsResourceProperty", "Continue", None, False),
        "UndoFirst": ("aws:executeAwsApi", "Continue", None, True)}
    assert content["schemaVersion"] == "0.3"
    assert content["assumeRole"] == "{{ AutomationAssumeRole }}"


def test_the_stop_condition_is_a_burn_rate_alarm_pair_that_spends_the_allowance() -> None:
    """az-blackhole may spend 5 % of a 30-day 99.9 % SLO's budget; its fault holds 150 s and the
    control's recovery hold is 30 s, so the alarms watch 180 s (and a twelfth of it, at least a
    minute): an error ratio above 0.05 x 2 592 000 / 180 x 0.001 = 0.72 spends the allowance.
    The template's stop condition is the composite of both; every request is a valid
    CloudWatch input."""
    exported = export(ROOT / "experiments" / "az-blackhole.json", account_id=ACCOUNT)
    alarms = exported.alarms
    assert alarms is not None
    assert (alarms.long_seconds, alarms.short_seconds) == (180, 60)
    assert alarms.error_ratio == pytest.approx(0.72)
    assert exported.template["stopConditions"] == [{
        "source": "aws:cloudwatch:alarm",
        "value": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:chaos-sre-az-blackhole-burn"}]
    requests = alarms.requests("app/web/0123456789abcdef")
    assert [(operation, given["AlarmName"]) for operation, given in requests] == [
        ("PutMetricAlarm", "chaos-sre-az-blackhole-burn-long"),
        ("PutMetricAlarm", "chaos-sre-az-blackhole-burn-short"),
        ("PutCompositeAlarm", "chaos-sre-az-blackhole-burn")]
    assert requests[2][1]["AlarmRule"] == ('ALARM("chaos-sre-az-blackhole-burn-long") AND '
                                          'ALARM("chaos-sre-az-blackhole-burn-short")')
    cloudwatch = botocore.session.get_session().get_service_model("cloudwatch")
    for operation, given in requests:
        validate_parameters(given, cloudwatch.operation_model(operation).input_shape)
    long_alarm = requests[0][1]
    assert long_alarm["Metrics"][-1]["Expression"] == (
        "(FILL(elb_5xx, 0) + FILL(target_5xx, 0) + FILL(elb_4xx, 0)) / "
        "(FILL(total, 0) + FILL(elb_503, 0))")
    assert {m["MetricStat"]["Period"] for m in long_alarm["Metrics"] if "MetricStat" in m} == {180}
    assert long_alarm["TreatMissingData"] == "notBreaching"


def test_the_fis_role_is_least_privilege_from_the_template() -> None:
    """The role FIS acts as: reads on *, every change only where the action reaches - the
    target's resources by ARN, or by type with the target's tags - and nothing mutating on *
    without a condition scoping it."""
    outage = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT).role_policy()
    terminate = next(s for s in outage["Statement"] if "ec2:TerminateInstances" in s["Action"])
    assert terminate["Resource"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"
    assert terminate["Condition"] == {"StringEquals": {
        "aws:ResourceTag/app": "web", "aws:ResourceTag/aws:autoscaling:groupName": "web",
        "aws:ResourceTag/env": "staging"}}
    failover = export(ROOT / "experiments" / "rds-failover.json", account_id=ACCOUNT).role_policy()
    assert next(s for s in failover["Statement"] if "rds:FailoverDBCluster" in s["Action"])[
        "Resource"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:orders"
    for name in EXPORTED:
        policy = export(ROOT / "experiments" / f"{name}.json", account_id=ACCOUNT).role_policy()
        for statement in policy["Statement"]:
            changes = [a for a in statement["Action"]
                       if not a.split(":", 1)[1].startswith(("Describe", "Get", "List"))
                       and not a.startswith("logs:")]
            if changes and statement["Resource"] == "*":
                assert statement.get("Condition"), (name, statement)


def test_fis_run_runs_the_same_experiment_with_one_fis_action_and_the_ledger_rollback(tmp_path: Path) -> None:
    """`fis run` keeps the steady state, control and probes; the faults become one FIS action
    where the first was, the pauses of the others kept so the method lasts as long; the rollbacks
    become the ledger's (which stops the experiment); the SLO is named by its absolute path."""
    from chaos_sre.fis.run import fis_experiment
    from chaos_sre.fis.steps import ENGINE_MODULE, ROLLBACK

    shipped = json.loads((ROOT / "experiments" / "az-outage.json").read_text())
    document = json.loads(json.dumps(shipped))
    second = {**document["method"][0], "name": "again", "pauses": {"before": 5, "after": 7}}
    document["method"].insert(1, second)
    path = tmp_path / "two-faults.json"
    path.write_text(json.dumps(document))
    derived = fis_experiment(path, {"account_id": ACCOUNT})
    engine, probe = derived["method"]
    assert engine["provider"] == {"type": "python", "module": ENGINE_MODULE, "func": "start_experiment",
                                  "arguments": {"experiment": str(path.resolve()), "account_id": ACCOUNT}}
    assert engine["pauses"] == {"after": 40.0 + 5 + 7}  # observe_seconds' default, then the second's
    assert probe == shipped["method"][1]
    assert derived["rollbacks"] == [ROLLBACK]
    assert derived["steady-state-hypothesis"] == shipped["steady-state-hypothesis"]
    [control] = derived["controls"]
    assert control["provider"]["arguments"]["slo"] == str(ROOT / "probes" / "web.yaml")
    assert derived["title"].endswith("(AWS FIS)")


def test_a_report_bucket_adds_the_experiment_report_with_the_sli_dashboard() -> None:
    """The SLI's dashboard (error ratio with the stop line, requests and failures, p99 response
    time) is put by `fis run`; with a report bucket the template asks FIS for an experiment
    report with the dashboard's snapshots 5 minutes either side ("Experiment report
    configurations for AWS FIS"), and the FIS role may read the dashboard and write only under
    the report's prefix. Without one the export says how to get a report."""
    plain = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT)
    assert "experimentReportConfiguration" not in plain.template
    assert any("pass --report-bucket" in note for note in plain.notes)
    reported = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT, report_bucket="reports")
    dashboard = f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/chaos-sre-az-outage"
    assert reported.template["experimentReportConfiguration"] == {
        "outputs": {"s3Configuration": {"bucketName": "reports", "prefix": "chaos-sre/az-outage"}},
        "dataSources": {"cloudWatchDashboards": [{"dashboardIdentifier": dashboard}]},
        "preExperimentDuration": "PT5M", "postExperimentDuration": "PT5M"}
    statements = {s["Sid"]: s for s in reported.role_policy()["Statement"]}
    assert statements["ReadReportDashboards"]["Resource"] == [dashboard]
    assert statements["WriteReport"]["Resource"] == "arn:aws:s3:::reports/chaos-sre/az-outage/*"
    assert reported.dashboard is not None
    request = reported.dashboard.request("app/web/0123456789abcdef")
    cloudwatch = botocore.session.get_session().get_service_model("cloudwatch")
    validate_parameters(request, cloudwatch.operation_model("PutDashboard").input_shape)
    widgets = json.loads(request["DashboardBody"])["widgets"]
    assert [w["properties"]["title"] for w in widgets] == [
        f"web: error ratio (stop above {reported.alarms.error_ratio:.4g})",
        "web: requests and failures a minute", "web: target response time p99"]
    assert widgets[0]["properties"]["annotations"]["horizontal"][0]["value"] == reported.alarms.error_ratio


ORCHESTRATOR = "111122223333"
ORCHESTRATOR_ROLE = f"arn:aws:iam::{ORCHESTRATOR}:role/chaos-sre-runner"


def test_an_orchestrator_role_makes_the_experiment_multi_account(tmp_path: Path) -> None:
    """"Working with multi-account experiments for AWS FIS": the orchestrator account owns the
    template (accountTargeting multi-account), its role, logs and stop-condition alarms; the
    target account - the experiment's own - gets a target account configuration naming the role
    FIS assumes there. The stop condition is a cross-account alarm (each metric query names the
    target account), and so is the dashboard. The target role holds the actions' permissions in
    the target account; the orchestrator's may only assume it, write logs and the report; the
    target role trusts the orchestrator's for its experiments only."""
    multi = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT,
                   orchestrator_role_arn=ORCHESTRATOR_ROLE, report_bucket="reports")
    template = multi.template
    assert template["experimentOptions"]["accountTargeting"] == "multi-account"
    assert template["roleArn"] == f"arn:aws:iam::{ORCHESTRATOR}:role/chaos-sre-fis-az-outage"
    assert template["logConfiguration"]["cloudWatchLogsConfiguration"]["logGroupArn"].split(":")[4] == ORCHESTRATOR
    assert template["stopConditions"][0]["value"].split(":")[4] == ORCHESTRATOR
    target_role = f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-fis-target-az-outage"
    assert multi.target_account_configurations() == [{
        "accountId": ACCOUNT, "roleArn": target_role, "description": "chaos-sre: the resources of az-outage"}]
    assert multi.alarms is not None and multi.dashboard is not None
    queries = [q for _, given in multi.alarms.requests("app/web/0123456789abcdef")
               for q in given.get("Metrics", []) if "MetricStat" in q]
    assert queries and {q["AccountId"] for q in queries} == {ACCOUNT}
    cloudwatch = botocore.session.get_session().get_service_model("cloudwatch")
    for operation, given in multi.alarms.requests("app/web/0123456789abcdef"):
        validate_parameters(given, cloudwatch.operation_model(operation).input_shape)
    widgets = json.loads(multi.dashboard.request("app/web/0123456789abcdef")["DashboardBody"])["widgets"]
    assert all(metric[-1].get("accountId") == ACCOUNT for w in widgets for metric in w["properties"]["metrics"]
               if isinstance(metric[0], str))
    target_policy = multi.role_policy()
    terminate = next(s for s in target_policy["Statement"] if "ec2:TerminateInstances" in s["Action"])
    assert terminate["Resource"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"
    assert not any(s["Sid"] in ("DeliverExperimentLogs", "WriteReport") for s in target_policy["Statement"])
    orchestrator = multi.orchestrator_policy()
    assert orchestrator is not None
    assert {s["Sid"] for s in orchestrator["Statement"]} == {
        "ActInTargetAccount", "DeliverExperimentLogs", "ReadReportDashboards", "DrawReportGraphs", "WriteReport"}
    assert orchestrator["Statement"][0] == {"Sid": "ActInTargetAccount", "Effect": "Allow",
                                            "Action": "sts:AssumeRole", "Resource": target_role}
    written = tmp_path / "roles.json"
    done = run_cli("fis", "export", "--account-id", ACCOUNT, "--orchestrator-role-arn", ORCHESTRATOR_ROLE,
                   "--role-policy", str(written), str(ROOT / "experiments" / "az-outage.json"), lab_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"create-target-account-configuration --experiment-template-id ID --account-id {ACCOUNT}" in done.stderr
    roles = json.loads(written.read_text())
    assert roles["target_role"]["trust"]["Statement"][0]["Condition"] == {"StringLike": {
        "sts:ExternalId": f"arn:aws:fis:us-east-1:{ORCHESTRATOR}:experiment/*"}}
    assert roles["orchestrator_role"]["trust"]["Statement"][0]["Principal"] == {"Service": "fis.amazonaws.com"}
    single = export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT,
                    orchestrator_role_arn=f"arn:aws:iam::{ACCOUNT}:role/chaos-sre-runner")
    assert single.template["experimentOptions"]["accountTargeting"] == "single-account"
    assert single.target_account_configurations() == [] and single.orchestrator_policy() is None


def test_a_multi_account_export_refuses_an_automation_fault_and_a_role_that_is_not_one() -> None:
    """An SSM Automation fault would run in the orchestrator account, away from its service: it
    is refused in one line naming it. A malformed orchestrator role ARN is refused too."""
    with pytest.raises(ValidationError, match=r"^[^:]*ecs-scale-to-zero.json: method\[0\] \(scale-service-to-zero\): "
                       r"it runs as an SSM Automation document, .*orchestrator account 111122223333, not in "
                       r"account 123456789012"):
        export(ROOT / "experiments" / "ecs-scale-to-zero.json", account_id=ACCOUNT,
               orchestrator_role_arn=ORCHESTRATOR_ROLE)
    with pytest.raises(ValidationError, match="--orchestrator-role-arn: expected an IAM role ARN"):
        export(ROOT / "experiments" / "az-outage.json", account_id=ACCOUNT,
               orchestrator_role_arn="arn:aws:iam::111122223333:user/someone")


def test_fis_run_holds_each_fault_through_the_hypothesis_after_the_method() -> None:
    """Under `chaos run` a fault lasts until the rollbacks, past the steady-state hypothesis after
    the method; under `fis run` each action lasts AFTER_METHOD_SECONDS longer than the method's
    pauses (its rollback stops it). Before, the ECS automation began its undo as the hypothesis
    read the service, which then was not stable: fis run FAILED where chaos run PASSED."""
    from chaos_sre.fis.engine import AFTER_METHOD_SECONDS

    plain = exported("az-blackhole")
    held = exported("az-blackhole", after_method_seconds=AFTER_METHOD_SECONDS)
    for name, action in plain["actions"].items():
        if "duration" in action["parameters"]:
            assert duration_seconds(held["actions"][name]["parameters"]["duration"]) == \
                duration_seconds(action["parameters"]["duration"]) + AFTER_METHOD_SECONDS


def test_the_fis_runners_policy_holds_fis_and_the_reads_but_none_of_the_faults_changes() -> None:
    """`chaos-sre iam policy --engine fis`: for every shipped experiment, the faults' planning
    and guardrail reads and what `start_experiment` declares; none of the changes `iam policy`
    grants the runner of `chaos run` (FIS makes them with the experiment role), and iam:PassRole
    only of the chaos-sre FIS roles, only to FIS."""
    from chaos_sre import iam

    paths = sorted((ROOT / "experiments").glob("*.json"))
    chaos = iam.policy_for(paths, region=None)
    fis = iam.policy_for(paths, region=None, engine="fis")
    changes = {a for s in chaos["Statement"] if s["Sid"] != "ResolveTargetsAndMeasure" for a in s["Action"]}
    granted = {a for s in fis["Statement"] for a in s["Action"]}
    # iam:PassRole is in both: of the replication role to S3 for chaos run, of the FIS roles below
    assert changes and not (changes - {"iam:PassRole"}) & granted, sorted(changes & granted)
    assert {"fis:StartExperiment", "fis:StopExperiment", "dynamodb:DescribeTable", "ec2:DescribeNatGateways"} <= granted
    [passing] = [s for s in fis["Statement"] if "iam:PassRole" in s["Action"]]
    assert passing["Action"] == ["iam:PassRole"]
    assert passing["Resource"] == "arn:aws:iam::*:role/chaos-sre-fis-*"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "fis.amazonaws.com"}}
