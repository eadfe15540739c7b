"""Lambda throttle: the fault with its ledger, refusals and exact restore (a reservation of N, or
none), its effect check, a crash replay, and the shipped experiment on both profiles."""

from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import (
    ROOT,
    RunningLab,
    ShippedRuns,
    account_snapshot,
    lab_settings,
    ledger_entries,
    over_budget_and_restored,
)

from chaos_sre.errors import ArgumentError, AWSError, ValidationError
from chaos_sre.faults import awslambda as lambda_faults
from chaos_sre.faults.effects import missing_effects
from chaos_sre.probes import awslambda as lambda_probes
from chaos_sre.safety.ledger import Ledger, replay

EXPERIMENT = ROOT / "experiments" / "lambda-throttle.json"
FUNCTION = "api-worker"





def lowered(lab: RunningLab) -> list[dict[str, Any]]:
    """The lab's timeline faults of the function: each reservation lowered."""
    return [f for f in lab.timeline()["faults"]
            if f["resource"] == FUNCTION and f["kind"] == "lambda-reserved-concurrency-lowered"]


def test_bad_arguments_refusals_and_a_dry_run_change_nothing(shared_lab: RunningLab,
                                                             own_ledger: Path) -> None:
    """One-line refusals before anything changes, the provisioned-concurrency one included:
    provisioned concurrency counts towards the function's reserved concurrency ("Configuring
    provisioned concurrency for a function", Lambda Developer Guide), so a throttle below it
    would cost the function its pre-initialized environments; the lab refuses
    PutFunctionConcurrency under it, and the fault refuses before calling, naming the alias."""
    config, aws = lab_settings(shared_lab), shared_lab.client("lambda", retries=False)
    before = account_snapshot(shared_lab)["lambda"]
    refusals = [
        (ArgumentError, "argument reserved_concurrency_limit: expected at least 0, got -1",
         {"function_name": FUNCTION, "reserved_concurrency_limit": -1}),
        (ArgumentError, "argument reserved_concurrency_limit: expected a whole number, got 'none'",
         {"function_name": FUNCTION, "reserved_concurrency_limit": "none"}),
        (AWSError, "ResourceNotFoundException", {"function_name": "no-such-function"}),
    ]
    for error, message, arguments in refusals:
        with pytest.raises(error) as caught:
            lambda_faults.throttle_function(configuration=config, **arguments)
        assert message in str(caught.value) and "\n" not in str(caught.value)

    plan = lambda_faults.throttle_function(function_name=FUNCTION, dry_run=True, configuration=config)
    assert plan == {"dry_run": True, "function_name": FUNCTION,
                    "before": {"reserved_concurrency": None}, "after": {"reserved_concurrency": 0}}

    version = aws.publish_version(FunctionName=FUNCTION)["Version"]
    aws.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version)
    with pytest.raises(Exception, match="cannot be applied to unpublished function versions"):
        aws.put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="$LATEST",
                                               ProvisionedConcurrentExecutions=2)
    aws.put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="live",
                                           ProvisionedConcurrentExecutions=2)
    try:
        with pytest.raises(Exception, match="less than the function's total provisioned concurrency"):
            aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=1)
        with pytest.raises(ValidationError) as caught:
            lambda_faults.throttle_function(function_name=FUNCTION, configuration=config)
        assert "has 2 provisioned concurrency (live: 2), more than the reserved concurrency 0" \
            in str(caught.value)
        assert lambda_probes.concurrency_settings(FUNCTION, config) == {
            "reserved_concurrency": None, "provisioned_concurrency": {"live": 2}}
        aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=3)
        with pytest.raises(ValidationError, match="already has reserved concurrency 3: nothing would change"):
            lambda_faults.throttle_function(function_name=FUNCTION, reserved_concurrency_limit=3,
                                            configuration=config)
    finally:
        aws.delete_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="live")
        aws.delete_function_concurrency(FunctionName=FUNCTION)
    assert account_snapshot(shared_lab)["lambda"] == before
    assert ledger_entries(own_ledger) == []


