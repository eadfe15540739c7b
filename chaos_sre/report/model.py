"""What a report shows of one run, read from its Chaos Toolkit journal.

:func:`load_run` turns a journal (and the SLI samples beside it) into a
:class:`RunReport`: the verdict and its reasons, the key numbers, the
timeline markers (fault, stop, rollback, recovery), the activities, the
targets touched and the configuration with secrets blanked. Every renderer
(HTML, Markdown, JUnit) works from this one shape.
"""

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.journal import left_changed_lines, load, time_scale_of, title_of
from chaos_sre.safety.secrets import REDACTED, redact_secrets
from chaos_sre.slo.samples import Sample, read_samples
from chaos_sre.verdicts import (
    Status,
    Verdict,
    VerdictError,
    chaos_sre_extension,
    journal_verdict,
    with_exit_code,
)

SECRET_NAME = re.compile(r"secret|password|token|credential|private_key|access_key", re.IGNORECASE)


@dataclass(frozen=True)
class Activity:
    """One activity of the run as the journal recorded it."""

    phase: str
    name: str
    kind: str
    started_at: float | None
    duration_seconds: float | None
    status: str
    error: str | None = None


@dataclass(frozen=True)
class Marker:
    """A moment on the timeline (epoch seconds)."""

    label: str
    at: float


@dataclass
class RunReport:
    """Everything a report says about one run."""

    journal_path: Path
    title: str
    chaos_status: str
    """The journal's own status (Chaos Toolkit's)."""
    verdict: Verdict
    """The run's verdict, read as every consumer reads it (:mod:`chaos_sre.verdicts`)."""
    started: str
    duration_seconds: float | None
    extension: dict[str, Any] | None
    samples: list[Sample] = field(default_factory=list)
    samples_note: str | None = None
    activities: list[Activity] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    left_changed: list[str] = field(default_factory=list)
    """What the run's restores left changed, one sentence each."""
    configuration: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def label(self) -> str:
        """PASSED, FAILED, INCONCLUSIVE or DRY-RUN."""
        return self.verdict.label

    @property
    def reasons(self) -> list[str]:
        return list(self.verdict.reasons)

    @property
    def has_verdict(self) -> bool:
        """Whether the run had the chaos-sre control (an SLO verdict)."""
        return self.extension is not None

    def number(self, section: str, key: str) -> float | None:
        """A number of the chaos_sre extension, e.g. ``number("recovery", "recover_seconds")``."""
        value = ((self.extension or {}).get(section) or {}).get(key)
        return float(value) if isinstance(value, int | float) else None

    @property
    def time_scale(self) -> float:
        """Wall seconds per AWS second of the run (:func:`chaos_sre.journal.time_scale_of`)."""
        return time_scale_of(self.extension)

    def aws_seconds(self, wall: float | None) -> float | None:
        """A span of the run's wall clock in AWS seconds (None stays None)."""
        return None if wall is None else wall / self.time_scale

    @property
    def fault_started_at(self) -> float | None:
        value = (self.extension or {}).get("fault_started_at")
        return float(value) if isinstance(value, int | float) else None

    @property
    def target(self) -> float | None:
        """The SLO's objective (0.999 for 99.9 %)."""
        return self.number("slo", "target")

    def markers(self) -> list[Marker]:
        """Fault injection, stop, rollback and recovery, in time order (those that happened)."""
        extension = self.extension or {}
        found: list[Marker] = []
        fault = self.fault_started_at
        if fault is not None:
            found.append(Marker("fault injected", fault))
        stopped = extension.get("stopped") or {}
        if isinstance(stopped.get("at"), int | float):
            found.append(Marker("stopped", float(stopped["at"])))
        rollback = (extension.get("phases") or {}).get("rollbacks_started_at")
        if isinstance(rollback, int | float):
            found.append(Marker("rollback", float(rollback)))
        recover = self.number("recovery", "recover_seconds")
        detect = self.number("recovery", "detect_seconds")
        if fault is not None and recover is not None and detect is not None:
            found.append(Marker("recovered", fault + recover * self.time_scale))
        return sorted(found, key=lambda m: m.at)


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def _error_of(entry: dict[str, Any]) -> str | None:
    exception = entry.get("exception")
    if isinstance(exception, list) and exception:
        return str(exception[-1]).strip().splitlines()[-1]
    return None


def _activity(phase: str, entry: Any) -> Activity | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("activity"), dict):
        return None
    activity = entry["activity"]
    duration = entry.get("duration")
    status = str(entry.get("status", "?"))
    if entry.get("tolerance_met") is False:
        status = "tolerance not met"
    return Activity(phase, str(activity.get("name", "?")), str(activity.get("type", "?")),
                    _epoch(entry.get("start")),
                    float(duration) if isinstance(duration, int | float) else None,
                    status, _error_of(entry))


