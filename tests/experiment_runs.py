"""What the suite's tests run and read besides a lab: `chaos-sre` and `chaos run` as a user runs
them, the runner policy every run is held to (and the policies a test takes a statement out of),
and the session's one run of every shipped experiment (:class:`ShippedRuns`), which
tests/conftest.py makes once per test session."""

import fcntl
import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from chaos_sre.lab.core.services import lab_services
from chaos_sre.lab.testing import CANARY_INLINE, CANARY_KEY_ID, CANARY_SECRET, CANARY_TOKEN, RunningLab

CLI = [sys.executable, "-m", "chaos_sre.cli"]
CHAOS = str(Path(sys.executable).with_name("chaos"))


def run_cli(*args: str, lab_dir: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `chaos-sre ARGS` with its own lab state directory."""
    full_env = {**os.environ, **(env or {}), "CHAOS_SRE_LAB_DIR": str(lab_dir)}
    return subprocess.run([*CLI, *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


ROOT = Path(__file__).resolve().parent.parent
MUTATING_STEPS = {"az-outage": 1, "az-blackhole": 5, "rds-failover": 1, "dynamodb-throttle": 2,
                  "ecs-scale-to-zero": 1, "lambda-throttle": 1, "s3-access-denied": 1,
                  "s3-replication-paused": 1,
                  "lab-smoke": 0}
"""Ledger intents (mutations) of each shipped experiment's run on the resilient lab: az-blackhole
suspends the ASG's AZRebalance, creates a deny-all network ACL, re-associates the AZ's subnet,
takes the subnet out of the ASG; dynamodb-throttle holds the table's auto scaling, then lowers
its capacity;
lab-smoke's change is chaostoolkit-aws's own, outside chaos-sre's ledger."""


RUNNER_KEY = "chaos-runner"
"""The access key `chaos run` signs with in tests (:func:`run_chaos`). Every lab a test starts
holds it to :func:`runner_policy` and nothing more, as a staging account holds a runner's role;
the test's own calls (seeding, asserting) sign with the lab's key, which no policy limits."""


@functools.cache
def runner_policy() -> dict[str, Any]:
    """The generated least-privilege policy for every shipped experiment (and each installed lab
    service's experiment), targets tagged ``env=staging`` (``chaos-sre iam policy --region
    us-east-1 --target-tag env=staging``)."""
    from chaos_sre import iam

    experiments = {*(ROOT / "experiments").glob("*.json"),
                   *(ROOT / s.refused_mutation.experiment for s in lab_services()
                     if s.refused_mutation is not None)}
    return iam.policy_for(sorted(experiments), region="us-east-1", target_tags={"env": "staging"})


def without_statement(policy: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    """``policy`` with ``statement`` taken out."""
    return {**policy, "Statement": [s for s in policy["Statement"] if s != statement]}


def runner_policy_without(action: str, resource: str = "", condition: str = "") -> tuple[dict[str, Any], str]:
    """:func:`runner_policy` with the one statement granting ``action`` (on a resource containing
    ``resource``; of several, the one whose condition contains ``condition``) taken out, and its Sid."""
    policy = runner_policy()
    granting = [s for s in policy["Statement"] if action in s["Action"]
                and resource in json.dumps(s["Resource"])]
    if len(granting) > 1 and condition:
        granting = [s for s in granting if condition in json.dumps(s.get("Condition", {}))]
    assert len(granting) == 1, f"{action} is granted by {len(granting)} statements"
    return without_statement(policy, granting[0]), str(granting[0]["Sid"])


def denied_without_each_statement(policy: dict[str, Any],
                                  made: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For each statement of ``policy`` (by Sid), the actions of the IAM requests ``made``
    (`/__lab/iam/requests`) the policy without that statement denies."""
    from chaos_sre.lab.core.iam_evaluation import allows, request_from_json

    requests_made = [request_from_json(r) for r in made]
    return {str(statement["Sid"]): sorted({
        r.action for r in requests_made
        if not allows(without_statement(policy, statement)["Statement"], r)})
        for statement in policy["Statement"]}


def run_chaos(lab: RunningLab, document: dict[str, Any] | Path, tmp_path: Path,
              env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    """`chaos run` an experiment (a dict, or a shipped file run from the repository root unless
    ``cwd`` says where), signed with :data:`RUNNER_KEY`: only the runner policy is allowed."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    if isinstance(document, Path):
        path, cwd = document, cwd or ROOT
    else:
        path, cwd = tmp_path / "experiment.json", tmp_path
        path.write_text(json.dumps(document))
    journal = tmp_path / "journal.json"
    result = subprocess.run(
        [CHAOS, "--log-file", str(tmp_path / "chaos.log"), "run", "--journal-path", str(journal),
         str(path)],
        env={**os.environ, **lab.env, "AWS_ACCESS_KEY_ID": RUNNER_KEY,
             "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers"), **(env or {})},
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
    )
    outcome = json.loads(journal.read_text()) if journal.exists() else {}
    return result.returncode, outcome, result.stderr


LIGHT_SAMPLING_RATE = 50
"""Requests a second a run samples at, at most, where what a test checks does not depend on the
rate - a refusal, a kill, a rollback, calls getting through API faults - while the suite's CPU
does (docs/testing.md, "Budgets"): the shipped experiments sample at up to 200."""


def sampled_lightly(experiment: str, tmp_path: Path, rate: int = LIGHT_SAMPLING_RATE) -> Path:
    """The shipped experiment ``experiment`` (a name), its chaos-sre control sampling at ``rate``
    at most, written under ``tmp_path``: run it from the repository root (its SLO files are
    named relative to it), as :func:`run_chaos` runs a path."""
    document = json.loads((ROOT / "experiments" / f"{experiment}.json").read_text())
    for control in document.get("controls") or []:
        arguments = control["provider"].get("arguments") or {}
        if "rate" in arguments:
            arguments["rate"] = min(int(arguments["rate"]), rate)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{experiment}.json"
    path.write_text(json.dumps(document))
    return path


def lab_settings(lab: RunningLab) -> dict[str, Any]:
    """The Chaos Toolkit configuration that points an activity called in a test at ``lab``."""
    return {"aws_region": "us-east-1", "aws_endpoint_url": lab.env["AWS_ENDPOINT_URL"]}


def ledger_entries(directory: Path) -> list[dict[str, Any]]:
    """Every entry of every run ledger in ``directory``, file by file."""
    return [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def extension(journal: dict[str, Any]) -> dict[str, Any]:
    found = [e for e in journal.get("extensions", []) if e.get("name") == "chaos_sre"]
    assert len(found) == 1
    return found[0]


def over_budget_and_restored(lab: RunningLab, experiment: Path, tmp_path: Path) -> dict[str, Any]:
    """`chaos run` ``experiment`` on ``lab`` (a fragile one): the run fails, naming the error
    budget it spent past its allowance, the account is as it was before, and every call was
    within the runner policy. Returns the account as it was."""
    from chaos_sre.lab.testing import account_snapshot

    before = account_snapshot(lab)
    status, journal, _ = run_chaos(lab, experiment, tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("of the error budget" in r and "more than" in r for r in reasons), reasons
    assert account_snapshot(lab) == before
    ran_within_the_runner_policy(lab)
    return before


def ran_within_the_runner_policy(lab: RunningLab) -> None:
    """The runs made as the runner asked the lab for nothing the runner policy denies: a failed
    verdict is the service's, not a missing permission's."""
    made = lab.iam_requests(RUNNER_KEY)
    assert made, "no call was made as the runner"
    assert [r for r in made if not r["allowed"]] == []


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
    assert any(("of the error budget" in r and "more than" in r)
               or "did not recover" in r or "more than the RTO" in r for r in reasons), reasons
    ran_within_the_runner_policy(lab)
    return list(reasons)


def once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str,
                     make: Callable[[Path], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """``make(directory)`` once for the whole test session, parallel workers included.

    The first worker to ask runs it under a file lock in the session's shared temporary
    directory; the others wait for it and read the same directory and result.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory, done = root / name, root / name / "done.json"
    with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            done.write_text(json.dumps(make(directory)))
    return directory, json.loads(done.read_text())


SHIPPED_EXPERIMENTS = tuple(sorted(p.stem for p in (ROOT / "experiments").glob("*.json")))


def with_secrets(experiment: Path) -> dict[str, Any]:
    """The shipped experiment, its chaos-sre activities given AWS credentials through `secrets`."""
    document = json.loads(experiment.read_text())
    document["secrets"] = {
        "aws": {
            "aws_access_key_id": {"type": "env", "key": "AWS_ACCESS_KEY_ID"},
            "aws_secret_access_key": {"type": "env", "key": "AWS_SECRET_ACCESS_KEY"},
            "aws_session_token": {"type": "env", "key": "AWS_SESSION_TOKEN"},
        },
        "notify": {"webhook_token": CANARY_INLINE},
    }
    activities = [*document.get("steady-state-hypothesis", {}).get("probes", []),
                  *document["method"], *document.get("rollbacks", [])]
    for activity in activities:
        provider = activity.get("provider", {})
        if provider.get("type") == "python":
            activity["secrets"] = ["aws", "notify"]
    for control in document.get("controls", []):
        arguments = control["provider"].get("arguments", {})
        if isinstance(arguments.get("slo"), str) and not arguments["slo"].startswith("${"):
            arguments["slo"] = str(ROOT / arguments["slo"])
    return document


def then_save_lab_json(command: str, *saves: tuple[str, Path]) -> str:
    """A shell line for `lab exec`: run ``command``, save each lab ``route`` (JSON) to its file
    while the lab still runs, exit with the command's status."""
    save = shlex.join([sys.executable, "-m", "chaos_sre.lab.client", "save",
                       *[part for route, out in saves for part in (route, str(out))]])
    return f"{command}; status=$?; {save}; exit $status"


def inner_pytest_environment(**extra: str) -> dict[str, str]:
    """This environment for a pytest started by a test: no trace of the parallel worker."""
    return {**{k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}, **extra}


@dataclass(frozen=True)
class RunTruth:
    """The lab's ground truth of one shipped run: the faults it observed (``/__lab/timeline``'s
    ``faults``) and the requests it answered, by cause."""

    faults: list[dict[str, Any]]
    causes: Counter[str]


@dataclass(frozen=True)
class ShippedRuns:
    """Every shipped experiment run once on a resilient lab, as the pytest plugin runs them.

    ``chaos-sre lab exec -- env <canary credentials> pytest --chaos-experiments DIR`` where DIR
    holds shipped experiments with canary secrets declared (:func:`with_secrets`) and the
    game-day plan (which the plugin must not collect); the lab holds the canary access key to
    :func:`runner_policy` alone. The experiments are spread over labs running at once
    (:func:`shipped_groups`): a run's ground truth is its own lab's. ``--noconftest``: this file
    would put the lab's own credentials in place of the canary ones in that pytest. Tests that
    only read a run's results - journal, samples, chaos log, console output, ledger, the
    plugin's own output - read these instead of running the experiment again.
    """

    experiments: Path
    journals: Path
    ledgers: Path
    returncode: int
    stdout: str
    stderr: str
    groups: list[list[str]]
    """The experiments each lab ran, one after the other."""

    def journal(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.journals / f"{name}.json").read_text()))

    def passed_degraded(self, name: str, fault: str, degraded: str) -> dict[str, Any]:
        """The run of ``name`` passed within its budget; the lab saw the one fault ``fault`` and
        its impact as the degraded (good) cause ``degraded``, never a 5xx or a timeout. Returns
        its journal."""
        journal = self.journal(name)
        ext = extension(journal)
        assert ext["verdict"]["passed"] is True, ext["verdict"]["reasons"]
        assert ext["budget"]["consumed_fraction"] <= ext["budget"]["allowed_fraction"]
        truth = self.lab_truth(name)
        assert [f["kind"] for f in truth.faults] == [fault]
        assert truth.causes[degraded] > 0
        assert not [cause for cause in truth.causes if cause.startswith(("5", "timeout"))]
        return journal

    def _group(self, name: str) -> tuple[Path, list[str]]:
        """The folder of the lab that ran ``name``, and the experiments it ran."""
        number = next(i for i, names in enumerate(self.groups) if name in names)
        return self.journals.parent / f"group-{number}", self.groups[number]

    def api_calls(self, name: str) -> list[tuple[float, str]]:
        """Every AWS API call made to the lab that ran ``name``, with its time (`/__lab/api-calls`)."""
        return [(float(at), str(action)) for at, action in
                json.loads((self._group(name)[0] / "api-calls.json").read_text())]

    def mutations(self, name: str) -> list[dict[str, Any]]:
        """Every mutating AWS API call made to the lab that ran ``name``, with the resources it
        named (`/__lab/mutations`)."""
        return list(json.loads((self._group(name)[0] / "mutations.json").read_text()))

    def iam(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The policies the labs held callers to during the runs (by access key; the same in
        each lab), and the IAM requests they evaluated against them (by access key, every lab's;
        `/__lab/iam/requests`)."""
        folders = [self.journals.parent / f"group-{n}" for n in range(len(self.groups))]
        policies = [json.loads((f / "iam-policy.json").read_text())["policies"] for f in folders]
        assert all(p == policies[0] for p in policies), policies
        requests: dict[str, list[Any]] = {}
        for folder in folders:
            for key, made in json.loads((folder / "iam-requests.json").read_text())["requests"].items():
                requests.setdefault(key, []).extend(made)
        return policies[0], requests

    def lab_truth(self, name: str) -> "RunTruth":
        """What its lab recorded while the run of ``name`` lasted: from its start to the next
        run's (a lab's runs follow one another; `/__lab/timeline`)."""
        folder, names = self._group(name)
        starts = sorted(datetime.fromisoformat(self.journal(n)["start"]).timestamp() for n in names)
        begin = datetime.fromisoformat(self.journal(name)["start"]).timestamp()
        end = next((at for at in starts if at > begin), float("inf"))
        timeline = json.loads((folder / "timeline.json").read_text())
        causes: Counter[str] = Counter()
        for second in timeline["series"]:
            if begin <= second["second"] + 1 and second["second"] < end:
                causes.update(second["causes"])
        return RunTruth([f for f in timeline["faults"] if begin <= f["at"] < end], causes)

    def files(self, name: str) -> list[Path]:
        """Every file the run of ``name`` wrote: journal, samples, chaos log, console, ledger."""
        written = [p for p in self.journals.iterdir() if p.name.startswith(f"{name}.")]
        ledger = extension(self.journal(name)).get("ledger_path")
        return written + ([Path(ledger)] if ledger and Path(ledger).is_file() else [])


SHIPPED_RUN_SECONDS = {"dynamodb-throttle": 60, "az-blackhole": 35, "ecs-scale-to-zero": 32}
"""About how long (wall seconds, time scale 0.1) the longer shipped runs take; others about 25."""
SHIPPED_RUN_GROUPS = 2
"""Labs the shipped runs are spread over, each running its experiments one after the other: the
runs mostly wait (a fault's hold, a recovery window), so two labs halve the time the tests that
read them wait, for little more CPU."""


def shipped_groups() -> list[list[str]]:
    """The shipped experiments spread over :data:`SHIPPED_RUN_GROUPS` labs, longest first to the
    group with the least to run, each group in name order."""
    groups: list[list[str]] = [[] for _ in range(SHIPPED_RUN_GROUPS)]
    for name in sorted(SHIPPED_EXPERIMENTS, key=lambda n: (-SHIPPED_RUN_SECONDS.get(n, 25), n)):
        min(groups, key=lambda g: sum(SHIPPED_RUN_SECONDS.get(n, 25) for n in g)).append(name)
    return [sorted(group) for group in groups]


def _run_shipped_experiments(directory: Path) -> dict[str, Any]:
    experiments = directory / "experiments"
    experiments.mkdir()
    for name in SHIPPED_EXPERIMENTS:
        document = with_secrets(ROOT / "experiments" / f"{name}.json")
        (experiments / f"{name}.json").write_text(json.dumps(document, indent=2))
    shutil.copy(ROOT / "experiments" / "gameday.yaml", experiments)
    policy = directory / "runner-policy.json"
    policy.write_text(json.dumps(runner_policy()))
    groups = shipped_groups()
    running = [_start_shipped_group(directory, number, names, policy) for number, names in enumerate(groups)]
    results = [process.communicate(timeout=900) + (process.returncode,) for process in running]
    return {"returncode": max(code for _, _, code in results),
            "stdout": "\n".join(out for out, _, _ in results),
            "stderr": "\n".join(err for _, err, _ in results), "groups": groups}


def _start_shipped_group(directory: Path, number: int, names: list[str],
                         policy: Path) -> subprocess.Popen[str]:
    """One lab running ``names`` with the pytest plugin (group ``number``: its lab's ground
    truth in ``directory/group-N``; journals and ledgers shared)."""
    group = directory / f"group-{number}"
    experiments = group / "experiments"
    experiments.mkdir(parents=True)
    for name in names:
        shutil.copy(directory / "experiments" / f"{name}.json", experiments)
    shutil.copy(ROOT / "experiments" / "gameday.yaml", experiments)
    canary_credentials = [f"AWS_ACCESS_KEY_ID={CANARY_KEY_ID}",
                          f"AWS_SECRET_ACCESS_KEY={CANARY_SECRET}",
                          f"AWS_SESSION_TOKEN={CANARY_TOKEN}"]
    plugin_run = shlex.join(
        ["env", *canary_credentials, sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "--noconftest",
         "--chaos-experiments", str(experiments), "--chaos-journal-dir",
         str(directory / "journals"), "-v"])
    attach = shlex.join([sys.executable, "-m", "chaos_sre.lab.client", "attach-policy",
                         CANARY_KEY_ID, str(policy)])
    return subprocess.Popen(
        [*CLI, "lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--", "bash", "-c",
         attach + " || exit 1; " + then_save_lab_json(
             plugin_run, ("/__lab/api-calls", group / "api-calls.json"),
             ("/__lab/mutations", group / "mutations.json"),
             ("/__lab/iam/policy", group / "iam-policy.json"),
             ("/__lab/iam/requests", group / "iam-requests.json"),
             ("/__lab/timeline", group / "timeline.json"))],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=inner_pytest_environment(CHAOS_SRE_LAB_DIR=str(group / "lab"),
                                     CHAOS_SRE_LEDGER_DIR=str(directory / "ledgers"),
                                     CHAOS_SRE_HISTORY=str(group / "history.sqlite")))


def throttle_in_units(tmp_path: Path, units: int = 10) -> Path:
    """The shipped dynamodb-throttle experiment with its capacity given in units (``read_units``,
    ``write_units``; no GSI): a fresh lab has no consumption for its fractions to take."""
    document = json.loads((ROOT / "experiments" / "dynamodb-throttle.json").read_text())
    arguments = document["method"][0]["provider"]["arguments"]
    for key in ("read_fraction", "write_fraction"):
        arguments.pop(key)
    arguments.update(read_units=units, write_units=units, indexes="none")
    path = tmp_path / "dynamodb-throttle.json"
    path.write_text(json.dumps(document))
    return path
