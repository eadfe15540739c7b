"""Reading Chaos Toolkit journals: the one-paragraph outcome of a run.

``python -m chaos_sre.journal JOURNAL`` prints the experiment's title, its
outcome and where the journal is; `make demo` uses it after `chaos run`.
"""

import json
import sys
from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.verdicts import chaos_sre_extension, journal_verdict


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


def outcome(journal: dict[str, Any], where: str = "the journal") -> str:
    """The run's verdict on one line, ``LABEL - reasons`` (:func:`chaos_sre.verdicts.journal_verdict`:
    a journal without a chaos-sre verdict is never PASSED; a torn one raises)."""
    return journal_verdict(journal, where).text()


def title_of(journal: dict[str, Any]) -> str:
    """The experiment's title, ``(untitled)`` without one."""
    return str((journal.get("experiment") or {}).get("title") or "(untitled)")


def time_scale_of(extension: dict[str, Any] | None) -> float:
    """Wall seconds per AWS second of a run (its journal's times are AWS seconds, its samples'
    and phases' timestamps wall-clock): 1 against AWS and in older journals."""
    value = (extension or {}).get("time_scale")
    return float(value) if isinstance(value, int | float) and value > 0 else 1.0


def left_changed_lines(extension: dict[str, Any] | None) -> list[str]:
    """Each change the run's restores left in place (``left_changed``), as one sentence with how
    to undo it."""
    recorded = (extension or {}).get("left_changed")
    if not isinstance(recorded, list):
        return []
    return [f"{c.get('resource')}: {c.get('change')}: {c.get('before')} -> {c.get('after')} "
            f"(to undo: {c.get('undo')})" for c in recorded if isinstance(c, dict)]


def summary(path: str | Path) -> str:
    """Title, outcome, duration and path of the journal at ``path``: every time in AWS seconds
    (a lab run's wall-clock duration named beside it)."""
    journal = load(path)
    title = title_of(journal)
    duration = journal.get("duration")
    extension = chaos_sre_extension(journal)
    scale = time_scale_of(extension)
    scaled = scale != 1
    lines = [f"experiment: {title}", f"outcome:    {outcome(journal, str(path))}"]
    if isinstance(duration, int | float):
        wall = f"{duration:.1f} s on the lab's wall clock, " if scaled else ""
        lines.append(f"duration:   {duration / scale:.1f} s ({wall}status "
                     f"{journal.get('status')})")
    if extension is not None and "recovery" in extension and "budget" in extension:
        recovery, budget = extension["recovery"], extension["budget"]
        seconds = lambda value: "-" if value is None else f"{value:.2f} s"  # noqa: E731
        lines.append(f"recovery:   detected after {seconds(recovery['detect_seconds'])}, "
                     f"recovered after {seconds(recovery['recover_seconds'])} "
                     f"(RTO {recovery['rto_seconds']:g} s)")
        if recovery.get("restore_to_healthy_seconds") is not None:
            objective = recovery.get("restore_rto_seconds")
            lines.append(f"restore:    healthy {seconds(recovery['restore_to_healthy_seconds'])} "
                         "after the restore"
                         + ("" if objective is None else f" (restore RTO {objective:g} s)"))
        lines.append(f"budget:     spent {budget['consumed_fraction'] * 100:.3g} % of the SLO "
                     f"window's error budget (allowed {budget['allowed_fraction'] * 100:.3g} %)")
        lines.append(f"samples:    {extension['samples_path']}")
        lines.extend(f"left changed: {change}" for change in left_changed_lines(extension))
        calls = extension.get("aws_calls")
        if isinstance(calls, dict) and calls:
            busiest = sorted(calls.items(), key=lambda item: (-item[1], item[0]))[:3]
            lines.append(f"AWS calls:  {sum(calls.values())} ("
                         + ", ".join(f"{action} {n}" for action, n in busiest)
                         + (", ..." if len(calls) > 3 else "") + ")")
        if scaled:
            lines.append(f"time scale: {scale:g} (the lab's): every time above is in AWS seconds")
    lines.append(f"journal:    {Path(path).resolve()}")
    return "\n".join(lines)


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
