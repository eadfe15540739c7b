"""Lambda invocation errors and added delay with AWS FIS's semantics: the faults refuse a function
without FIS's extension, start a FIS experiment of their one action under `chaos run` and stop it
in the rollback; the lab's FIS plays the extension (its S3 configuration, its poll, the share of
invocations); `chaos-sre fis export` maps them to FIS's own actions."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ROOT, RunningLab, lab_settings, ledger_entries, wait_until

from chaos_sre.errors import ArgumentError, ValidationError
from chaos_sre.faults import awslambda_invocations as invocation_faults
from chaos_sre.faults.effects import missing_effects
from chaos_sre.fis.export import export
from chaos_sre.safety.ledger import Ledger
from chaos_sre.safety.rollback import restore_run

FUNCTION, BUCKET = "api-worker", "fis-lambda-config"


def config_objects(lab: RunningLab) -> list[str]:
    listed = lab.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="FisConfigs/")
    return [o["Key"] for o in listed.get("Contents", [])]


def bare_function(lab: RunningLab) -> str:
    """A function without FIS's extension (no layer, no configuration location), made once."""
    aws = lab.client("lambda")
    if "bare" in [f["FunctionName"] for f in aws.list_functions()["Functions"]]:
        return "bare"
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("bare.py", "def handler(event, context):\n    return event\n")
    role = aws.get_function(FunctionName=FUNCTION)["Configuration"]["Role"]
    aws.create_function(FunctionName="bare", Runtime="python3.12", Role=role, Handler="bare.handler",
                        Code={"ZipFile": code.getvalue()}, Tags={"env": "staging"})
    return "bare"


def test_refusals_and_a_dry_run_start_nothing(shared_lab: RunningLab, own_ledger: Path) -> None:
    """FIS's Lambda actions need its extension on the function ("Use the AWS FIS
    aws:lambda:function actions": the layer, AWS_LAMBDA_EXEC_WRAPPER and
    AWS_FIS_CONFIGURATION_LOCATION): a function without it is refused before any experiment
    starts, as are a share outside 1-100 and a delay past 900,000 ms (FIS actions reference)."""
    config = lab_settings(shared_lab)
    experiments = len(shared_lab.client("fis").list_experiments()["experiments"])
    with pytest.raises(ValidationError, match="has no AWS FIS extension layer") as caught:
        invocation_faults.fail_invocations(function_name=bare_function(shared_lab), configuration=config)
    assert "\n" not in str(caught.value)
    for arguments, message in (({"invocation_percentage": 0}, "argument invocation_percentage"),
                               ({"startup_delay_milliseconds": 900_001}, "argument startup_delay_milliseconds")):
        with pytest.raises(ArgumentError, match=message):
            invocation_faults.add_invocation_delay(function_name=FUNCTION, configuration=config, **arguments)
    plan = invocation_faults.fail_invocations(function_name=FUNCTION, invocation_percentage=50,
                                              dry_run=True, configuration=config)
    assert (plan["action"], plan["parameters"]) == (
        "aws:lambda:invocation-error", {"invocationPercentage": "50", "preventExecution": "false"})
    assert len(shared_lab.client("fis").list_experiments()["experiments"]) == experiments
    assert ledger_entries(own_ledger) == []


def test_failed_invocations_start_at_the_extensions_poll_and_end_with_the_rollback(
        shared_lab: RunningLab, own_ledger: Path) -> None:
    """Under `chaos run` the fault starts a FIS experiment of aws:lambda:invocation-error; FIS
    writes the fault to the function's S3 configuration location and the extension applies it
    from its next poll: the quote path, whose function now fails, is served without it on the
    resilient lab, and Lambda counts the errors. The effect check asks FIS; the rollback stops
    the experiment, and the configuration object is gone."""
    config = lab_settings(shared_lab)
    url = shared_lab.env["CHAOS_SRE_TARGET_URL"]
    result = invocation_faults.fail_invocations(function_name=FUNCTION, configuration=config)
    assert result["dry_run"] is False and result["experiment_id"]
    assert wait_until(lambda: len(config_objects(shared_lab)) == 1, timeout=10, interval=0.1)
    assert wait_until(lambda: requests.get(f"{url}/api/quote", timeout=5).headers.get("X-Lab-Fallback")
                      == FUNCTION, timeout=15, interval=0.2)  # the extension's next poll: <= 6 s here
    assert shared_lab.api.status()["lambda_functions"][FUNCTION]["errors"] > 0
    invoked = shared_lab.client("lambda").invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert invoked["StatusCode"] == 200 and invoked["FunctionError"] == "Unhandled"
    ledger = Ledger(sorted(own_ledger.glob("*.jsonl"))[0])
    assert missing_effects(ledger, config, None) == ([], 1)
    restored = restore_run(config, None)
    assert len(restored) == 1 and "stopped" in restored[0], restored
    assert config_objects(shared_lab) == []
    assert shared_lab.client("lambda").invoke(FunctionName=FUNCTION, Payload=b"{}").get("FunctionError") is None
    kinds = [e["kind"] for e in shared_lab.timeline()["faults"] if e["resource"] == FUNCTION]
    assert "lambda-invocation-fault-injected" in kinds


def test_a_fis_action_on_a_function_without_the_extension_fails_with_fis_reason(
        shared_lab: RunningLab) -> None:
    """FIS rejects an experiment whose target function lacks a valid
    AWS_FIS_CONFIGURATION_LOCATION; the lab's FIS fails the action with that reason."""
    fis = shared_lab.client("fis")
    arn = shared_lab.client("lambda").get_function(FunctionName=bare_function(shared_lab))[
        "Configuration"]["FunctionArn"]
    template = fis.create_experiment_template(
        clientToken="bare", description="bare", roleArn="arn:aws:iam::123456789012:role/chaos-sre-fis-x",
        stopConditions=[{"source": "none"}],
        targets={"functions": {"resourceType": "aws:lambda:function", "resourceArns": [arn],
                               "selectionMode": "ALL"}},
        actions={"error": {"actionId": "aws:lambda:invocation-error", "targets": {"Functions": "functions"},
                           "parameters": {"duration": "PT1M"}}})["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template)["experiment"]["id"]
    assert wait_until(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "failed",
                      timeout=10, interval=0.1)
    assert "AWS_FIS_CONFIGURATION_LOCATION" in fis.get_experiment(id=experiment)["experiment"]["state"]["reason"]


def test_fis_export_maps_both_faults_to_fis_own_lambda_actions(
        shared_lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chaos-sre fis export`: each fault is FIS's own action on the function, by ARN, for the
    experiment's hold, with the share and the delay the fault was given."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", shared_lab.env["AWS_ENDPOINT_URL"])
    document: dict[str, Any] = json.loads((ROOT / "experiments" / "lambda-throttle.json").read_text())
    document["method"][0]["provider"].update(
        module="chaos_sre.faults.awslambda_invocations", func="add_invocation_delay",
        arguments={"function_name": "${function_name}", "startup_delay_milliseconds": 3000,
                   "invocation_percentage": 25})
    path = tmp_path / "lambda-invocation-delay.json"
    path.write_text(json.dumps(document))
    exported = export(path, account_id="123456789012")
    [action] = exported.template["actions"].values()
    assert action["actionId"] == "aws:lambda:invocation-add-delay"
    assert {k: v for k, v in action["parameters"].items() if k != "duration"} == {
        "invocationPercentage": "25", "startupDelayMilliseconds": "3000"}
    [target] = exported.template["targets"].values()
    assert target["resourceType"] == "aws:lambda:function"
    assert target["resourceArns"] == [f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"]
