"""Reading Chaos Toolkit journals: the one-paragraph outcome of a run.

``python -m chaos_sre.journal JOURNAL`` prints the experiment's title, its
outcome and where the journal is; `make demo` uses it after `chaos run`.
"""

import json
import sys
from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError


def load(path: str | Path) -> dict[str, Any]:
    """Load a journal file or raise a one-line ValidationError."""
    try:
        journal = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"no journal at {path}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not a JSON journal: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(journal, dict) or "status" not in journal:
        raise ValidationError(f"{path} is not a Chaos Toolkit journal (no status)")
    return journal


def outcome(journal: dict[str, Any]) -> str:
    """A short sentence saying how the run ended."""
    status = journal.get("status")
    if status == "completed" and not journal.get("deviated"):
        return "PASSED - the steady state held before and after the fault"
    if journal.get("deviated"):
        return "FAILED - the steady state deviated after the fault"
    if status == "failed":
        return "FAILED - the steady state did not hold before the fault, or an activity failed"
    return f"ENDED - status {status}"


def summary(path: str | Path) -> str:
    """Title, outcome, duration and path of the journal at ``path``."""
    journal = load(path)
    title = journal.get("experiment", {}).get("title", "(untitled)")
    duration = journal.get("duration")
    took = f" in {duration:.1f} s" if isinstance(duration, int | float) else ""
    return (f"experiment: {title}\n"
            f"outcome:    {outcome(journal)}{took}\n"
            f"journal:    {Path(path).resolve()}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m chaos_sre.journal JOURNAL", file=sys.stderr)
        return 2
    try:
        print(summary(args[0]))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
