"""chaos-sre as a Chaos Toolkit extension: discovery and the smoke experiment."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
CHAOS = str(Path(sys.executable).with_name("chaos"))


def test_chaos_discover_lists_probes_with_their_docs(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    result = subprocess.run(
        [CHAOS, "--log-file", str(tmp_path / "log"), "discover", "--no-install",
         "--no-system-info", "--discovery-path", str(out), "chaos-sre"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    discovery = json.loads(out.read_text())
    assert discovery["extension"]["name"] == "chaos-sre"
    activities = {a["name"]: a for a in discovery["activities"]}
    assert {"healthy_target_count", "instances_per_az", "wait_for_healthy_targets",
            "success_ratio", "healthy_targets_per_az", "asg_at_desired_capacity",
            "availability_zone_of", "error_budget_remaining"} <= set(activities)
    for action in ("terminate_az_instances", "blackhole_az", "restore_az"):
        assert activities[action]["type"] == "action"
        assert activities[action]["mod"] == "chaos_sre.faults.az"
    for action in ("failover", "restore_database"):
        assert (activities[action]["type"], activities[action]["mod"]) == ("action",
                                                                          "chaos_sre.faults.rds")
    for probe_name in ("writer", "writer_availability_zone", "database_status", "wait_for_failover"):
        assert (activities[probe_name]["type"], activities[probe_name]["mod"]) == (
            "probe", "chaos_sre.probes.rds")
    assert "reader in another AZ" in activities["failover"]["doc"]
    assert "Application Auto Scaling" in activities["set_desired_count"]["doc"]
    for name, kind, module in (("throttle_table", "action", "chaos_sre.faults.dynamodb"),
                               ("restore_table", "action", "chaos_sre.faults.dynamodb"),
                               ("capacity_settings", "probe", "chaos_sre.probes.dynamodb"),
                               ("throttled_requests", "probe", "chaos_sre.probes.dynamodb"),
                               ("consumed_capacity", "probe", "chaos_sre.probes.dynamodb"),
                               ("table_status", "probe", "chaos_sre.probes.dynamodb"),
                               ("scale_service_to_zero", "action", "chaos_sre.faults.ecs"),
                               ("set_desired_count", "action", "chaos_sre.faults.ecs"),
                               ("restore_service", "action", "chaos_sre.faults.ecs"),
                               ("task_counts", "probe", "chaos_sre.probes.ecs"),
                               ("running_task_count", "probe", "chaos_sre.probes.ecs"),
                               ("service_is_stable", "probe", "chaos_sre.probes.ecs"),
                               ("service_healthy_targets", "probe", "chaos_sre.probes.ecs"),
                               ("scaling_settings", "probe", "chaos_sre.probes.ecs"),
                               ("wait_until_stable", "probe", "chaos_sre.probes.ecs")):
        assert (activities[name]["type"], activities[name]["mod"]) == (kind, module)
    probe = activities["healthy_target_count"]
    assert probe["type"] == "probe" and probe["mod"] == "chaos_sre.probes.aws"
    assert "healthy" in probe["doc"]
    assert probe["return_type"] == "integer"
    assert [a["name"] for a in probe["arguments"]] == [
        "target_group_name", "configuration", "secrets"]


def test_shipped_experiments_validate(tmp_path: Path) -> None:
    shipped = sorted(p.name for p in (ROOT / "experiments").glob("*.json"))
    assert {"az-outage.json", "az-blackhole.json", "lab-smoke.json", "rds-failover.json",
            "dynamodb-throttle.json"} <= set(shipped)
    for name in shipped:
        result = subprocess.run([CHAOS, "--log-file", str(tmp_path / "v.log"), "validate",
                                 str(ROOT / "experiments" / name)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, (name, result.stderr)
        experiment = json.loads((ROOT / "experiments" / name).read_text())
        assert experiment["runtime"]["rollbacks"]["strategy"] == "always"
        assert experiment["controls"][0]["provider"]["module"] == "chaos_sre.control"


@pytest.mark.e2e
def test_smoke_experiment_validates_and_passes_against_the_lab(tmp_path: Path) -> None:
    experiment = str(ROOT / "experiments" / "lab-smoke.json")
    validate = subprocess.run([CHAOS, "--log-file", str(tmp_path / "v.log"), "validate",
                               experiment], capture_output=True, text=True, check=False)
    assert validate.returncode == 0, validate.stderr
    journal = tmp_path / "journal.json"
    result = run_cli("lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--",
                     CHAOS, "--log-file", str(tmp_path / "run.log"), "run",
                     "--journal-path", str(journal), experiment,
                     lab_dir=tmp_path / "lab", timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(journal.read_text())
    assert outcome["status"] == "completed"
    assert outcome["deviated"] is False
    terminated = outcome["run"][0]["output"]
    assert len(terminated) >= 1
    healed = outcome["steady_states"]["after"]["probes"][0]["output"]
    assert healed == 6
