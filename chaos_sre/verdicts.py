"""The verdict of a run, as every reader reads it: one model, one parser, one set of rules.

The chaos-sre control writes a verdict into the journal's ``chaos_sre`` extension::

    "verdict": {"version": 2, "status": "passed", "passed": true, "reasons": ["..."]}

``status`` is the one truth: ``passed``, ``failed``, ``inconclusive`` or ``dry-run``;
``passed`` is derived from it (true only for ``passed``) and kept for the readers of
DESIGN.md's contract. Every consumer - ``chaos run``'s exit code, the game day, the run
history, the pytest plugin, every report format - reads a journal through
:func:`journal_verdict`, which applies the same rules:

* a verdict that cannot be read (no ``verdict``, a ``status`` outside the four, ``passed``
  that is not a boolean or disagrees with ``status``, a newer version) is a one-line
  :class:`VerdictError`, never a pass;
* the journal's own status is part of the verdict: a verdict that passed in a run Chaos
  Toolkit ended ``failed``, ``aborted`` or ``interrupted``, or that deviated, is FAILED (the
  control marks the run of every other verdict ``failed`` itself, so ``chaos run`` exits 1);
* a journal without the chaos-sre verdict was not judged by an SLO: INCONCLUSIVE when Chaos
  Toolkit's run completed (also when its experiment declares the control), FAILED when it did not;
* a dry run is DRY-RUN: no fault was injected, so it neither passes nor counts in the history.

Only PASSED exits 0 (:func:`exit_code`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.extension import NAME as EXTENSION_NAME
from chaos_sre.extension import VerdictFields

VERSION = 2
"""Version 1 (no ``version`` key): ``passed`` always, ``status`` from the fail-closed verdict on."""
CONTROL_MODULE = "chaos_sre.control"
COMPLETED = "completed"


class VerdictError(ValidationError):
    """A journal whose chaos-sre verdict cannot be read (torn, foreign or newer)."""


class Status(StrEnum):
    """How a run ended, as its verdict says."""

    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    DRY_RUN = "dry-run"

    @property
    def label(self) -> str:
        """PASSED, FAILED, INCONCLUSIVE or DRY-RUN."""
        return self.value.upper()


@dataclass(frozen=True)
class Verdict:
    """A run's verdict: its status and the reasons for it."""

    status: Status
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True only for PASSED: what exit codes and CI follow."""
        return self.status is Status.PASSED

    @property
    def label(self) -> str:
        return self.status.label

    def text(self) -> str:
        """``LABEL - reason; reason`` on one line."""
        return self.label + (" - " + "; ".join(self.reasons) if self.reasons else "")

    def as_dict(self) -> VerdictFields:
        """The journal's ``verdict`` object (current version)."""
        return {"version": VERSION, "status": self.status.value, "passed": self.passed,
                "reasons": list(self.reasons)}

    def failed_because(self, reason: str) -> "Verdict":
        """This verdict made FAILED by ``reason`` (put first), whatever it was."""
        return Verdict(Status.FAILED, (reason, *self.reasons))


def exit_code(verdict: Verdict) -> int:
    """0 for PASSED, 1 for anything else (FAILED, INCONCLUSIVE, DRY-RUN)."""
    return 0 if verdict.passed else 1


def parse(data: Any, where: str = "the journal") -> Verdict:
    """The ``verdict`` object of a ``chaos_sre`` extension, or a one-line :class:`VerdictError`."""
    if not isinstance(data, dict):
        raise VerdictError(f"{where}: the chaos-sre extension holds no verdict object: the "
                           "verdict is torn, the run cannot be read as judged")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise VerdictError(f"{where}: verdict version {version!r} is not a version number")
    if version > VERSION:
        raise VerdictError(f"{where}: the verdict was written by a newer chaos-sre (verdict "
                           f"version {version}, this one reads up to {VERSION}): upgrade chaos-sre")
    passed = data.get("passed")
    if not isinstance(passed, bool):
        raise VerdictError(f"{where}: verdict.passed must be true or false, got {passed!r}")
    raw_status = data.get("status")
    if raw_status is None and version == 1:
        status = Status.PASSED if passed else Status.FAILED
    else:
        try:
            status = Status(str(raw_status))
        except ValueError:
            raise VerdictError(f"{where}: verdict.status {raw_status!r} is none of "
                               f"{', '.join(s.value for s in Status)}") from None
    if passed != (status is Status.PASSED):
        raise VerdictError(f"{where}: the verdict is torn: status {status.value} but passed "
                           f"{str(passed).lower()}")
    reasons = data.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise VerdictError(f"{where}: verdict.reasons must be a list of sentences")
    return Verdict(status, tuple(reasons))


def chaos_sre_extension(journal: dict[str, Any]) -> dict[str, Any] | None:
    """The ``chaos_sre`` entry of a journal's extensions, if the run had the control."""
    extensions = journal.get("extensions")
    for entry in extensions if isinstance(extensions, list) else []:
        if isinstance(entry, dict) and entry.get("name") == EXTENSION_NAME:
            return entry
    return None


def declares_control(journal: dict[str, Any]) -> bool:
    """Whether the journal's experiment runs the chaos-sre control."""
    experiment = journal.get("experiment")
    controls = experiment.get("controls") if isinstance(experiment, dict) else None
    if not isinstance(controls, list):
        return False
    return any(isinstance(c, dict) and isinstance(c.get("provider"), dict)
               and c["provider"].get("module") == CONTROL_MODULE for c in controls)


def _ended(journal: dict[str, Any]) -> str | None:
    """Why Chaos Toolkit's own outcome rules out a pass, or None when it completed cleanly."""
    status = journal.get("status")
    if status != COMPLETED:
        return f"Chaos Toolkit ended the run with status {status} (not completed)"
    if journal.get("deviated"):
        return "the steady state deviated after the method (Chaos Toolkit: deviated)"
    return None


def journal_verdict(journal: dict[str, Any], where: str = "the journal") -> Verdict:
    """The verdict of a journal, all rules of the module applied (a :class:`VerdictError` when
    its chaos-sre verdict cannot be read)."""
    extension = chaos_sre_extension(journal)
    ended = _ended(journal)
    if extension is None:
        judged = ("the experiment declares the chaos-sre control, but the journal holds no "
                  "chaos-sre verdict: the run was not judged (the log says why)"
                  if declares_control(journal) else
                  "the run had no chaos-sre control: nothing judged it by an SLO")
        if ended:
            return Verdict(Status.FAILED, (ended, judged))
        return Verdict(Status.INCONCLUSIVE, (judged,))
    verdict = parse(extension.get("verdict"), where)
    if ended and verdict.passed:  # (the control itself ends every other verdict's run failed)
        return verdict.failed_because(ended)
    return verdict


def with_exit_code(verdict: Verdict, code: int | None) -> Verdict:
    """A journal's verdict read beside the exit code of the ``chaos run`` that wrote it: a pass
    that ``chaos run`` did not exit 0 for is FAILED."""
    if verdict.passed and code not in (None, 0):
        return verdict.failed_because(f"chaos run exited {code} although the journal's verdict "
                                      "is PASSED")
    return verdict


def summary_line(verdicts: Sequence[Verdict]) -> str:
    """``N passed, N failed, ...`` for several verdicts, in status order (those that occur)."""
    counts = {s: sum(v.status is s for v in verdicts) for s in Status}
    return ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
