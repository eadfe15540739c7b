"""Shared fixtures: real labs started through the CLI, real boto3 clients over HTTP."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

# Nothing in the suite may reach real AWS: fake credentials, no instance metadata.
os.environ.update(
    AWS_ACCESS_KEY_ID="lab",
    AWS_SECRET_ACCESS_KEY="lab",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
os.environ.pop("AWS_PROFILE", None)

CLI = [sys.executable, "-m", "chaos_sre.cli"]
TEST_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 12})
CHAOS = str(Path(sys.executable).with_name("chaos"))


def run_cli(*args: str, lab_dir: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `chaos-sre ARGS` with its own lab state directory."""
    full_env = {**os.environ, **(env or {}), "CHAOS_SRE_LAB_DIR": str(lab_dir)}
    return subprocess.run([*CLI, *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@dataclass
class RunningLab:
    """A lab process started with `chaos-sre lab up --detach`."""

    lab_dir: Path
    env: dict[str, str]

    @property
    def target_url(self) -> str:
        return self.env["CHAOS_SRE_TARGET_URL"]

    def client(self, service: str) -> Any:
        """A boto3 client for the lab; it retries hard, so tests read through injected API faults."""
        return boto3.client(
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=TEST_CLIENT_CONFIG,
        )

    def timeline(self) -> dict[str, Any]:
        return requests.get(f"{self.target_url}/__lab/timeline", timeout=5).json()

    def web_instances(self, *states: str) -> list[dict[str, Any]]:
        filters = [{"Name": "tag:app", "Values": ["web"]}]
        if states:
            filters.append({"Name": "instance-state-name", "Values": list(states)})
        pages = self.client("ec2").get_paginator("describe_instances").paginate(Filters=filters)
        return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

    def target_states(self) -> list[str]:
        elbv2 = self.client("elbv2")
        arn = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return sorted(t["TargetHealth"]["State"] for t in health)


def parse_exports(stdout: str) -> dict[str, str]:
    env = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = value
    return env


@pytest.fixture
def start_lab(tmp_path: Path) -> Iterator[Callable[..., RunningLab]]:
    """Start labs (``start_lab("--profile", "fragile")``); all are stopped afterwards."""
    started: list[Path] = []

    def _start(*args: str) -> RunningLab:
        lab_dir = tmp_path / f"lab{len(started)}"
        result = run_cli("lab", "up", "--detach", "--api-port", "0", "--endpoint-port", "0",
                         *args, lab_dir=lab_dir)
        assert result.returncode == 0, result.stderr
        started.append(lab_dir)
        return RunningLab(lab_dir, parse_exports(result.stdout))

    yield _start
    for lab_dir in started:
        run_cli("lab", "down", lab_dir=lab_dir)


@contextmanager
def lab_for_module(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[RunningLab]:
    """A lab (``lab up ARGS``) that lives as long as the ``with`` block."""
    lab_dir = tmp_path_factory.mktemp("module-lab")
    result = run_cli("lab", "up", "--detach", "--api-port", "0", "--endpoint-port", "0", *args,
                     lab_dir=lab_dir)
    assert result.returncode == 0, result.stderr
    try:
        yield RunningLab(lab_dir, parse_exports(result.stdout))
    finally:
        run_cli("lab", "down", lab_dir=lab_dir)


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """One resilient lab for read-only tests of a module."""
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


@pytest.fixture(scope="session", autouse=True)
def history_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs started by tests add to a history file of the test session, not runs/ in the tree."""
    os.environ["CHAOS_SRE_HISTORY"] = str(tmp_path_factory.mktemp("history") / "history.sqlite")


ROOT = Path(__file__).resolve().parent.parent
MUTATING_STEPS = {"az-outage": 1, "az-blackhole": 3, "rds-failover": 1, "dynamodb-throttle": 1,
                  "ecs-scale-to-zero": 1, "lab-smoke": 0}
"""Ledger intents (mutations) of each shipped experiment's run on the resilient lab: az-blackhole
creates a deny-all network ACL, re-associates the AZ's subnet, takes the subnet out of the ASG;
lab-smoke's change is chaostoolkit-aws's own, outside chaos-sre's ledger."""


def run_chaos(lab: RunningLab, document: dict[str, Any] | Path, tmp_path: Path,
              env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """`chaos run` an experiment (a dict, or a shipped file run from the repository root)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    if isinstance(document, Path):
        path, cwd = document, ROOT
    else:
        path, cwd = tmp_path / "experiment.json", tmp_path
        path.write_text(json.dumps(document))
    journal = tmp_path / "journal.json"
    result = subprocess.run(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path", str(journal),
         str(path)],
        env={**os.environ, **lab.env, "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"),
             **(env or {})},
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
    )
    outcome = json.loads(journal.read_text()) if journal.exists() else {}
    return result.returncode, outcome, result.stderr


def extension(journal: dict[str, Any]) -> dict[str, Any]:
    found = [e for e in journal.get("extensions", []) if e.get("name") == "chaos_sre"]
    assert len(found) == 1
    return found[0]


def refused_then_failed(lab: RunningLab, experiment: Path, tmp_path: Path, *, refusal: str,
                        allow: dict[str, str]) -> list[str]:
    """Run ``experiment`` on a fragile lab twice: refused before any fault, then (with ``allow``)
    injected and failed on budget or recovery. Returns the second run's verdict reasons."""
    status, journal, _ = run_chaos(lab, experiment, tmp_path / "refused")
    assert status != 0
    refused = extension(journal)
    assert any(refusal in r for r in refused["verdict"]["reasons"]), refused["verdict"]["reasons"]
    assert refused["fault_started_at"] is None and refused["recovery"]["recover_seconds"] is None
    assert lab.timeline()["faults"] == []
    status, journal, _ = run_chaos(lab, experiment, tmp_path / "allowed", env=allow)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("of the error budget" in r and "more than" in r
               or "did not recover" in r or "more than the RTO" in r for r in reasons), reasons
    return list(reasons)


def account_snapshot(lab: RunningLab) -> dict[str, Any]:
    """Everything the experiments change and must restore, through plain (retrying) boto3."""
    ec2, elbv2 = lab.client("ec2"), lab.client("elbv2")
    subnets = {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]}
    acls = {a["SubnetId"]: acl["NetworkAclId"] for acl in ec2.describe_network_acls()["NetworkAcls"]
            for a in acl["Associations"] if a["SubnetId"] in subnets}
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    balancer = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
    tables = {name: lab.client("dynamodb").describe_table(TableName=name)["Table"]
              for name in ("sessions", "carts")}
    service = lab.client("ecs").describe_services(cluster="staging", services=["api"])["services"][0]
    scaling = lab.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs")["ScalableTargets"]
    databases = lab.client("rds").describe_db_instances()["DBInstances"]
    return {
        "acls": acls, "asg": (group["DesiredCapacity"], sorted(group["VPCZoneIdentifier"].split(","))),
        "lb_subnets": sorted(z["SubnetId"] for z in balancer["AvailabilityZones"]),
        "healthy_web_targets": sorted(lab.target_states()),
        "tables": {n: (t["TableStatus"], t.get("ProvisionedThroughput", {}).get("ReadCapacityUnits"),
                       t.get("ProvisionedThroughput", {}).get("WriteCapacityUnits"),
                       t.get("OnDemandThroughput")) for n, t in tables.items()},
        "ecs": (service["desiredCount"],
                [(t["MinCapacity"], t["MaxCapacity"], t["SuspendedState"]) for t in scaling]),
        "databases": sorted((d["DBInstanceIdentifier"], d["DBInstanceStatus"]) for d in databases),
    }
