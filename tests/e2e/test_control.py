"""The chaos-sre control in real `chaos run`s against the lab: verdicts, stops, exit codes."""

import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import extension, publish_balancer_metric, run_chaos

ROOT = Path(__file__).resolve().parents[2]
RATE = 200.0

HEALTHY = {
    "type": "probe", "name": "all-targets-healthy",
    "tolerance": {"type": "range", "range": [6, 1000]},
    "provider": {"type": "python", "module": "chaos_sre.probes.aws",
                 "func": "wait_for_healthy_targets",
                 "arguments": {"target_group_name": "web", "count": 6, "timeout_seconds": 600}},
}
TERMINATE_AZ = {
    "type": "action", "name": "terminate-one-az",
    "provider": {"type": "python", "module": "chaosaws.ec2.actions", "func": "terminate_instances",
                 "arguments": {"az": "us-east-1a", "filters": [
                     {"Name": "tag:app", "Values": ["web"]},
                     {"Name": "instance-state-name", "Values": ["running"]}]}},
}
COUNT_PER_AZ = {
    "type": "probe", "name": "instances-per-az",
    "provider": {"type": "python", "module": "chaos_sre.probes.aws", "func": "instances_per_az",
                 "arguments": {"asg_name": "web"}},
}


def count_targets_action(name: str, target_group: str) -> dict[str, Any]:
    """An action counting a target group's healthy targets: it fails when the group does not exist."""
    return {"type": "action", "name": name, "provider": {
        "type": "python", "module": "chaos_sre.probes.aws", "func": "healthy_target_count",
        "arguments": {"target_group_name": target_group}}}


def experiment(method: list[dict[str, Any]], *, steady: list[dict[str, Any]] | None = None,
               rollbacks: list[dict[str, Any]] | None = None, **control: Any) -> dict[str, Any]:
    arguments = {"slo": str(ROOT / "probes" / "web.yaml"), "target_url": "${target_url}",
                 "budget_allowance": 0.05, "rto_seconds": 300, "rate": RATE,
                 "baseline_seconds": 10, "hold_seconds": 20, "recovery_window_seconds": 50}
    arguments.update(control)
    document: dict[str, Any] = {
        "version": "1.0.0", "title": "test", "description": "test",
        "configuration": {"target_url": {"type": "env", "key": "CHAOS_SRE_TARGET_URL"},
                          "aws_region": "us-east-1"},
        "controls": [{"name": "chaos-sre", "provider": {
            "type": "python", "module": "chaos_sre.control", "arguments": arguments}}],
        "method": method,
        "rollbacks": rollbacks or [],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }
    if steady is not None:
        document["steady-state-hypothesis"] = {"title": "healthy", "probes": steady}
    return document