def test_a_throttle_holds_shows_its_effect_and_restores_none_or_the_number_it_replaced(
        shared_lab: RunningLab, own_ledger: Path) -> None:
    """Reserved concurrency 0 throttles every invocation ("Configuring reserved concurrency"):
    the quote path falls back on the resilient lab, the effect check sees the reservation held,
    and the restore removes the reservation (DeleteFunctionConcurrency) when the function had
    none. A function with its own reservation (5) gets that number back - here from the ledger
    file another process replays, as after a killed run."""
    config, aws = lab_settings(shared_lab), shared_lab.client("lambda", retries=False)
    url = shared_lab.env["CHAOS_SRE_TARGET_URL"]
    before = account_snapshot(shared_lab)["lambda"]
    earlier = len(lowered(shared_lab))  # the module's other test may have run first
    result = lambda_faults.throttle_function(function_name=FUNCTION, configuration=config)
    assert result["before"] == {"reserved_concurrency": None} and result["dry_run"] is False
    assert aws.get_function(FunctionName=FUNCTION)["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    assert lambda_probes.not_throttled(FUNCTION, config) is False
    assert requests.get(f"{url}/api/quote", timeout=5).headers.get("X-Lab-Fallback") == FUNCTION
    intents = [e for e in ledger_entries(own_ledger) if e["kind"] == "intent"]
    assert [(e["resource"], e["inverse"]) for e in intents] == [
        (f"lambda:function/{FUNCTION}", {"op": "restore_lambda_concurrency", "function_name": FUNCTION,
                                         "reserved_concurrency": None})]
    ledger = Ledger(sorted(own_ledger.glob("*.jsonl"))[0])
    assert missing_effects(ledger, config, None) == ([], 1)
    aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=7)  # a scaler
    missing, _ = missing_effects(ledger, config, None)
    assert missing == [f"lambda:function/{FUNCTION}: its reserved concurrency is 7, not the 0 the "
                       "fault set: something put it back"]
    restored = lambda_faults.restore_function(configuration=config)
    assert restored == {"restored": [f"Lambda function {FUNCTION} restored to reserved concurrency none"]}
    assert account_snapshot(shared_lab)["lambda"] == before
    assert lambda_faults.restore_function(configuration=config) == {"restored": []}

    aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=5)
    try:
        lambda_faults.throttle_function(function_name=FUNCTION, configuration=config)
        assert lambda_probes.reserved_concurrency(FUNCTION, config) == 0
        files = sorted(own_ledger.glob("*.jsonl"))
        outcomes = replay(Ledger(files[-1]), config)  # the run died: another process replays it
        assert outcomes == [f"Lambda function {FUNCTION} restored to reserved concurrency 5"]
        assert lambda_probes.reserved_concurrency(FUNCTION, config) == 5
    finally:
        aws.delete_function_concurrency(FunctionName=FUNCTION)
    assert [(f["detail"]["previous"], f["detail"]["reserved"]) for f in lowered(shared_lab)[earlier:]] \
        == [(None, 0), (None, 5), (5, 0)]  # a reservation from none lowers the function's cap too


def test_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab: quotes are served without the function's
    answer while it is throttled, so the quote SLO spends nothing; the lab saw the reservation
    lowered once and the function's throttled invocations as fallbacks on /api/quote only."""
    journal = shipped_runs.passed_degraded("lambda-throttle", "lambda-reserved-concurrency-lowered",
                                           "200-lambda-throttled")
    assert journal["run"][1]["output"] == {"reserved_concurrency": 0, "provisioned_concurrency": {}}


@pytest.mark.e2e
def test_experiment_fails_on_fragile_with_the_budget_and_still_restores(start_lab,
                                                                        tmp_path: Path) -> None:
    """On the fragile lab the api passes the throttle on (502): the quote SLO's budget is spent
    past the allowance, and the function's reservation is back as it was (none)."""
    lab = start_lab("--profile", "fragile")
    before = over_budget_and_restored(lab, EXPERIMENT, tmp_path)
    failed = lab.timeline()["requests"]["by_cause"]
    assert set(failed) - {"ok"} == {"502-lambda-throttled"}, failed  # only the quote path failed
    assert (FUNCTION, None, []) in before["lambda"]
