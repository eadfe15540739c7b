"""Shared fixtures: real labs started through the CLI, real boto3 clients over HTTP.

Labs are forked from lab servers of this test session (chaos_sre.lab.core.forkserver), so a lab
costs a fork, not a seeding. Runs of the shipped experiments that tests only read are made once
per test session (:func:`shipped_runs`), also across parallel workers. docs/testing.md has the map.
"""

import fcntl
import functools
import itertools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from chaos_sre.lab.core import forkserver
from chaos_sre.lab.core.services import lab_services
from chaos_sre.lab.testing import (  # noqa: F401 - the suite's helpers, imported from here by tests
    CANARIES,
    CANARY_INLINE,
    CANARY_KEY_ID,
    CANARY_SECRET,
    CANARY_TOKEN,
    NO_RETRIES,
    RunningLab,
    account_snapshot,
    lab_time_scale,
    lab_up,
    parse_exports,
    publish_balancer_metric,
    running_lab,
    wait_until,
)

pytest_plugins = ["budgets"]  # each file's test time against docs/testing.md, "Budgets"

# Nothing in the suite may reach real AWS: fake credentials, no instance metadata.
os.environ.update(
    AWS_ACCESS_KEY_ID="lab",
    AWS_SECRET_ACCESS_KEY="lab",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
os.environ.pop("AWS_PROFILE", None)

CLI = [sys.executable, "-m", "chaos_sre.cli"]
CHAOS = str(Path(sys.executable).with_name("chaos"))


def run_cli(*args: str, lab_dir: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `chaos-sre ARGS` with its own lab state directory."""
    full_env = {**os.environ, **(env or {}), "CHAOS_SRE_LAB_DIR": str(lab_dir)}
    return subprocess.run([*CLI, *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def start_lab(tmp_path: Path) -> Iterator[Callable[..., RunningLab]]:
    """Start labs (``start_lab("--profile", "fragile")``); all are stopped afterwards. The test
    runs at the time scale of the last lab it started (:func:`lab_time_scale`)."""
    count = itertools.count()
    with ExitStack() as labs:
        def _start(*args: str) -> RunningLab:
            lab = labs.enter_context(running_lab(tmp_path / f"lab{next(count)}", *args))
            lab.attach_policy(runner_policy(), RUNNER_KEY)
            labs.enter_context(lab_time_scale(lab))
            return lab

        yield _start


@contextmanager
def lab_for_module(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[RunningLab]:
    """A lab (``lab up ARGS``) that lives as long as the ``with`` block."""
    with running_lab(tmp_path_factory.mktemp("module-lab"), *args) as lab:
        lab.attach_policy(runner_policy(), RUNNER_KEY)
        with lab_time_scale(lab):
            yield lab


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """One resilient lab for read-only tests of a module."""
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


FIRST = ("shipped_runs", "test_workflow_game_day_runs_under_the_lab",
         "test_every_experiment_passes_and_restores_at_20_percent_api_faults",
         "test_experiment_on_an_on_demand_table_restores_exactly",
         "test_persistent_partial_errors_do_not_pass_as_recovered",
         "test_a_ledger_written_by_an_older_version_still_rolls_back",
         "test_blackhole_experiment_fails_on_fragile_and_still_restores",
         "test_update_is_asynchronous_and_decreases_are_limited")
"""The longest tests and shared runs (half a minute or more each: `pytest --durations`) start
first, so no worker is left with one at the end."""
FIRST_GROUPS = {"reports"}
"""Groups whose first test makes a module's shared runs (a minute and more)."""
SHIPPED_RUNS_BUDGET_FILE = "test_blast_radius.py"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first, then every other end-to-end run, then the rest (a stable sort).

    Tests that read the session's shipped runs share one worker (xdist group), so one worker
    makes them while the others go on."""
    for item in items:
        if "shipped_runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("shipped-runs"))

    def rank(item: pytest.Item) -> tuple[int, bool]:
        names = {item.name.split("[")[0], *getattr(item, "fixturenames", ())}
        groups = {str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args}
        if names & set(FIRST) or groups & FIRST_GROUPS:
            # The shipped runs' test time is counted in the budget of the file whose test makes
            # them, the first of their group: test_blast_radius.py (docs/testing.md, "Budgets").
            return 0, item.path.name != SHIPPED_RUNS_BUDGET_FILE
        return (1 if item.get_closest_marker("e2e") else 2), False

    items.sort(key=rank)


def pytest_configure(config: pytest.Config) -> None:
    """One directory of lab servers for the whole run, parallel workers included; Ctrl-C heard.

    Set before xdist starts its workers, which inherit it, so each lab variant is seeded once per
    run. A short directory of its own: Unix socket paths are limited to 107 bytes.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ["CHAOS_SRE_LAB_SERVER_DIR"] = tempfile.mkdtemp(prefix="chaos-sre-labd-")
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A suite started as a background job of a non-interactive shell inherits SIGINT
        # ignored, and so would every `chaos run` it starts: the tests that play a user's
        # Ctrl-C need the runs to hear it, as they do from a terminal.
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The process that made the directory stops its lab servers and removes it at the end."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    directory = Path(os.environ.pop("CHAOS_SRE_LAB_SERVER_DIR", ""))
    if not directory.name.startswith("chaos-sre-labd-"):
        return
    forkserver.stop_servers(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def lab_servers() -> Path:
    """The directory of this run's lab servers."""
    return Path(os.environ["CHAOS_SRE_LAB_SERVER_DIR"])


@pytest.fixture(scope="session", autouse=True)
def history_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs started by tests add to a history file of the test session, not runs/ in the tree."""
    os.environ["CHAOS_SRE_HISTORY"] = str(tmp_path_factory.mktemp("history") / "history.sqlite")


ROOT = Path(__file__).resolve().parent.parent
MUTATING_STEPS = {"az-outage": 1, "az-blackhole": 5, "rds-failover": 1, "dynamodb-throttle": 2,
                  "ecs-scale-to-zero": 1, "lab-smoke": 0}
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


def runner_policy_without(action: str, resource: str = "") -> tuple[dict[str, Any], str]:
    """:func:`runner_policy` with the one statement granting ``action`` (on a resource containing
    ``resource``) taken out, and its Sid."""
    policy = runner_policy()
    granting = [s for s in policy["Statement"] if action in s["Action"]
                and resource in json.dumps(s["Resource"])]
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


def extension(journal: dict[str, Any]) -> dict[str, Any]:
    found = [e for e in journal.get("extensions", []) if e.get("name") == "chaos_sre"]
    assert len(found) == 1
    return found[0]


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
    holds each shipped experiment with canary secrets declared (:func:`with_secrets`) and the
    game-day plan (which the plugin must not collect); the lab holds the canary access key to
    :func:`runner_policy` alone. ``--noconftest``: this file would put the lab's own credentials
    in place of the canary ones in that pytest. Tests that only read a run's results -
    journal, samples, chaos log, console output, ledger, history, the plugin's own output - read
    these instead of running the experiment again.
    """

    experiments: Path
    journals: Path
    ledgers: Path
    history: Path
    returncode: int
    stdout: str
    stderr: str

    def journal(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.journals / f"{name}.json").read_text()))

    def api_calls(self) -> list[tuple[float, str]]:
        """Every AWS API call the runs made, with its time (the lab's `/__lab/api-calls`)."""
        return [(float(at), str(name)) for at, name in
                json.loads((self.journals.parent / "api-calls.json").read_text())]

    def mutations(self) -> list[dict[str, Any]]:
        """Every mutating AWS API call the runs made, with the resources it named (the lab's
        `/__lab/mutations`)."""
        return list(json.loads((self.journals.parent / "mutations.json").read_text()))

    def iam(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The policies the lab held callers to during the runs (by access key), and the IAM
        requests it evaluated against them (by access key; `/__lab/iam/requests`)."""
        root = self.journals.parent
        return (json.loads((root / "iam-policy.json").read_text())["policies"],
                json.loads((root / "iam-requests.json").read_text())["requests"])

    def lab_truth(self, name: str) -> "RunTruth":
        """What the lab recorded while the run of ``name`` lasted: from its start to the next
        run's (the runs share one lab, one after the other; `/__lab/timeline`)."""
        starts = sorted(datetime.fromisoformat(self.journal(n)["start"]).timestamp()
                        for n in SHIPPED_EXPERIMENTS)
        begin = datetime.fromisoformat(self.journal(name)["start"]).timestamp()
        end = next((at for at in starts if at > begin), float("inf"))
        timeline = json.loads((self.journals.parent / "timeline.json").read_text())
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


def _run_shipped_experiments(directory: Path) -> dict[str, Any]:
    experiments = directory / "experiments"
    experiments.mkdir()
    for name in SHIPPED_EXPERIMENTS:
        document = with_secrets(ROOT / "experiments" / f"{name}.json")
        (experiments / f"{name}.json").write_text(json.dumps(document, indent=2))
    shutil.copy(ROOT / "experiments" / "gameday.yaml", experiments)
    canary_credentials = [f"AWS_ACCESS_KEY_ID={CANARY_KEY_ID}",
                          f"AWS_SECRET_ACCESS_KEY={CANARY_SECRET}",
                          f"AWS_SESSION_TOKEN={CANARY_TOKEN}"]
    plugin_run = shlex.join(
        ["env", *canary_credentials, sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "--noconftest",
         "--chaos-experiments", str(experiments), "--chaos-journal-dir",
         str(directory / "journals"), "-v"])
    policy = directory / "runner-policy.json"
    policy.write_text(json.dumps(runner_policy()))
    attach = shlex.join([sys.executable, "-m", "chaos_sre.lab.client", "attach-policy",
                         CANARY_KEY_ID, str(policy)])
    result = subprocess.run(
        [*CLI, "lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--", "bash", "-c",
         attach + " || exit 1; " + then_save_lab_json(
             plugin_run, ("/__lab/api-calls", directory / "api-calls.json"),
             ("/__lab/mutations", directory / "mutations.json"),
             ("/__lab/iam/policy", directory / "iam-policy.json"),
             ("/__lab/iam/requests", directory / "iam-requests.json"),
             ("/__lab/timeline", directory / "timeline.json"))],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        env=inner_pytest_environment(CHAOS_SRE_LAB_DIR=str(directory / "lab"),
                                     CHAOS_SRE_LEDGER_DIR=str(directory / "ledgers"),
                                     CHAOS_SRE_HISTORY=str(directory / "history.sqlite")))
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="session")
def shipped_runs(tmp_path_factory: pytest.TempPathFactory) -> ShippedRuns:
    """The session's one run of every shipped experiment (see :class:`ShippedRuns`)."""
    directory, result = once_per_session(tmp_path_factory, "shipped-runs", _run_shipped_experiments)
    return ShippedRuns(directory / "experiments", directory / "journals", directory / "ledgers",
                       directory / "history.sqlite", **result)
