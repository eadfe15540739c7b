"""What tests and benchmarks build on to use a lab: start one as a user does (``chaos-sre lab up
--detach``), reach it (boto3 clients, the ``/__lab`` API), read its account as the experiments
change it, and tell secrets that must never be written anywhere (canaries).

chaos-sre's own suite (tests/conftest.py) makes its pytest fixtures from these; a team that
tests its own experiments or lab service against the lab can do the same::

    with running_lab(tmp_path / "lab", "--profile", "fragile") as lab:
        lab.client("ec2").describe_instances()
        lab.api.timeline()

Nothing here reaches beyond the lab: clients are built for its endpoint on 127.0.0.1.
"""

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.config import Config
from botocore.exceptions import ClientError

from chaos_sre.lab.client import LabClient
from chaos_sre.lab.core.services import lab_services
from chaos_sre.timescale import ENVIRONMENT_VARIABLE as TIME_SCALE

CLI = (sys.executable, "-m", "chaos_sre.cli")
LAB_DIR = "CHAOS_SRE_LAB_DIR"
RETRYING = Config(retries={"mode": "standard", "total_max_attempts": 12})
"""Clients that read through the lab's injected API faults."""
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
FREE_PORTS = ("--api-port", "0", "--endpoint-port", "0")
UP_TIMEOUT_SECONDS = 120.0

CANARY_KEY_ID = "AKIACANARYKEYID00042"
CANARY_SECRET = "canary-secret-access-key-9f2c71"
CANARY_TOKEN = "canary-session-token-41d8e0"
CANARY_INLINE = "canary-inline-webhook-token-77ab12"
CANARIES = (CANARY_SECRET, CANARY_TOKEN, CANARY_INLINE)
"""Secret values a run is given (credentials, an inline secret) that no file it writes, no log and
no output may hold: a test searches every file of the run for them."""


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def found(make_call: Any) -> bool:
    """Whether ``make_call`` went through (False: EC2 did not find what it names
    yet, as its eventual consistency allows)."""
    try:
        make_call()
    except ClientError as exc:
        if not exc.response["Error"]["Code"].endswith(".NotFound"):
            raise
        return False
    return True


def parse_exports(stdout: str) -> dict[str, str]:
    """The ``export NAME=value`` lines ``lab up`` prints, as a mapping."""
    return dict(line.removeprefix("export ").split("=", 1) for line in stdout.splitlines()
                if line.startswith("export ") and "=" in line)


