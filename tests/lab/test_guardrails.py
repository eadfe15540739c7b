"""Guardrails: every rule stops every fault family before its ledger entry and any mutation,
with one line naming the rule and the resource; bad rules are one-line errors too."""

from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, RunningLab, extension, run_chaos, run_cli

from chaos_sre.errors import ValidationError
from chaos_sre.faults import az as az_faults
from chaos_sre.faults import dynamodb as dynamodb_faults
from chaos_sre.faults import ecs as ecs_faults
from chaos_sre.faults import rds as rds_faults
from chaos_sre.safety.guardrails import GuardrailViolation, Share, Target, enforce

WEB = {"tags": "app=web", "asg_names": "web"}


def config(lab: RunningLab, **rules: Any) -> dict[str, Any]:
    return {"aws_region": "us-east-1", "aws_endpoint_url": lab.env["AWS_ENDPOINT_URL"],
            "guardrails": rules}


FAULTS = {
    "terminate": lambda c, **kw: az_faults.terminate_az_instances("us-east-1a", configuration=c,
                                                                  **WEB, **kw),
    "blackhole": lambda c, **kw: az_faults.blackhole_az(
        "us-east-1a", tags="app=web", asg_names="web", load_balancer_names="web", configuration=c,
        **kw),
    "failover": lambda c, **kw: rds_faults.failover(db_cluster_identifier="orders", configuration=c,
                                                    **kw),
    "throttle": lambda c, **kw: dynamodb_faults.throttle_table("sessions", read_units=10,
                                                               configuration=c, **kw),
    "scale-to-zero": lambda c, **kw: ecs_faults.scale_service_to_zero("staging", "api",
                                                                      configuration=c, **kw),
}
RESOURCES = {"terminate": "ec2:instance/i-", "blackhole": "ec2:subnet/subnet-",
             "failover": "rds:cluster/orders", "throttle": "dynamodb:table/sessions",
             "scale-to-zero": "ecs:service/staging/api"}



def refused(fault: str, configuration: dict[str, Any]) -> str:
    with pytest.raises(GuardrailViolation) as caught:
        FAULTS[fault](configuration)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_rule_stops_every_fault_before_anything_changes(shared_lab: RunningLab, fault: str,
                                                              own_ledger: Path) -> None:
    lab = shared_lab
    assert FAULTS[fault](config(lab, allowed_accounts=["123456789012"], allowed_regions=["us-east-1"],
                                required_tags={"env": "staging"}, protected_tags={"env": "production"},
                                max_availability_zones=1, max_percent=100),
                         dry_run=True)["dry_run"] is True
    message = refused(fault, config(lab, allowed_accounts=["999999999999"]))
    assert message.startswith("guardrail allowed_accounts: account 123456789012 is not one of "
                              "999999999999")
    message = refused(fault, config(lab, allowed_regions=["eu-west-1", "eu-central-1"]))
    assert "guardrail allowed_regions: region us-east-1 is not one of eu-west-1, eu-central-1" in message
    message = refused(fault, config(lab, required_tags="owner=sre"))
    assert message.startswith(f"guardrail required_tags: {RESOURCES[fault]}")
    assert "does not carry owner=sre (no owner tag)" in message
    message = refused(fault, config(lab, protected_tags={"env": "staging"}))
    assert message.startswith(f"guardrail protected_tags: {RESOURCES[fault]}")
    assert "carries env=staging, which is never touched (configuration guardrails)" in message
    assert not own_ledger.exists()  # no intent was written, nothing was changed


def test_max_percent_limits_the_share_of_a_group(shared_lab: RunningLab, own_ledger: Path) -> None:
    message = refused("terminate", config(shared_lab, max_percent=20))
    assert message.startswith("guardrail max_percent: the fault takes 2 of 6 (33 %) of Auto Scaling "
                              "group web, at most 20 % allowed")
    message = refused("blackhole", config(shared_lab, max_percent=30))
    assert "takes 2 of 6 (33 %) of Auto Scaling group web" in message
    message = refused("scale-to-zero", config(shared_lab, max_percent=50))
    assert "takes 3 of 3 (100 %) of ECS service staging/api, at most 50 % allowed" in message
    assert FAULTS["terminate"](config(shared_lab, max_percent=34), dry_run=True)["dry_run"] is True
    assert not own_ledger.exists()


