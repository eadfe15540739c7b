"""The permission check before a fault's first change: whom it simulates, and the ARNs it asks
about (pure logic; the lab-backed refusal is tests/lab/test_az_faults.py's)."""

import pytest

from chaos_sre.faults.preflight import enabled, principal_arn
from chaos_sre.permissions import PlannedCall


@pytest.mark.parametrize(("caller", "principal"), [
    ("arn:aws:sts::123456789012:assumed-role/chaos-runner/run-42",
     "arn:aws:iam::123456789012:role/chaos-runner"),
    ("arn:aws:iam::123456789012:user/teams/sre/alice", "arn:aws:iam::123456789012:user/teams/sre/alice"),
    ("arn:aws:sts::123456789012:user/moto", "arn:aws:iam::123456789012:user/moto"),
    ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
])
def test_the_simulated_principal_is_the_callers_role_or_user(caller: str, principal: str) -> None:
    """GetCallerIdentity answers an assumed role's session ARN; SimulatePrincipalPolicy wants
    the role ("PolicySourceArn", IAM API reference): the role name is the session ARN's first
    part (its path is looked up with GetRole)."""
    assert principal_arn(caller) == principal


def test_planned_calls_complete_their_arns_with_the_runners_region_and_account() -> None:
    assert PlannedCall("ec2:TerminateInstances", "instance/i-1").arn("eu-west-1", "111122223333") \
        == "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"
    assert PlannedCall("rds:FailoverDBCluster", "cluster:orders").arn("us-east-1", "1") \
        == "arn:aws:rds:us-east-1:1:cluster:orders"
    full = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/abc"
    assert PlannedCall("elasticloadbalancing:SetSubnets", full).arn("eu-west-1", "2") == full
    assert PlannedCall("iam:GetRole").arn("us-east-1", "1") == "*"


def test_the_check_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAOS_SRE_PREFLIGHT_PERMISSIONS", raising=False)
    assert enabled(None) and enabled({"preflight_permissions": "true"})
    assert not enabled({"preflight_permissions": False})
    monkeypatch.setenv("CHAOS_SRE_PREFLIGHT_PERMISSIONS", "false")
    assert not enabled({}) and enabled({"preflight_permissions": True})
