"""``chaos-sre rollback``: undo what a run changed, from its ledger - after a crash, or by hand.

Every fault action writes its inverse to the run's ledger before it mutates
anything (:mod:`chaos_sre.safety.ledger`). When the runner dies before its
rollbacks ran (SIGKILL, a lost laptop lid, a CI job timeout), ``chaos-sre
rollback --last`` replays the newest ledger's pending inverses, newest first,
in the region and endpoint the run used; ``--ledger PATH`` picks one. Replaying
is idempotent: a restored change is marked ``reverted`` and never replayed, and
each inverse sets the exact pre-state rather than undoing a delta.
"""

from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.faults import registry
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import Ledger, current_ledger, ledger_dir, replay

__all__ = ["restore_run"]


@requires()  # its inverses use the permissions their faults declare
def restore_run(configuration: dict[str, Any] | None = None,
                secrets: dict[str, Any] | None = None) -> list[str]:
    """Undo what this run changed, newest first, from its ledger; returns what each step restored.

    The one rollback for every chaos-sre fault: it replays exactly the changes
    this run recorded (of every fault family, and nothing another run made),
    each inverse setting the recorded pre-state and waiting for it. Safe to run
    twice: a restored change is never replayed. The older names `restore_az`,
    `restore_database` and `restore_table` are this same activity.
    """
    registry.load()
    return replay(current_ledger(), configuration, secrets)


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
    registry.load()
    return replay(open_ledger(path))