def test_max_availability_zones_counts_the_zones_of_the_targets() -> None:
    targets = [Target("ec2:instance/i-1", {}, "us-east-1a"), Target("ec2:instance/i-2", {}, "us-east-1b")]
    with pytest.raises(GuardrailViolation, match="guardrail max_availability_zones: the fault touches "
                                                 "2 AZs \\(us-east-1a, us-east-1b\\), at most 1 allowed"):
        enforce({"guardrails": {"max_availability_zones": 1}}, None, targets)
    enforce({"guardrails": {"max_availability_zones": 2}}, None, targets)
    enforce({"guardrails": {"max_percent": 50}}, None, targets, [Share("g", 1, 2)])


def test_a_guardrails_file_applies_with_the_configuration(shared_lab: RunningLab, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          own_ledger: Path) -> None:
    rules = tmp_path / "guardrails.yaml"
    rules.write_text("protected_tags:\n  app: data\n")
    monkeypatch.setenv("CHAOS_SRE_GUARDRAILS", str(rules))
    message = refused("failover", config(shared_lab))
    assert message.endswith(f"carries app=data, which is never touched (guardrails file {rules})")
    assert FAULTS["terminate"](config(shared_lab), dry_run=True)["dry_run"] is True


@pytest.mark.parametrize("rules, message", [
    ({"allow_accounts": ["1"]}, "configuration guardrails: unknown key 'allow_accounts' (known: allowed_accounts,"),
    ({"allowed_accounts": {"a": 1}}, "configuration guardrails: allowed_accounts: expected a list, got {'a': 1}"),
    ({"required_tags": "env"}, "required_tags: expected tags as key=value,key=value or a mapping, got 'env'"),
    ({"protected_tags": ["env=prod"]}, "protected_tags: expected a mapping, got ['env=prod']"),
    ({"max_percent": 150}, "max_percent: expected at most 100, got 150"),
    ({"max_percent": "half"}, "max_percent: expected a number or null, got 'half'"),
    ({"max_availability_zones": 1.5}, "max_availability_zones: expected a whole number or null, got 1.5"),
    ({"max_availability_zones": True}, "max_availability_zones: expected a number, not true or false, got True"),
    ("not json", "configuration guardrails is not a JSON object"),
    (["max_percent"], "configuration guardrails: expected a mapping, got ['max_percent']"),
])
def test_bad_rules_are_one_line_errors(rules: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        enforce({"guardrails": rules}, None, [])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bad_guardrails_files_are_one_line_errors(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_SRE_GUARDRAILS", str(tmp_path / "missing.yaml"))
    with pytest.raises(ValidationError, match="guardrails file .*missing.yaml not found"):
        enforce(None, None, [])
    broken = tmp_path / "broken.yaml"
    broken.write_text("max_percent: [1,\n")
    monkeypatch.setenv("CHAOS_SRE_GUARDRAILS", str(broken))
    with pytest.raises(ValidationError, match="is not YAML at line"):
        enforce(None, None, [])


@pytest.mark.e2e
def test_a_violation_fails_the_run_and_injects_nothing(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    rules = tmp_path / "guardrails.yaml"
    rules.write_text("protected_tags: {app: api}\n")
    status, journal, _ = run_chaos(lab, ROOT / "experiments" / "ecs-scale-to-zero.json", tmp_path,
                                   env={"CHAOS_SRE_GUARDRAILS": str(rules)})
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("guardrail protected_tags: ecs:service/staging/api carries app=api" in r
               for r in reasons), reasons
    assert lab.timeline()["faults"] == []
    assert extension(journal)["fault_started_at"] is None


def test_validate_resolves_every_fault_read_only_and_applies_the_guardrails(
        shared_lab: RunningLab, tmp_path: Path) -> None:
    env = {**shared_lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")}
    names = ["az-outage", "az-blackhole", "rds-failover", "ecs-scale-to-zero"]
    files = [str(ROOT / "experiments" / f"{name}.json") for name in names]
    result = run_cli("validate", *files, lab_dir=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("valid experiment, 1 fault(s) resolved read-only") == 4
    rules = tmp_path / "guardrails.yaml"
    rules.write_text("allowed_regions: [eu-west-1]\n")
    refused = run_cli("validate", files[0], lab_dir=tmp_path,
                      env={**env, "CHAOS_SRE_GUARDRAILS": str(rules)})
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: {files[0]}: method[0] (terminate-az-instances): guardrail allowed_regions: region "
        f"us-east-1 is not one of eu-west-1 (guardrails file {rules})")
    assert shared_lab.timeline()["faults"] == []
    assert not (tmp_path / "ledgers").exists()
