"""Shared by the benchmarks: a lab started with the CLI on free loopback ports, `chaos run`
against it, and the checkouts a benchmark compares side by side (``--compare-with DIR``)."""

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench.common import ROOT
from chaos_sre.lab import testing as lab_testing

T = TypeVar("T")
CLI = [sys.executable, "-m", "chaos_sre.cli"]
"""This checkout's command line (the benchmarks that time `lab up` itself)."""


@dataclass(frozen=True)
class Checkout:
    """A chaos-sre checkout: its lab, its `chaos run` (its control) and its experiment files.

    A checkout other than this one runs with its own virtualenv when it has one
    (``make .venv/.installed`` there), else with this one's and its source first on the path.
    """

    label: str
    root: Path

    @property
    def python(self) -> str:
        own = self.root / ".venv" / "bin" / "python"
        return str(own) if own.exists() else sys.executable

    @property
    def chaos(self) -> str:
        return str(Path(self.python).with_name("chaos"))

    def env(self) -> dict[str, str]:
        """This checkout's source first on the path (`python -m` also puts the working directory)."""
        return {**os.environ, "PYTHONPATH": str(self.root)}


THIS_CHECKOUT = Checkout("this checkout", ROOT)


def checkouts(args: argparse.Namespace) -> list[Checkout]:
    """This checkout, then the one ``--compare-with`` names (if any): measured run by run in turn."""
    found = [THIS_CHECKOUT]
    if getattr(args, "compare_with", None):
        other = Path(args.compare_with).resolve()
        if not (other / "chaos_sre").is_dir():
            sys.exit(f"error: {other} is not a chaos-sre checkout (no chaos_sre package)")
        found.append(Checkout(f"checkout {args.compare_with}", other))
    return found


def runs_in_turn(measured: list[Checkout], count: int, run: Callable[[Checkout], T],
                 progress: Callable[[T], str]) -> dict[str, list[T]]:
    """``count`` runs of each checkout, one checkout after the other run by run (so both meet
    the same machine), by checkout label; a progress line per run on stderr."""
    runs: dict[str, list[T]] = {c.label: [] for c in measured}
    for index in range(count):
        for checkout in measured:
            result = run(checkout)
            runs[checkout.label].append(result)
            print(f"run {index + 1}/{count} ({checkout.label}): {progress(result)}",
                  file=sys.stderr)
    return runs


def add_compare_with(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compare-with", metavar="DIR",
                        help="also measure checkout DIR (e.g. a `git worktree` of an older commit), "
                             "run by run in turn with this one")


@contextmanager
def running_lab(*args: str, checkout: Checkout = THIS_CHECKOUT) -> Iterator[dict[str, str]]:
    """Start a lab (`chaos-sre lab up --detach ARGS`) of ``checkout``'s code, yield its exports,
    stop it (chaos_sre.lab.testing, with the checkout's command line)."""
    how = {"cli": (checkout.python, "-m", "chaos_sre.cli"), "env": checkout.env(), "cwd": checkout.root}
    with lab_testing.running_lab(Path(tempfile.mkdtemp(prefix="bench-lab-")), *args, **how) as lab:
        yield lab.env


def chaos_run(checkout: Checkout, lab: dict[str, str], experiment: Path | str, folder: Path,
              timeout: float = 300, flags: tuple[str, ...] = ()) -> "subprocess.CompletedProcess[str]":
    """`chaos run FLAGS` of ``experiment`` (relative to the checkout) against ``lab`` (whose
    exports may carry more environment); the journal is ``folder/journal.json``, ledgers and
    history stay in ``folder``."""
    return _run(checkout, lab, folder, timeout, [checkout.chaos, "--log-file", str(folder / "chaos.log"),
                                                 "run", *flags, "--journal-path",
                                                 str(folder / "journal.json"), str(experiment)])


def fis_run(checkout: Checkout, lab: dict[str, str], experiment: Path | str, folder: Path,
            timeout: float = 300) -> "subprocess.CompletedProcess[str]":
    """`chaos-sre fis run` of ``experiment``, as :func:`chaos_run` runs `chaos run`."""
    return _run(checkout, lab, folder, timeout, [checkout.python, "-m", "chaos_sre.cli", "fis", "run",
                                                 "--log-file", str(folder / "chaos.log"),
                                                 "--journal-path", str(folder / "journal.json"),
                                                 str(experiment)])


def _run(checkout: Checkout, lab: dict[str, str], folder: Path, timeout: float,
         command: list[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        command, cwd=checkout.root, env={**checkout.env(), **lab,
                                         "CHAOS_SRE_LEDGER_DIR": str(folder / "ledgers"),
                                         "CHAOS_SRE_HISTORY": str(folder / "history.sqlite")},
        capture_output=True, text=True, timeout=timeout, check=False)
