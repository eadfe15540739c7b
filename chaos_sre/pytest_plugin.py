"""pytest plugin: each Chaos Toolkit experiment as a test whose outcome is its chaos-sre verdict.

For teams whose CI already runs pytest::

    pytest --chaos-experiments experiments/            # every experiment in the folder
    pytest --chaos-experiments experiments/az-outage.json --chaos-journal-dir runs/ci

Each experiment file (JSON or YAML with a ``method``; other files, such as a
game-day plan, are left alone) becomes one test item that runs ``chaos run``
with the current environment. It passes only when the run's verdict PASSED and
``chaos run`` exited 0 (the verdict read as everywhere, :mod:`chaos_sre.verdicts`:
a run without the chaos-sre control, a dry run, a torn verdict never pass); a
failure shows the run's summary (verdict reasons, recovery, budget, where the
journal is). Beside each journal go the run's samples, its Chaos Toolkit log
(``NAME.log``) and its console output (``NAME.console.log``). Given with no
test paths, only the experiments run; with paths, the experiments run after
those tests. The plugin registers itself through the
``pytest11`` entry point when chaos-sre is installed.
"""

import subprocess
from pathlib import Path
from typing import Any

import pytest

EXPERIMENT_SUFFIXES = (".json", ".yaml", ".yml")


class ExperimentFailed(Exception):
    """The experiment's verdict did not pass (or the run left no readable journal)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos-sre", "chaos-sre experiments as tests")
    group.addoption("--chaos-experiments", action="append", default=[], metavar="PATH",
                    help="Run each Chaos Toolkit experiment in PATH (a file, or a folder's "
                    "*.json/*.yaml experiments) as a test judged by its chaos-sre verdict. "
                    "Repeatable.")
    group.addoption("--chaos-journal-dir", default=str(Path("runs") / "pytest"), metavar="DIR",
                    help="Where the experiments' journals and samples go (default runs/pytest).")


def _is_experiment(path: Path) -> bool:
    from chaos_sre.documents import read_document
    from chaos_sre.errors import ValidationError

    try:
        document = read_document(path)
    except ValidationError:
        return True  # a broken experiment file is a test that fails, not one that vanishes
    return isinstance(document, dict) and "method" in document


def experiment_files(paths: list[str]) -> list[Path]:
    """The experiment files named by ``--chaos-experiments`` (folders: their experiments, sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in sorted(path.iterdir())
                         if p.suffix in EXPERIMENT_SUFFIXES and _is_experiment(p))
        elif path.is_file():
            found.append(path)
        else:
            raise pytest.UsageError(f"--chaos-experiments: no file or folder at {path}")
    return found


EXPERIMENTS_KEY = pytest.StashKey[set[Path]]()


def pytest_configure(config: pytest.Config) -> None:
    """Add the experiments to what pytest collects (instead of the test paths when none were given)."""
    paths = config.getoption("chaos_experiments", default=None)
    if not paths:
        return
    files = experiment_files(paths)
    config.stash[EXPERIMENTS_KEY] = {path.resolve() for path in files}
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.extend(str(path) for path in files)
    else:
        config.args[:] = [str(path) for path in files]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.resolve() in parent.config.stash.get(EXPERIMENTS_KEY, set()):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFile(pytest.File):
    """An experiment file: one test item."""

    def collect(self) -> list[pytest.Item]:
        journal_dir = Path(self.config.getoption("chaos_journal_dir"))
        return [ExperimentItem.from_parent(self, name=self.path.stem, experiment=self.path,
                                           journal_dir=journal_dir)]


class ExperimentItem(pytest.Item):
    """One ``chaos run`` of an experiment file."""

    def __init__(self, *, experiment: Path, journal_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment
        self.journal_dir = journal_dir
        self.label = "NOT RUN"

    def runtest(self) -> None:
        from chaos_sre.errors import ChaosSreError
        from chaos_sre.gameday.runner import chaos_command
        from chaos_sre.journal import summary
        from chaos_sre.report.model import load_run_or_unreadable

        self.journal_dir.mkdir(parents=True, exist_ok=True)
        journal = self.journal_dir / f"{self.experiment.stem}.json"
        journal.unlink(missing_ok=True)
        completed = subprocess.run(
            [chaos_command(), "--log-file", str(self.journal_dir / f"{self.experiment.stem}.log"),
             "run", "--journal-path", str(journal), str(self.experiment)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        console = self.journal_dir / f"{self.experiment.stem}.console.log"
        console.write_text(completed.stdout + completed.stderr, encoding="utf-8")
        run = load_run_or_unreadable(self.experiment.stem, journal, completed.returncode)
        self.label = run.label
        if run.passed:
            return
        try:
            shown = summary(journal)
        except ChaosSreError:
            tail = "\n".join(completed.stdout.splitlines()[-15:] + completed.stderr.splitlines()[-5:])
            shown = f"{run.verdict.text()}\nlast output:\n{tail}"
        else:  # the summary's outcome is the journal's; the run's may add chaos run's exit code
            shown = shown if run.verdict.text() in shown else f"{run.verdict.text()}\n{shown}"
        raise ExperimentFailed(shown)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if isinstance(excinfo.value, ExperimentFailed):
            return f"{self.nodeid.split('::')[0]}: verdict {self.label}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.experiment, None, f"chaos experiment {self.nodeid.split('::')[0]}"
