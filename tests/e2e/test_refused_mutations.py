"""A mutation AWS refuses is a fault that never ran.

When the runner's role lacks a permission, AWS answers the mutating call with an access-denied
error and changes nothing: EC2 answers HTTP 403 ``UnauthorizedOperation`` (Amazon EC2 API
Reference, "Troubleshooting API request errors", Unauthorized operation), DynamoDB and ECS
HTTP 400 ``AccessDeniedException`` (Amazon DynamoDB Developer Guide, "Error handling with
DynamoDB"; Amazon ECS API Reference, "Common Errors"), RDS HTTP 403 ``AccessDenied``. The lab
denies a chosen action the same way (chaos_sre/lab/core/access_denied.py). For each fault family's
shipped experiment a refused mutation must leave a ``failed`` ledger entry, no fault start, no
changed target, a FAILED verdict carrying AWS's error, and nothing for ``chaos-sre rollback``.

The runs sign as the runner (conftest.RUNNER_KEY), which the lab holds to the generated
least-privilege policy (`chaos-sre iam policy --target-tag env=staging`) with the statement
granting the refused action taken out: removing that statement is what makes the call fail.

Since issue 36 item 7 a fault asks IAM about every call it plans before its first change
(:mod:`chaos_sre.faults.preflight`), so a missing statement refuses the run with nothing
changed at all (the last test). A call can still be refused when it is made - by a resource
policy, an SCP or a session policy the simulation does not see, or a policy changed mid-run -
so the first two tests run without the check (``CHAOS_SRE_PREFLIGHT_PERMISSIONS=false``) to hold
that path to the same standard.
"""

from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import (
    ROOT,
    RUNNER_KEY,
    RunningLab,
    extension,
    ledger_entries,
    run_chaos,
    run_cli,
    runner_policy,
    runner_policy_without,
    sampled_lightly,
    without_statement,
)

from chaos_sre.lab.core.plugin import RefusedMutation
from chaos_sre.lab.core.services import lab_services

QUICK = {"CHAOS_SRE_OBSERVE_SECONDS": "0", "CHAOS_SRE_HOLD_SECONDS": "0"}
"""No pause after the refused action: nothing is there to observe."""
AT_CALL_TIME = {**QUICK, "CHAOS_SRE_PREFLIGHT_PERMISSIONS": "false"}
"""Without the permission check before the first change: the call itself is refused."""

def refusals() -> dict[str, RefusedMutation]:
    """Lab service -> its shipped experiment, the action denied, AWS's code and the preparations
    made before it (the throttle first holds the table's auto scaling, which its rollback
    restores): each installed lab service's plugin object says its part."""
    return {service.name: service.refused_mutation for service in lab_services()
            if service.refused_mutation is not None}


REFUSALS = refusals()



