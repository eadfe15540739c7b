"""`chaos-sre fis run`: an experiment with AWS FIS as its engine, judged by the same control as
`chaos run` - on the lab, which runs FIS as FIS runs it (tests/lab/test_lab_fis.py)."""

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from conftest import (
    CLI,
    ROOT,
    RunningLab,
    account_snapshot,
    extension,
    lab_for_module,
    wait_until,
)

from chaos_sre import iam

OUTAGE = ROOT / "experiments" / "az-outage.json"
ORCHESTRATOR_ACCOUNT = "111122223333"
ORCHESTRATOR_ROLE = f"arn:aws:iam::{ORCHESTRATOR_ACCOUNT}:role/chaos-sre-runner"
BLACKHOLE = ROOT / "experiments" / "az-blackhole.json"
ACCURACY_SECONDS = 0.25
"""The bound docs/performance.md holds time to recover to against the lab's truth (wall
seconds: max(2 / rate, 0.25 s) at 200 req/s)."""


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


def fis_run(lab: RunningLab, experiment: Path, tmp_path: Path, *args: str,
            env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`chaos-sre fis run ARGS EXPERIMENT` against ``lab``; the result and the journal."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    journal = tmp_path / "journal.json"
    result = subprocess.run(
        [*CLI, "fis", "run", "--journal-path", str(journal), *args, str(experiment)],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"), **(env or {})},
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    return result, json.loads(journal.read_text()) if journal.exists() else {}


def fis_experiments(lab: RunningLab) -> list[dict[str, Any]]:
    return list(lab.api.status()["fis_experiments"])


def test_a_preview_prints_the_resolved_targets_changes_nothing_and_heeds_the_safety_lever(
        module_lab: RunningLab, tmp_path: Path) -> None:
    """`--preview` starts the experiment with actionsMode skip-all: FIS resolves the targets and
    runs no action ("Experiment options for AWS FIS"); the instances of us-east-1a are listed and
    still run. With the account's safety lever engaged, FIS starts nothing ("Safety lever for AWS
    FIS"), and `fis run` says so in one line before it creates or starts anything."""
    lab = module_lab
    zone_a = sorted(i["InstanceId"] for i in lab.web_instances("running")
                    if i["Placement"]["AvailabilityZone"] == "us-east-1a")
    result, _ = fis_run(lab, OUTAGE, tmp_path / "preview", "--preview")
    assert result.returncode == 0, result.stderr[-2000:]
    listed = sorted(line.strip().rsplit("/", 1)[-1] for line in result.stdout.splitlines()
                    if line.startswith("  arn:aws:ec2:"))
    assert listed == zone_a and len(zone_a) == 2
    assert "terminate-az-instances-instances: 2 resolved" in result.stdout
    assert "guardrails passed: terminate-az-instances" in result.stderr
    assert len(lab.web_instances("running")) == 6
    body = json.loads(lab.client("cloudwatch").get_dashboard(
        DashboardName="chaos-sre-az-outage")["DashboardBody"])
    assert len(body["widgets"]) == 3
    assert "dashboard chaos-sre-az-outage put" in result.stderr
    [preview] = fis_experiments(lab)
    assert preview["status"] == "completed" and set(preview["actions"].values()) == {"skipped"}

    lab.client("fis").update_safety_lever_state(id="default", state={
        "status": "engaged", "reason": "change freeze"})
    try:
        refused, _ = fis_run(lab, OUTAGE, tmp_path / "lever", "--preview")
    finally:
        lab.client("fis").update_safety_lever_state(id="default", state={
            "status": "disengaged", "reason": "freeze over"})
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: the account's FIS safety lever is engaged (change freeze): FIS starts no "
        "experiment until it is disengaged")
    assert "Traceback" not in refused.stderr
    assert len(fis_experiments(lab)) == 1


def recovery_against_truth(lab: RunningLab, journal: dict[str, Any]) -> tuple[float, float]:
    """(journal's time to recover, the lab's) in wall seconds from the fault's mark."""
    ext = extension(journal)
    impact = lab.timeline()["impact"]
    return (ext["recovery"]["recover_seconds"] * ext["time_scale"],
            impact["last_failure"] - ext["fault_started_at"])


@pytest.mark.e2e
def test_fis_run_of_the_outage_on_fragile_is_refused_then_fails_as_chaos_run_does(
        start_lab, tmp_path: Path) -> None:
    """The verdict `chaos run` gives on the fragile lab (tests/lab/test_az_faults.py): refused by
    the same guardrail before FIS starts anything, then - allowed - FAILED on the budget. (The
    resilient run, PASSED, is the game day's below.) The allowed run's runner holds only `iam
    policy --engine fis`: FIS's calls, its own documents, alarms and dashboard, and passing the
    experiment role to FIS - none of the fault's changes, which FIS makes with that role. Without
    the iam:PassRole statement, CreateExperimentTemplate is refused ("Grant a user permissions to
    pass a role to an AWS service", IAM User Guide) and the run says so."""
    fragile = start_lab("--profile", "fragile")
    refused, journal = fis_run(fragile, OUTAGE, tmp_path / "refused")
    assert refused.returncode != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("refusing to take all 6 instances of the service" in r for r in reasons), reasons
    assert fis_experiments(fragile) == [] and fragile.timeline()["faults"] == []
    policy = iam.policy_for([OUTAGE], region=None, engine="fis")
    granted = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert "ec2:TerminateInstances" not in granted and "iam:PassRole" in granted
    runner, allow = fragile.env["AWS_ACCESS_KEY_ID"], {"CHAOS_SRE_ALLOW_TOTAL_OUTAGE": "true"}
    fragile.attach_policy({**policy, "Statement": [s for s in policy["Statement"]
                                                   if "iam:PassRole" not in s["Action"]]}, runner)
    no_pass, _ = fis_run(fragile, OUTAGE, tmp_path / "no-pass", "--preview", env=allow)
    assert no_pass.returncode != 0 and "iam:PassRole" in no_pass.stderr, no_pass.stderr[-600:]
    assert fis_experiments(fragile) == []
    fragile.attach_policy(policy, runner)
    allowed, journal = fis_run(fragile, OUTAGE, tmp_path / "allowed", env=allow)
    assert allowed.returncode != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("of the error budget" in r and "more than" in r for r in reasons), reasons
    assert [r["action"] for r in fragile.iam_requests(runner) if not r["allowed"]] == []


@pytest.mark.e2e
def test_a_killed_runner_leaves_fis_to_end_the_fault_on_time(start_lab, tmp_path: Path) -> None:
    """SIGKILL of the runner mid-fault: FIS, not the runner, ends each action at its duration
    ("Actions for AWS FIS": an action with a duration runs until it ends), so the account
    returns to what it was with no `chaos-sre rollback`."""
    lab = start_lab()
    before = account_snapshot(lab)
    out = open(tmp_path / "console.log", "w")  # noqa: SIM115 - closed with the process
    runner = subprocess.Popen(
        [*CLI, "fis", "run", "--journal-path", str(tmp_path / "journal.json"), str(BLACKHOLE)],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"),
             "CHAOS_SRE_HOLD_SECONDS": "80"},
        cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert wait_until(lambda: any("running" in e["actions"].values() for e in fis_experiments(lab))
                          or runner.poll() is not None, timeout=120, interval=0.05)
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        out.close()
    [experiment] = fis_experiments(lab)
    assert experiment["status"] == "running", (tmp_path / "console.log").read_text()[-3000:]
    killed_at = time.monotonic()
    assert wait_until(lambda: fis_experiments(lab)[0]["status"] == "completed", timeout=60)
    assert time.monotonic() - killed_at < 60
    assert wait_until(lambda: account_snapshot(lab) == before, timeout=60), (before, account_snapshot(lab))


@pytest.mark.e2e
def test_a_two_account_game_day_step_runs_through_fis_and_passes_on_resilient_as_chaos_run_does(
        start_lab, tmp_path: Path) -> None:
    """A plan's ``engine: fis`` runs its experiment through `chaos-sre fis run`, judged as any
    step - here multi-account ("Working with multi-account experiments for AWS FIS"): the
    template, the experiment and the stop-condition alarms are in the orchestrator account
    (the lab's second, reached by assuming its ``chaos-sre-runner`` role), FIS acts in the
    application's account through the target account configuration, and the verdict is in the
    runner's journal. The verdict is `chaos run`'s on the resilient lab: PASSED, its time to
    recover within docs/performance.md's accuracy bound of the lab's truth, measured from FIS's
    first action's startTime. The step's configuration (chaos run's --var-file) reaches the FIS
    template: the AZ it names is the one whose instances FIS terminates. The journal names the
    FIS experiment and its actions' states; the rollback found it ended. The lab resolves a
    single-account experiment of the orchestrator account in that account, where it finds
    nothing: only the target account configuration reaches the application."""
    lab = start_lab()
    zone_b = sorted(i["InstanceId"] for i in lab.web_instances("running")
                    if i["Placement"]["AvailabilityZone"] == "us-east-1b")
    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps({"title": "FIS day", "engine": "fis", "output": str(tmp_path / "out"),
                                "orchestrator_role_arn": ORCHESTRATOR_ROLE,
                                "experiments": [{"path": str(OUTAGE),
                                                 "configuration": {"target_az": "us-east-1b"}}]}))
    result = subprocess.run([*CLI, "gameday", str(plan)], env={**os.environ, **lab.env,
                            "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")},
                            capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [journal_path] = (tmp_path / "out").glob("*/01-az-outage.json")
    journal = json.loads(journal_path.read_text())
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True and ext["fault_effect"]["verified"] is True
    started = journal["run"][0]["output"]
    assert journal["run"][0]["activity"]["provider"]["module"] == "chaos_sre.fis.engine"
    [action] = started["actions"].values()
    # running until FIS's TerminateInstances has answered, then completed: either, when it returned
    assert action["actionId"] == "aws:ec2:terminate-instances" and action["status"] in ("running", "completed")
    assert ext["fault_started_at"] == started["injected_at"] == action["startTime"]
    measured, truth = recovery_against_truth(lab, journal)
    assert abs(measured - truth) <= ACCURACY_SECONDS, (measured, truth)
    [ended] = journal["rollbacks"][0]["output"]
    assert ended.startswith(f"FIS experiment {started['experiment_id']} had ended: completed")
    terminated = sorted(f["resource"] for f in lab.timeline()["faults"] if f["kind"] == "instance-terminated")
    assert terminated == zone_b

    orchestrator = orchestrator_client(lab, "fis")
    [experiment] = orchestrator.list_experiments()["experiments"]
    assert experiment["id"] == started["experiment_id"]
    assert experiment["arn"].split(":")[4] == ORCHESTRATOR_ACCOUNT
    assert lab.client("fis").list_experiments()["experiments"] == []
    template = orchestrator.get_experiment_template(id=started["template_id"])["experimentTemplate"]
    assert template["experimentOptions"]["accountTargeting"] == "multi-account"
    [target_account] = orchestrator.list_target_account_configurations(
        experimentTemplateId=started["template_id"])["targetAccountConfigurations"]
    assert target_account["accountId"] == "123456789012"
    assert target_account["roleArn"] == "arn:aws:iam::123456789012:role/chaos-sre-fis-target-az-outage"
    [stop] = template["stopConditions"]
    assert stop["value"].split(":")[4] == ORCHESTRATOR_ACCOUNT
    alarms = orchestrator_client(lab, "cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    assert {q.get("AccountId") for a in alarms for q in a["Metrics"] if "MetricStat" in q} == {"123456789012"}

    single = {key: value for key, value in template.items()
              if key in ("description", "targets", "actions", "roleArn", "logConfiguration")}
    single = orchestrator.create_experiment_template(
        **single, stopConditions=[{"source": "none"}],
        experimentOptions={"accountTargeting": "single-account", "emptyTargetResolutionMode": "fail"},
        clientToken="single-account")["experimentTemplate"]
    alone = orchestrator.start_experiment(experimentTemplateId=single["id"])["experiment"]["id"]
    assert wait_until(lambda: orchestrator.get_experiment(id=alone)["experiment"]["state"]["status"] == "failed",
                      timeout=10, interval=0.1)
    assert "Target resolution returned empty set" in \
        orchestrator.get_experiment(id=alone)["experiment"]["state"]["reason"]


def orchestrator_client(lab: RunningLab, service: str) -> Any:
    """A client of the lab's orchestrator account, through its chaos-sre-runner role."""
    credentials = lab.client("sts").assume_role(RoleArn=ORCHESTRATOR_ROLE,
                                                RoleSessionName="test")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"], region_name="us-east-1",
    ).client(service, endpoint_url=lab.env["AWS_ENDPOINT_URL"])


