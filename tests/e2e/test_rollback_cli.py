"""`chaos-sre rollback`: a run killed with SIGKILL mid-fault is restored from its ledger by another
process, in the run's own region and endpoint; repeating it is harmless; bad input is one line."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAOS, CLI, ROOT, RunningLab, run_cli, wait_until

EXPERIMENT = ROOT / "experiments" / "ecs-scale-to-zero.json"


def ecs_settings(lab: RunningLab) -> dict[str, Any]:
    service = lab.client("ecs").describe_services(cluster="staging", services=["api"])["services"][0]
    targets = lab.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/staging/api"])["ScalableTargets"]
    return {"desired": service["desiredCount"],
            "scaling": [(t["MinCapacity"], t["MaxCapacity"], t["SuspendedState"]) for t in targets]}


def mutation_done(ledgers: Path) -> bool:
    for path in ledgers.glob("*.jsonl"):
        if any(json.loads(line)["kind"] == "done" for line in path.read_text().splitlines()):
            return True
    return False


@pytest.mark.e2e
def test_a_killed_run_is_restored_by_rollback_last(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    before = ecs_settings(lab)
    ledgers = tmp_path / "ledgers"
    runner = subprocess.Popen(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path",
         str(tmp_path / "journal.json"), str(EXPERIMENT)],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(ledgers),
             "CHAOS_SRE_HOLD_SECONDS": "600"},
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: mutation_done(ledgers), timeout=60, interval=0.1)
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
    assert ecs_settings(lab)["desired"] == 0  # killed mid-fault: nothing was rolled back

    # another shell, without the lab's endpoint: the ledger says where the run's changes went
    shell = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    shell["CHAOS_SRE_LEDGER_DIR"] = str(ledgers)
    result = subprocess.run([*CLI, "rollback", "--last"], env=shell, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "restored: ECS service staging/api restored to desired count 3" in result.stdout
    assert "1 change(s) restored" in result.stdout
    assert ecs_settings(lab) == before

    again = subprocess.run([*CLI, "rollback", "--last"], env=shell, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    assert "nothing to restore: no recorded change is pending" in again.stdout
    assert ecs_settings(lab) == before


def test_rollback_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"kind": "context"}\nnot json\n')
    not_entries = tmp_path / "list.jsonl"
    not_entries.write_text("[1, 2]\n")
    no_kind, bad_seq, newer = (tmp_path / f"{name}.jsonl" for name in ("no-kind", "bad-seq", "newer"))
    no_kind.write_text('{"seq": 1}\n')
    bad_seq.write_text('{"kind": "done", "seq": "first"}\n')
    newer.write_text('{"kind": "header", "format": 9, "written_by": "chaos-sre 9.0"}\n')
    no_kind, bad_seq, newer = (tmp_path / f"{name}.jsonl" for name in ("no-kind", "bad-seq", "newer"))
    no_kind.write_text('{"seq": 1}\n')
    bad_seq.write_text('{"kind": "done", "seq": "first"}\n')
    newer.write_text('{"kind": "header", "format": 9, "written_by": "chaos-sre 9.0"}\n')
    cases = [
        ((), "say which run to roll back: --last or --ledger PATH"),
        (("--last", "--ledger", str(torn)), "say which run to roll back"),
        (("--last",), f"no run ledger in {tmp_path / 'empty'}"),
        (("--ledger", str(tmp_path / "missing.jsonl")), "no ledger at"),
        (("--ledger", str(torn)), "line 2: not a ledger entry (not JSON: Expecting value)"),
        (("--ledger", str(not_entries)), "line 1: not a ledger entry (expected a JSON object)"),
        (("--ledger", str(no_kind)), "line 1: not a ledger entry (no kind)"),
        (("--ledger", str(bad_seq)), "line 1: seq: input should be a valid integer"),
        (("--ledger", str(newer)), "is ledger format 9 (chaos-sre 9.0); this chaos-sre 0.1.0 "
                                   "reads formats 1 to 3: roll back with the version that wrote it"),
    ]
    for args, message in cases:
        result = run_cli("rollback", *args, lab_dir=tmp_path / "lab",
                         env={"CHAOS_SRE_LEDGER_DIR": str(tmp_path / "empty")})
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_an_inverse_is_repeated_after_a_transient_aws_error_and_never_after_a_refusal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restore must not give up on one bad second of the API: with the lab's
    --api-fault-rate 0.2, an inverse's wait makes dozens of calls, and botocore's standard retry
    mode stops retrying once its retry quota is spent (https://docs.aws.amazon.com/sdkref/latest/
    guide/feature-retry-behavior.html), so a throttling or 5xx answer can reach the inverse.
    Inverses restore recorded state, so running one again is safe; a refusal is not retried."""
    from chaos_sre import waiting
    from chaos_sre.errors import AWSError, RollbackError
    from chaos_sre.safety import ledger as ledger_module

    monkeypatch.setattr(waiting, "MAX_BACKOFF_SECONDS", 0.01)
    answers: dict[str, list[Exception | str]] = {
        "flaky": [AWSError("x failed: ServiceUnavailable", code="ServiceUnavailable"),
                  AWSError("x failed: Throttling", code="Throttling"), "restored flaky"],
        "refused": [AWSError("x failed: AccessDenied", code="AccessDenied"), "never reached"],
    }
    calls: list[str] = []

    def answer(op: dict[str, Any], where: Any, secrets: Any) -> str:
        calls.append(op["name"])
        outcome = answers[op["name"]].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    class Answer(ledger_module.Inverse):
        name: str

    monkeypatch.setattr(ledger_module, "_INVERSES", dict(ledger_module._INVERSES))
    ledger_module.inverse("test_answer", Answer)(lambda op, where, secrets: answer(
        {"name": op.name}, where, secrets))
    ledger = ledger_module.Ledger(tmp_path / "run-test.jsonl")
    for name in ("refused", "flaky"):
        ledger.done(ledger.record(f"test:{name}", "change", {}, {"op": "test_answer", "name": name}))
    with pytest.raises(RollbackError, match="test:refused: x failed: AccessDenied") as raised:
        ledger_module.replay(ledger, {})
    assert "restored 1 other change" in str(raised.value)
    assert calls == ["flaky", "flaky", "flaky", "refused"]
    assert [e["resource"] for e in ledger.pending()] == ["test:refused"]