def lab_status(lab: RunningLab) -> dict[str, Any]:
    return dict(requests.get(f"{lab.target_url}/__lab/status", timeout=5).json())


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_refused_mutation_is_a_fault_that_never_ran(name: str, start_lab, tmp_path: Path) -> None:
    refusal = refusals()[name]
    action, code, prepared = refusal.action, refusal.code, list(refusal.prepared)
    lab = start_lab()
    policy, removed = runner_policy_without(action, condition=f'"{name}"')
    lab.attach_policy(policy, RUNNER_KEY)
    status, journal, stderr = run_chaos(lab, ROOT / refusal.experiment, tmp_path,
                                        env=AT_CALL_TIME, cwd=tmp_path)  # its SLO file found from it
    assert status != 0, stderr[-2000:]
    assert lab_status(lab)["api_calls"].get(action, 0) >= 1  # the call was made, and refused

    entries = ledger_entries(tmp_path / "ledgers")
    intents = [e for e in entries if e["kind"] == "intent"]
    assert [e["operation"] for e in intents[:-1]] == prepared, entries
    outcomes = [e for e in entries if e.get("seq") == intents[-1]["seq"] and e["kind"] != "intent"]
    assert [e["kind"] for e in outcomes] == ["failed"], entries
    assert code in outcomes[0]["error"]

    ext = extension(journal)
    assert ext["fault_started_at"] is None
    assert [t.split(":")[-1].strip() for t in ext["targets"]] == prepared
    assert ext["recovery"]["detect_seconds"] is None and ext["recovery"]["recover_seconds"] is None
    assert ext["verdict"]["passed"] is False
    assert any(r.startswith("method activity failed") and code in r and action in r
               for r in ext["verdict"]["reasons"]), (removed, ext["verdict"]["reasons"])
    assert lab.timeline()["faults"] == []

    rollback = run_cli("rollback", "--last", lab_dir=lab.lab_dir,
                       env={**lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")})
    assert rollback.returncode == 0, rollback.stderr
    assert "nothing to restore" in rollback.stdout


@pytest.mark.e2e
def test_a_refused_subnet_cut_restores_the_load_balancer_and_removes_the_prepared_acl(
        start_lab, tmp_path: Path) -> None:
    """The blackhole first suspends the ASG's AZRebalance, shifts the ALB's traffic out of the AZ
    (an ARC zonal shift: its node leaves DNS) and creates its deny-all network ACL (harmless while
    no subnet uses it); when AWS then refuses ReplaceNetworkAclAssociation the AZ was never cut
    off, but the traffic shift was a fault that started: the rollback cancels the shift (the
    ALB's subnets never changed), deletes the unused ACL it created and resumes AZRebalance."""
    lab = start_lab()
    lab.attach_policy(runner_policy_without("ec2:ReplaceNetworkAclAssociation",
                                            ":subnet/")[0], RUNNER_KEY)
    ec2, elbv2 = lab.client("ec2"), lab.client("elbv2")

    def balancer_subnets() -> list[str]:
        return sorted(z["SubnetId"] for z in elbv2.describe_load_balancers(
            Names=["web"])["LoadBalancers"][0]["AvailabilityZones"])

    acls_before, subnets_before = ({a["NetworkAclId"] for a in ec2.describe_network_acls()[
        "NetworkAcls"]}, balancer_subnets())
    status, journal, _ = run_chaos(lab, ROOT / "experiments" / "az-blackhole.json", tmp_path,
                                   env=AT_CALL_TIME)
    assert status != 0
    ext = extension(journal)
    assert ext["fault_started_at"] is not None
    assert any("UnauthorizedOperation" in r and "ec2:ReplaceNetworkAclAssociation" in r
               for r in ext["verdict"]["reasons"]), ext["verdict"]["reasons"]
    assert [t.split(":")[-1].strip() for t in ext["targets"]] == [
        "suspend_processes", "start_zonal_shift", "create_network_acl"]
    kinds = {e["operation"]: e["kind"] for e in ledger_entries(tmp_path / "ledgers")
             if e["kind"] == "intent"}
    assert set(kinds) == {"suspend_processes", "start_zonal_shift", "create_network_acl",
                          "replace_network_acl_association"}
    assert lab.client("arc-zonal-shift").list_zonal_shifts(status="ACTIVE")["items"] == []
    assert {a["NetworkAclId"] for a in ec2.describe_network_acls()["NetworkAcls"]} == acls_before
    assert balancer_subnets() == subnets_before and len(subnets_before) == 3
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    assert group["SuspendedProcesses"] == []


MULTI_AZ_INSTANCE = {"CHAOS_SRE_DB_CLUSTER": "", "CHAOS_SRE_DB_INSTANCE": "accounts",
                     "CHAOS_SRE_SLO": "probes/account.yaml"}
EXERCISED_BY = {
    "autoscaling:": ("az-blackhole", {}),
    "dynamodb:UpdateTable": ("dynamodb-throttle", {}),
    "ec2:TerminateInstances": ("az-outage", {}),
    "ec2:": ("az-blackhole", {}),
    "arc-zonal-shift:": ("az-blackhole", {}),
    "ecs:UpdateService": ("ecs-scale-to-zero", {}),
    "rds:FailoverDBCluster": ("rds-failover", {}),
    "rds:RebootDBInstance": ("rds-failover", MULTI_AZ_INSTANCE),
    "iam:PassRole": ("s3-replication-paused", {}),
    "s3:": ("s3-access-denied", {}),
}
"""The shipped experiment (and configuration) whose run needs each action, by action or prefix."""
SHOWN_ABOVE = {*(runner_policy_without(r.action, condition=f'"{name}"')[1] for name, r in REFUSALS.items()),
               runner_policy_without("ec2:ReplaceNetworkAclAssociation", ":subnet/")[1]}
"""The statements the tests above take out."""


def _statements() -> list[dict[str, Any]]:
    return [s for s in runner_policy()["Statement"] if s["Sid"] not in SHOWN_ABOVE]


SCALING_NAMESPACES = {"ecs": ("ecs-scale-to-zero", {}), "dynamodb": ("dynamodb-throttle", {})}
"""RegisterScalableTarget has a statement per service namespace: the experiment that scales it."""


def _run_for(statement: dict[str, Any]) -> tuple[str, dict[str, str]]:
    if statement["Sid"] == "ResolveTargetsAndMeasure":
        return "az-outage", {}
    action = statement["Action"][0]
    namespace = statement.get("Condition", {}).get("StringEquals", {}).get(
        "application-autoscaling:service-namespace")
    if namespace is not None:
        return SCALING_NAMESPACES[namespace]
    return next(run for key, run in sorted(EXERCISED_BY.items(), key=lambda kv: -len(kv[0]))
                if action.startswith(key))


@pytest.mark.e2e
@pytest.mark.parametrize("statement", _statements(), ids=lambda s: s["Sid"])
def test_without_any_statement_of_the_runner_policy_a_run_reports_the_denied_call(
        statement: dict[str, Any], start_lab, tmp_path: Path) -> None:
    """The generated policy with one statement taken out (those the tests above take out
    included): the run that needs it fails before its fault starts - refused by the IAM policy
    simulation of every call the fault and its restore plan (implicitDeny), or by AWS's
    access-denied code for a read - its verdict names the call, and nothing was changed."""
    name, env = _run_for(statement)
    lab = start_lab()
    before = lab.timeline()["faults"]
    lab.attach_policy(without_statement(runner_policy(), statement), RUNNER_KEY)
    status, journal, stderr = run_chaos(lab, sampled_lightly(name, tmp_path), tmp_path,
                                        env={**QUICK, **env})
    assert status != 0, stderr[-2000:]
    denied = [r for r in lab.iam_requests(RUNNER_KEY) if not r["allowed"]]
    assert denied and {r["action"] for r in denied} <= set(statement["Action"]), denied
    ext = extension(journal)
    assert ext["verdict"]["passed"] is False
    reasons = " ".join(ext["verdict"]["reasons"])
    assert any(code in reasons for code in ("UnauthorizedOperation", "AccessDenied",
                                            "(implicitDeny)")), reasons
    assert any(r["action"] in reasons for r in denied), reasons
    assert lab.timeline()["faults"] == before
    assert ext["fault_started_at"] is None and not ext.get("targets"), ext.get("targets")


def test_the_lab_denies_in_each_protocols_own_error(start_lab) -> None:
    """EC2 (its own query protocol), RDS (query) and DynamoDB (JSON) each answer a denied action
    with AWS's code and status; other actions go through, and a malformed name is refused."""
    lab = start_lab()
    assert lab.deny("ec2:DescribeVpcs", "rds:DescribeDBClusters", "dynamodb:ListTables") == [
        "dynamodb:ListTables", "ec2:DescribeVpcs", "rds:DescribeDBClusters"]
    expected = {("ec2", "describe_vpcs"): ("UnauthorizedOperation", 403),
                ("rds", "describe_db_clusters"): ("AccessDenied", 403),
                ("dynamodb", "list_tables"): ("AccessDeniedException", 400)}
    for (service, operation), (code, http) in expected.items():
        client = lab.client(service)
        with pytest.raises(client.exceptions.ClientError) as refused:
            getattr(client, operation)()
        error = refused.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, http)
        assert "is not authorized to perform" in error["Error"]["Message"]
    assert lab.client("ec2").describe_subnets()["Subnets"]  # not denied
    bad = requests.put(f"{lab.target_url}/__lab/iam/denied", params={"actions": "terminate"},
                       timeout=5)
    assert bad.status_code == 400 and "not an IAM action name" in bad.json()["error"]
    assert lab.deny() == []
    assert lab.client("ec2").describe_vpcs()["Vpcs"]