@pytest.mark.serial
@pytest.mark.e2e
def test_az_outage_verdict_matches_the_labs_ground_truth(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    document = experiment([{**TERMINATE_AZ, "pauses": {"after": 40}}], steady=[HEALTHY])
    status, journal, stderr = run_chaos(lab, document, tmp_path)
    assert status == 0, stderr[-3000:]
    assert "of the error budget remains over the last 30 d" in stderr
    assert "chaos-sre [fault]" in stderr  # the live view's plain log lines off a terminal
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True
    truth = lab.timeline()
    assert truth["requests"]["failed"] > 0, [(round(e["at"] - ext["fault_started_at"], 3), e["kind"])
                                             for e in truth["events"]][:8]
    fault_at = ext["fault_started_at"]
    assert fault_at <= min(f["at"] for f in truth["faults"])

    scale = ext["time_scale"]  # the journal's times are AWS seconds, the timeline's wall seconds
    assert scale == float(lab.env["CHAOS_SRE_TIME_SCALE"]) == 0.1
    recovered_at = fault_at + ext["recovery"]["recover_seconds"] * scale
    tolerance = max(2 / RATE, 0.25)
    assert abs(recovered_at - truth["impact"]["last_failure"]) <= tolerance
    detected_at = fault_at + ext["recovery"]["detect_seconds"] * scale
    assert abs(detected_at - truth["impact"]["first_failure"]) <= tolerance

    # budget from the lab's own counts over the sampled span (the sampler is the only client)
    slo_window, target = ext["slo"]["window_seconds"], ext["slo"]["target"]
    total, failed = truth["requests"]["total"], truth["requests"]["failed"]
    lab_budget = (failed / total) * (total / RATE / scale) / slo_window / (1 - target)
    assert ext["budget"]["consumed_fraction"] == pytest.approx(lab_budget, rel=0.05)
    assert ext["budget"]["allowed_fraction"] == 0.05

    samples = Path(ext["samples_path"])
    assert samples.parent == tmp_path and samples.name == "journal.samples.jsonl"
    assert sum(1 for _ in samples.open()) == total
    assert ext["sli"]["whole_run"]["samples"] == total


@pytest.mark.e2e
def test_steady_state_failing_before_the_fault_injects_nothing(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    impossible = {**HEALTHY, "tolerance": {"type": "range", "range": [7, 1000]},
                  "provider": {**HEALTHY["provider"], "arguments": {
                      "target_group_name": "web", "count": 7, "timeout_seconds": 1}}}
    status, journal, _ = run_chaos(lab, experiment([TERMINATE_AZ], steady=[impossible]), tmp_path)
    assert status != 0
    verdict = extension(journal)["verdict"]
    assert verdict["passed"] is False
    assert "the steady-state hypothesis did not hold before the fault" in verdict["reasons"]
    assert lab.timeline()["faults"] == []
    assert len(lab.web_instances("running")) == 6


@pytest.mark.e2e
def test_exceeding_the_allowance_stops_and_rolls_back(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    document = experiment([{**TERMINATE_AZ, "pauses": {"after": 300}}], steady=[HEALTHY],
                          rollbacks=[COUNT_PER_AZ], budget_allowance=0.000001)
    status, journal, stderr = run_chaos(lab, document, tmp_path)
    assert status != 0
    ext = extension(journal)
    assert ext["stopped"] is not None
    assert "exceeded the allowance" in ext["stopped"]["reason"]
    assert any(r.startswith("stopped during the method: error budget spent")
               for r in ext["verdict"]["reasons"])
    assert journal["status"] == "interrupted"
    assert len(journal["rollbacks"]) == 1
    assert journal["duration"] < 30
    assert "exceeded the allowance" in stderr


@pytest.mark.e2e
def test_a_failed_method_action_fails_the_verdict(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    broken = count_targets_action("broken-action", "no-such-group")
    status, journal, _ = run_chaos(lab, experiment([broken], steady=[HEALTHY]), tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any(r.startswith("method activity failed: broken-action") for r in reasons)
    assert journal["status"] == "failed"


@pytest.mark.e2e
def test_a_failed_rollback_fails_the_verdict(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    harmless = count_targets_action("count-targets", "web")
    broken = count_targets_action("broken-rollback", "no-such-group")
    status, journal, _ = run_chaos(lab, experiment([harmless], steady=[HEALTHY], rollbacks=[broken]),
                                   tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any(r.startswith("rollback failed, the fault may not be fully undone: broken-rollback")
               for r in reasons), reasons


@pytest.mark.e2e
def test_an_unhealthy_baseline_refuses_to_inject(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    status, journal, stderr = run_chaos(lab, experiment([TERMINATE_AZ]), tmp_path,
                                        env={"CHAOS_SRE_TARGET_URL": dead})
    assert status != 0
    assert "the steady state did not hold over the baseline" in stderr
    assert any("no fault injected" in r for r in extension(journal)["verdict"]["reasons"])
    assert lab.timeline()["faults"] == []


def test_bad_control_arguments_stop_before_anything(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    status, _, stderr = run_chaos(lab, experiment([TERMINATE_AZ], rate="fast"), tmp_path)
    assert status != 0
    assert "chaos-sre control: argument rate: expected a number, got 'fast'" in stderr
    assert lab.timeline()["faults"] == []


@pytest.mark.e2e
def test_an_exhausted_error_budget_refuses_to_inject(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    publish_balancer_metric(lab, "HTTPCode_ELB_5XX_Count", 200000.0)
    status, journal, _ = run_chaos(lab, experiment([TERMINATE_AZ], steady=[HEALTHY]), tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any(r.startswith("only ") and "of the error budget remains" in r for r in reasons)
    assert lab.timeline()["faults"] == []


@pytest.mark.e2e
def test_the_budget_gate_can_be_switched_off(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    status, journal, stderr = run_chaos(
        lab, experiment([COUNT_PER_AZ], steady=[HEALTHY], budget_gate=False), tmp_path)
    assert status != 0  # a method without an action injects nothing: no verdict to pass
    assert "no fault was injected: the method ran no action" in extension(journal)["verdict"]["reasons"]
    assert "error budget remains" not in stderr
