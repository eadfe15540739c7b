"""Shared fixtures: real labs started through the CLI, real boto3 clients over HTTP.

Labs are forked from lab servers of this test session (chaos_sre.lab.core.forkserver), so a lab
costs a fork, not a seeding. Runs of the shipped experiments that tests only read are made once
per test session (:func:`shipped_runs`), also across parallel workers. docs/testing.md has the map.

The fixtures are made from :mod:`chaos_sre.lab.testing` (labs, clients, snapshot, canaries) and
tests/experiment_runs.py (`chaos run`, the runner policy, the shipped runs); tests import the
helpers of both from here.
"""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from experiment_runs import (  # noqa: F401 - the suite's helpers, imported from here by tests
    CHAOS,
    CLI,
    MUTATING_STEPS,
    ROOT,
    RUNNER_KEY,
    SHIPPED_EXPERIMENTS,
    RunTruth,
    ShippedRuns,
    _run_shipped_experiments,
    denied_without_each_statement,
    extension,
    inner_pytest_environment,
    lab_settings,
    ledger_entries,
    once_per_session,
    over_budget_and_restored,
    ran_within_the_runner_policy,
    refused_then_failed,
    run_chaos,
    run_cli,
    runner_policy,
    runner_policy_without,
    sampled_lightly,
    then_save_lab_json,
    throttle_in_units,
    with_secrets,
    without_statement,
)

from chaos_sre.lab.core import forkserver
from chaos_sre.lab.testing import (  # noqa: F401 - the suite's helpers, imported from here by tests
    CANARIES,
    CANARY_INLINE,
    CANARY_KEY_ID,
    CANARY_SECRET,
    CANARY_TOKEN,
    NO_RETRIES,
    RunningLab,
    account_snapshot,
    found,
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
    """One directory of lab servers for the whole run, parallel workers included; every lab in
    worst-case eventual consistency; Ctrl-C heard.

    Set before xdist starts its workers, which inherit it, so each lab variant is seeded once per
    run. A short directory of its own: Unix socket paths are limited to 107 bytes.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ["CHAOS_SRE_LAB_SERVER_DIR"] = tempfile.mkdtemp(prefix="chaos-sre-labd-")
    # chaos-sre's own faults must handle EC2's eventual consistency every time, not now and then
    os.environ.setdefault("CHAOS_SRE_LAB_CONSISTENCY", "worst-case")
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A suite started as a background job of a non-interactive shell inherits SIGINT
        # ignored, and so would every `chaos run` it starts: the tests that play a user's
        # Ctrl-C need the runs to hear it, as they do from a terminal.
        signal.signal(signal.SIGINT, signal.default_int_handler)


PYC_WARM_UP_TIMEOUT_SECONDS = 120


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before xdist starts its workers (its own hook runs last): collect the suite once, in one
    process, so the workers load the compiled modules instead of each compiling them anew.

    On a fresh clone nothing is compiled yet - neither the installed packages (uv does not
    compile at install) nor the test modules and hypothesis, which pytest compiles with its
    assertion rewriting - and eight workers collecting at once each spend 7 s of CPU on it where
    a collection from compiled modules takes 2 s. Skipped where Python may not write bytecode."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None) or sys.dont_write_bytecode:
        return
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                    str(ROOT / "tests")], cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=PYC_WARM_UP_TIMEOUT_SECONDS, check=False)


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
def own_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run ledger directory of the test's own, and no current ledger: the faults a test calls
    record there."""
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path / "ledgers"))
    monkeypatch.setattr("chaos_sre.safety.ledger._current", None)
    return tmp_path / "ledgers"


@pytest.fixture
def lab_servers() -> Path:
    """The directory of this run's lab servers."""
    return Path(os.environ["CHAOS_SRE_LAB_SERVER_DIR"])


@pytest.fixture(scope="session", autouse=True)
def history_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs started by tests add to a history file of the test session, not runs/ in the tree."""
    os.environ["CHAOS_SRE_HISTORY"] = str(tmp_path_factory.mktemp("history") / "history.sqlite")


@pytest.fixture(scope="session")
def shipped_runs(tmp_path_factory: pytest.TempPathFactory) -> ShippedRuns:
    """The session's one run of every shipped experiment (see :class:`ShippedRuns`)."""
    directory, result = once_per_session(tmp_path_factory, "shipped-runs", _run_shipped_experiments)
    return ShippedRuns(directory / "experiments", directory / "journals", directory / "ledgers",
                       **result)