@dataclass
class RunningLab:
    """A lab process started with ``chaos-sre lab up --detach``: its state directory and the
    environment it exports."""

    lab_dir: Path
    env: dict[str, str]
    _clients: dict[tuple[str, bool, str | None, str | None], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def target_url(self) -> str:
        """The load balancer endpoint (``CHAOS_SRE_TARGET_URL``)."""
        return self.env["CHAOS_SRE_TARGET_URL"]

    def client(self, service: str, *, retries: bool = True, access_key: str | None = None,
               region_name: str | None = None) -> Any:
        """A boto3 client for the lab; it retries hard, so callers read through injected API faults
        (``retries=False``: one attempt, to see an error botocore would retry). ``access_key``:
        sign as that caller (a policy attached to it holds the calls); ``region_name``: another
        Region than the lab's. Made once per lab and these arguments, then the same client
        (polling :func:`account_snapshot` builds none)."""
        key = (service, retries, access_key, region_name)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = boto3.client(
                service, endpoint_url=self.env["AWS_ENDPOINT_URL"],
                region_name=region_name or self.env["AWS_DEFAULT_REGION"],
                aws_access_key_id=access_key or self.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
                config=RETRYING if retries else NO_RETRIES)
        return client

    @property
    def api(self) -> LabClient:
        """The lab's own API (``/__lab/...``)."""
        return LabClient(self.target_url)

    def timeline(self) -> dict[str, Any]:
        """The lab's ground truth (``/__lab/timeline``)."""
        return self.api.timeline()

    def api_calls(self) -> list[str]:
        """The IAM action of every API call callers made to the lab, oldest first."""
        return [action for _, action in self.api.api_calls()]

    def attach_policy(self, document: dict[str, Any] | None, principal: str) -> None:
        """Hold callers signing with access key ``principal`` to IAM policy ``document`` (None:
        detach it)."""
        self.api.attach_policy(document, principal)

    def iam_requests(self, principal: str) -> list[dict[str, Any]]:
        """The IAM requests the lab evaluated for ``principal``."""
        return self.api.iam_requests(principal)

    def deny(self, *actions: str) -> list[str]:
        """Make the lab deny these IAM actions to callers (none: allow everything again)."""
        return self.api.deny(*actions)

    def web_instances(self, *states: str) -> list[dict[str, Any]]:
        """The sample application's instances (tag ``app=web``), in ``states`` if given."""
        filters = [{"Name": "tag:app", "Values": ["web"]}]
        if states:
            filters.append({"Name": "instance-state-name", "Values": list(states)})
        pages = self.client("ec2").get_paginator("describe_instances").paginate(Filters=filters)
        return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

    def target_states(self) -> list[str]:
        """The health states of target group ``web``'s targets, sorted."""
        elbv2 = self.client("elbv2")
        arn = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return sorted(t["TargetHealth"]["State"] for t in health)


def lab_command(*args: str, lab_dir: Path, env: Mapping[str, str] | None = None,
                timeout: float = UP_TIMEOUT_SECONDS, cli: tuple[str, ...] = CLI,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``chaos-sre ARGS`` with ``lab_dir`` as its lab state directory."""
    return subprocess.run([*cli, *args], env={**os.environ, **(env or {}), LAB_DIR: str(lab_dir)},
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def lab_command_in_process(*args: str, lab_dir: Path) -> subprocess.CompletedProcess[str]:
    """``chaos-sre ARGS`` as :func:`lab_command` runs it, but in this process: the same command
    line code without an interpreter to start and chaos-sre to import (a third of a second of CPU
    each, and a test session starts and stops hundreds of labs)."""
    from chaos_sre.cli import main  # the command line imports reports and boto3: only when used

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get(LAB_DIR)
    os.environ[LAB_DIR] = str(lab_dir)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main.main(list(args), prog_name="chaos-sre", standalone_mode=False)
        code = 0
    except click.ClickException as exc:
        err.write(f"error: {exc.format_message()}\n")
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        if saved is None:
            os.environ.pop(LAB_DIR, None)
        else:
            os.environ[LAB_DIR] = saved
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _lab_cli(*args: str, lab_dir: Path, **how: Any) -> subprocess.CompletedProcess[str]:
    """This checkout's command line in process; another's (``cli``, ``env``, ``cwd``: a
    benchmark's older checkout) as a process of its own."""
    return lab_command(*args, lab_dir=lab_dir, **how) if how else lab_command_in_process(*args, lab_dir=lab_dir)


def lab_up(lab_dir: Path, *args: str, **how: Any) -> RunningLab:
    """Start a lab (``lab up --detach ARGS`` on free ports) and return it; a lab that does not
    start raises, with its error output."""
    result = _lab_cli("lab", "up", "--detach", *FREE_PORTS, *args, lab_dir=lab_dir, **how)
    if result.returncode != 0:
        raise RuntimeError(f"chaos-sre lab up failed ({result.returncode}): {result.stderr.strip()}")
    return RunningLab(lab_dir, parse_exports(result.stdout))


def lab_down(lab_dir: Path, **how: Any) -> None:
    """Stop the lab of ``lab_dir`` (nothing when none runs)."""
    _lab_cli("lab", "down", lab_dir=lab_dir, **how)


@contextmanager
def running_lab(lab_dir: Path, *args: str, **how: Any) -> Iterator[RunningLab]:
    """A lab (``lab up ARGS``) that lives as long as the ``with`` block."""
    lab = lab_up(lab_dir, *args, **how)
    try:
        yield lab
    finally:
        lab_down(lab_dir, **how)


@contextmanager
def lab_time_scale(lab: RunningLab) -> Iterator[None]:
    """This process plays AWS seconds at ``lab``'s time scale while the block runs, as a process
    started with the lab's environment does: faults and probes called in-process then wait, hold
    and read CloudWatch on the lab's clock (:mod:`chaos_sre.timescale`)."""
    before = os.environ.get(TIME_SCALE)
    os.environ[TIME_SCALE] = lab.env[TIME_SCALE]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TIME_SCALE, None)
        else:
            os.environ[TIME_SCALE] = before


def account_snapshot(lab: RunningLab) -> dict[str, Any]:
    """Everything the experiments change and must restore, through plain (retrying) boto3: each
    lab service's part (its plugin object's ``snapshot``)."""
    return {service.name: service.snapshot(lab.client) for service in lab_services()
            if service.snapshot is not None}


def publish_balancer_metric(lab: RunningLab, metric: str, value: float, seconds_ago: float = 7200) -> None:
    """Publish a datapoint of load balancer ``web``'s CloudWatch ``metric`` (AWS/ApplicationELB),
    as the load balancer would have ``seconds_ago``."""
    elbv2 = lab.client("elbv2")
    arn = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    dimension = [{"Name": "LoadBalancer", "Value": arn.split(":loadbalancer/", 1)[1]}]
    lab.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
        {"MetricName": metric, "Dimensions": dimension, "Value": value, "Unit": "Count",
         "Timestamp": time.time() - seconds_ago}])