OLD_LEDGER = ROOT / "tests" / "fixtures" / "ledger-18db4a1.jsonl"
"""A ledger chaos-sre wrote at 18db4a1 (format 1, no header): az-blackhole, ECS scale to zero,
DynamoDB throttle and Aurora failover against its lab, then killed. The lab's resource ids,
its endpoint and the run's name are placeholders (``<subnet-a>``) that the test fills in."""
FAULTS_THEN_CRASH = """
import os
from chaos_sre.faults.az import blackhole_az
from chaos_sre.faults.dynamodb import throttle_table
from chaos_sre.faults.ecs import set_desired_count
from chaos_sre.faults.rds import failover
blackhole_az(az="us-east-1a", tags="app=web,env=staging", asg_names="web",
             load_balancer_names="web", load_balancer_move="set-subnets", configuration={})
set_desired_count("staging", "api", 0, restore_timeout_seconds=120, configuration={})
throttle_table("sessions", read_units=1, write_units=1, configuration={})
failover(db_cluster_identifier="orders", configuration={})
os._exit(9)
"""


@pytest.mark.e2e
def test_a_ledger_written_by_an_older_version_still_rolls_back(start_lab, tmp_path: Path) -> None:
    """The four fault families change the lab as 18db4a1's did and the runner dies; the ledger
    18db4a1 wrote for those changes (its ids filled in with this lab's) is replayed by this
    version's `chaos-sre rollback --ledger` and every change is undone."""
    from conftest import account_snapshot
    from test_crash_safety import settles_to

    from chaos_sre.safety.ledger import Ledger

    lab = start_lab()
    ec2 = lab.client("ec2")
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    subnets = ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
    by_zone = {s["AvailabilityZone"][-1]: s["SubnetId"] for s in subnets}
    acl_a = next(acl["NetworkAclId"] for acl in ec2.describe_network_acls()["NetworkAcls"]
                 for a in acl["Associations"] if a["SubnetId"] == by_zone["a"])
    before = account_snapshot(lab)

    now = tmp_path / "now"
    crashed = subprocess.run([sys.executable, "-c", FAULTS_THEN_CRASH], capture_output=True,
                             text=True, timeout=300, check=False,
                             env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(now)})
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    assert account_snapshot(lab) != before
    run = next(now.glob("*.jsonl")).stem
    deny = next(acl["NetworkAclId"] for acl in ec2.describe_network_acls()["NetworkAcls"]
                if {"Key": "chaos-sre:run", "Value": run} in acl.get("Tags", []))
    filled = OLD_LEDGER.read_text()
    for placeholder, value in {
            "<subnet-a>": by_zone["a"], "<subnet-b>": by_zone["b"], "<subnet-c>": by_zone["c"],
            "<vpc>": subnets[0]["VpcId"], "<acl-a>": acl_a, "<deny-acl>": deny, "<run>": run,
            "<endpoint>": lab.env["AWS_ENDPOINT_URL"],
            "<load-balancer-arn>": lab.client("elbv2").describe_load_balancers(
                Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]}.items():
        filled = filled.replace(placeholder, value)
    old = tmp_path / "ledger-18db4a1.jsonl"
    old.write_text(filled)
    assert Ledger(old).format() == 1 and len(Ledger(old).pending()) == 9

    shell = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    result = subprocess.run([*CLI, "rollback", "--ledger", str(old)], env=shell,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "9 change(s) restored" in result.stdout
    assert settles_to(lab, before, hold=1.0)  # the restores waited for their state: none drifts
    assert Ledger(old).pending() == []


def test_an_inverse_is_checked_when_it_is_written_and_when_it_is_replayed(tmp_path: Path) -> None:
    """What an inverse records is its model's: a fault that records a broken inverse is refused
    before its mutation (nothing to undo would be left undone), and a broken one in a file is
    one line naming the ledger, the inverse and the field, before anything is replayed."""
    from chaos_sre.errors import ValidationError
    from chaos_sre.faults import ecs  # noqa: F401  (registers restore_ecs_service)
    from chaos_sre.safety.ledger import Ledger, replay

    ledger = Ledger(tmp_path / "run-broken.jsonl")
    with pytest.raises(ValidationError, match=r"^the intent for ecs:service/a/b: inverse "
                       r"restore_ecs_service: cluster is required$"):
        ledger.record("ecs:service/a/b", "set-desired-count", {},
                      {"op": "restore_ecs_service", "service": "b", "settings": {}})
    assert not ledger.path.exists()
    torn = {"op": "restore_ecs_service", "cluster": "a", "service": "b", "settings": {},
            "timeout_seconds": "soon"}
    ledger.path.write_text(json.dumps({"seq": 1, "kind": "intent", "resource": "ecs:service/a/b",
                                       "operation": "set-desired-count", "inverse": torn}) + "\n")
    with pytest.raises(ValidationError, match=r"run-broken.jsonl: inverse restore_ecs_service: "
                       r"timeout_seconds: expected a number, got 'soon'$"):
        replay(Ledger(ledger.path), {})


def _fault_complete(ledgers: Path) -> bool:
    """Whether az-blackhole's last change (the Auto Scaling group's subnets) is done."""
    from test_crash_safety import entries

    found = entries(ledgers)
    last = [e["seq"] for e in found if e["kind"] == "intent" and e["operation"] == "update_subnets"]
    return bool(last) and any(e["kind"] == "done" and e["seq"] == last[0] for e in found)


@pytest.mark.e2e
def test_a_restore_that_fails_half_way_plays_nothing_that_builds_on_it(start_lab, tmp_path: Path) -> None:
    """az-blackhole's network restore (ReplaceNetworkAclAssociation back to the subnet's own ACL)
    is refused during the run's rollback. Nothing that builds on it is played: the Auto Scaling
    group does not get the AZ's subnet back, the load balancer stays out of the AZ and AZRebalance
    stays suspended - capacity and traffic would go into an AZ that is still cut off ("Network
    ACLs": a subnet's ACL controls all traffic in and out of it). The run exits 1, its verdict
    names the blocked restores and the command that finishes the job; once the refusal is gone,
    `chaos-sre rollback --last` leaves the account as before the run."""
    from conftest import account_snapshot, extension
    from test_crash_safety import rollback_last, settles_to, start_run

    lab = start_lab()
    before = account_snapshot(lab)
    ledgers = tmp_path / "ledgers"
    run = start_run(lab, "az-blackhole", tmp_path, CHAOS_SRE_HOLD_SECONDS="30")
    try:
        assert wait_until(lambda: _fault_complete(ledgers), timeout=120, interval=0.1)
        lab.deny("ec2:ReplaceNetworkAclAssociation")
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
    assert run.returncode == 1
    reasons = " ".join(extension(json.loads((tmp_path / "journal.json").read_text()))["verdict"]["reasons"])
    assert "rollback failed, the fault may not be fully undone" in reasons
    assert "not played, blocked: autoscaling:web (restore_asg_subnets) builds on restore_nacl of " \
           "ec2:subnet/" in reasons
    assert "(resume_az_rebalance) builds on restore_asg_subnets of autoscaling:web, which is blocked" \
        in reasons
    assert "elbv2:web (cancel_zonal_shifts) builds on restore_nacl" in reasons
    assert "once the cause is removed, run: chaos-sre rollback --ledger " in reasons

    cut = lab.client("ec2").describe_subnets(
        Filters=[{"Name": "tag:Name", "Values": ["web-us-east-1a"]}])["Subnets"][0]["SubnetId"]
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    assert cut not in group["VPCZoneIdentifier"].split(",")
    assert "AZRebalance" in {p["ProcessName"] for p in group["SuspendedProcesses"]}
    shifts = lab.client("arc-zonal-shift").list_zonal_shifts(status="ACTIVE")["items"]
    assert [s["awayFrom"] for s in shifts] == [next(
        z["ZoneId"] for z in lab.client("ec2").describe_availability_zones()["AvailabilityZones"]
        if z["ZoneName"] == "us-east-1a")]

    lab.deny()
    result = rollback_last(lab, ledgers)
    assert result.returncode == 0, result.stderr
    assert settles_to(lab, before)