def activities_of(journal: dict[str, Any]) -> list[Activity]:
    """Every activity of the run (steady state before and after, method, rollbacks) in time order."""
    steady = journal.get("steady_states") or {}
    sources = {"steady state before": (steady.get("before") or {}).get("probes"),
               "method": journal.get("run"),
               "rollback": journal.get("rollbacks"),
               "steady state after": (steady.get("after") or {}).get("probes")}
    found = []
    for phase, entries in sources.items():
        for entry in entries or []:
            activity = _activity(phase, entry)
            if activity is not None:
                found.append(activity)
    return sorted(found, key=lambda a: a.started_at if a.started_at is not None else float("inf"))


def redacted_configuration(journal: dict[str, Any]) -> dict[str, Any]:
    """The experiment's configuration and secrets, with every secret value blanked.

    Secrets are blanked unless they are references (``{"type": "env", ...}``);
    configuration entries whose name looks secret (token, password, key...) too.
    """
    experiment = journal.get("experiment") or {}
    configuration = copy.deepcopy(experiment.get("configuration") or {})
    if isinstance(configuration, dict):
        for key, value in configuration.items():
            if SECRET_NAME.search(str(key)) and not (isinstance(value, dict) and "type" in value):
                configuration[key] = REDACTED
    shown: dict[str, Any] = {"configuration": configuration}
    if isinstance(experiment.get("secrets"), dict):
        copied = {"secrets": copy.deepcopy(experiment["secrets"])}
        redact_secrets(copied)
        shown["secrets"] = copied["secrets"]
    return shown


def _targets(extension: dict[str, Any] | None) -> list[str]:
    recorded = (extension or {}).get("targets")
    if isinstance(recorded, list):
        return [str(t) for t in recorded]
    return []


def _samples(journal_path: Path, extension: dict[str, Any] | None) -> tuple[list[Sample], str | None]:
    if extension is None:
        return [], "the run had no chaos-sre control, so no SLI samples were taken"
    recorded = Path(str(extension.get("samples_path") or ""))
    candidates = [recorded, journal_path.parent / recorded.name,
                  journal_path.with_name(f"{journal_path.stem}.samples.jsonl")]
    for candidate in candidates:
        if candidate.name and candidate.is_file():
            try:
                return read_samples(candidate), None
            except ValidationError as exc:
                return [], f"{candidate}: {exc}"
    return [], f"the SLI samples ({recorded}) are not beside the journal: no timeline"


def load_run(path: str | Path, exit_code: int | None = None) -> RunReport:
    """Read one journal (one-line ValidationError when it is not a journal, VerdictError when
    its chaos-sre verdict is torn); ``exit_code`` is that of the ``chaos run`` that wrote it,
    when known (a PASSED verdict it did not exit 0 for is FAILED)."""
    journal_path = Path(path)
    journal = load(journal_path)
    extension = chaos_sre_extension(journal)
    verdict = with_exit_code(journal_verdict(journal, str(journal_path)), exit_code)
    samples, note = _samples(journal_path, extension)
    duration = journal.get("duration")
    return RunReport(
        journal_path=journal_path,
        title=title_of(journal),
        chaos_status=str(journal.get("status")),
        verdict=verdict,
        started=str(journal.get("start", "")),
        duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        extension=extension,
        samples=samples,
        samples_note=note,
        activities=activities_of(journal),
        targets=_targets(extension),
        left_changed=left_changed_lines(extension),
        configuration=redacted_configuration(journal),
    )


def unreadable_run(title: str, journal_path: Path, reason: str, *,
                   status: Status = Status.INCONCLUSIVE) -> RunReport:
    """A run whose journal or verdict cannot be read: never PASSED, ``reason`` says why."""
    return RunReport(journal_path=journal_path, title=title, chaos_status="unknown",
                     verdict=Verdict(status, (reason,)), started="", duration_seconds=None,
                     extension=None, samples_note="the journal could not be read: no samples")


def load_run_or_unreadable(title: str, path: Path, exit_code: int | None) -> RunReport:
    """:func:`load_run`, or (for a game day or the pytest plugin, which go on) a FAILED run when
    ``chaos run`` left no readable journal and an INCONCLUSIVE one when its verdict is torn."""
    try:
        return load_run(path, exit_code)
    except VerdictError as exc:
        return unreadable_run(title, path, str(exc))
    except ValidationError as exc:
        return unreadable_run(title, path, f"chaos run exited {exit_code} without a readable "
                              f"journal: {exc}", status=Status.FAILED)
