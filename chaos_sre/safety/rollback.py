"""``chaos-sre rollback``: undo what a run changed, from its ledger - after a crash, or by hand.

Every fault action writes its inverse to the run's ledger before it mutates
anything (:mod:`chaos_sre.safety.ledger`). When the runner dies before its
rollbacks ran (SIGKILL, a lost laptop lid, a CI job timeout), ``chaos-sre
rollback --last`` replays the newest ledger's pending inverses, newest first,
in the region and endpoint the run used; ``--ledger PATH`` picks one. Replaying
is idempotent: a restored change is marked ``reverted`` and never replayed, and
each inverse sets the exact pre-state rather than undoing a delta.
"""

import importlib
from pathlib import Path

from chaos_sre.errors import ValidationError
from chaos_sre.safety.ledger import Ledger, ledger_dir, replay

FAULT_MODULES = ("chaos_sre.faults.az", "chaos_sre.faults.rds", "chaos_sre.faults.dynamodb",
                 "chaos_sre.faults.ecs")
"""The modules whose inverse operations a ledger may name (imported to register them)."""


def newest_ledger(directory: Path | None = None) -> Path:
    """The most recently written ledger in ``directory`` (default: the ledger directory)."""
    directory = directory or ledger_dir()
    found = sorted(directory.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name)) \
        if directory.is_dir() else []
    if not found:
        raise ValidationError(f"no run ledger in {directory} (set CHAOS_SRE_LEDGER_DIR, or name "
                              "one with --ledger PATH)")
    return found[-1]


def open_ledger(path: Path) -> Ledger:
    """The ledger at ``path`` (a missing or malformed file is a one-line ValidationError)."""
    if not path.is_file():
        raise ValidationError(f"no ledger at {path}")
    return Ledger(path)


def rollback(path: Path) -> list[str]:
    """Replay the pending inverses of the ledger at ``path``; return what each restored."""
    for module in FAULT_MODULES:
        importlib.import_module(module)
    return replay(open_ledger(path))