@pytest.mark.e2e
def test_the_burn_rate_alarm_stops_the_fis_experiment_when_the_fragile_lab_spends_the_allowance(
        start_lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's stop condition, with no chaos-sre control running: the lab publishes the
    load balancer's metrics, evaluates the burn-rate alarms once a minute, and FIS stops the
    experiment when the composite is in ALARM ("Stop conditions for AWS FIS"); stopping gives
    the network back. Before, the lab kept the alarms but never evaluated them, and the fault
    ran its whole hold whatever the service spent."""
    from chaos_sre.fis.export import export
    from chaos_sre.fis.provision import provision

    lab = start_lab("--profile", "fragile")
    for key, value in {**lab.env, "CHAOS_SRE_BUDGET_ALLOWANCE": "0.01",
                       "CHAOS_SRE_HOLD_SECONDS": "600"}.items():
        monkeypatch.setenv(key, value)
    exported = export(BLACKHOLE, account_id="123456789012")
    assert exported.alarms is not None and exported.alarms.error_ratio < 0.5
    template_id = provision(exported).template_id
    before = account_snapshot(lab)
    stop = threading.Event()

    def traffic() -> None:  # bounded: at most 120 s, a request every 20 ms
        deadline = time.monotonic() + 120
        with requests.Session() as session:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    session.get(f"{lab.target_url}/", timeout=0.5)
                except requests.RequestException:
                    session.close()
                stop.wait(0.02)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        fis = lab.client("fis")
        experiment_id = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]

        def ended() -> dict[str, Any] | None:
            found = fis.get_experiment(id=experiment_id)["experiment"]
            return found if found["state"]["status"] in ("completed", "stopped", "failed") else None

        found = wait_until(ended, timeout=50, interval=0.2)
    finally:
        stop.set()
        sender.join(timeout=5)
    assert found, fis.get_experiment(id=experiment_id)["experiment"]["state"]
    assert found["state"]["status"] == "stopped"
    assert found["state"]["reason"] == (f"Experiment stopped by its stop condition: alarm "
                                        f"{exported.alarms.arn} is in ALARM")
    [composite] = lab.client("cloudwatch").describe_alarms(
        AlarmNames=[exported.alarms.name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert composite["StateValue"] == "ALARM"
    kinds = [e["kind"] for e in lab.timeline()["events"]]
    assert kinds.index("cloudwatch-alarm-alarm") < kinds.index("fis-experiment-stopped")
    assert wait_until(lambda: account_snapshot(lab) == before, timeout=30), (before, account_snapshot(lab))
