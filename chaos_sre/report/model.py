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
from chaos_sre.journal import chaos_sre_extension, load, outcome
from chaos_sre.safety.secrets import REDACTED, redact_secrets
from chaos_sre.slo.samples import Sample, read_samples

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
    status: str
    outcome: str
    passed: bool
    reasons: list[str]
    started: str
    duration_seconds: float | None
    extension: dict[str, Any] | None
    samples: list[Sample] = field(default_factory=list)
    samples_note: str | None = None
    activities: list[Activity] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    configuration: dict[str, Any] = field(default_factory=dict)

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
        """Wall seconds per AWS second of the run (its journal's times are AWS seconds, its
        samples' and phases' timestamps wall-clock): 1 against AWS and in older journals."""
        value = (self.extension or {}).get("time_scale")
        return float(value) if isinstance(value, int | float) and value > 0 else 1.0

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


def load_run(path: str | Path) -> RunReport:
    """Read one journal (one-line ValidationError when it is not a journal)."""
    journal_path = Path(path)
    journal = load(journal_path)
    extension = chaos_sre_extension(journal)
    verdict = (extension or {}).get("verdict") or {}
    text = outcome(journal)
    passed = bool(verdict["passed"]) if "passed" in verdict else text.startswith("PASSED")
    reasons = [str(r) for r in verdict.get("reasons") or []] or [text.split(" - ", 1)[-1]]
    samples, note = _samples(journal_path, extension)
    duration = journal.get("duration")
    return RunReport(
        journal_path=journal_path,
        title=str((journal.get("experiment") or {}).get("title") or "(untitled)"),
        status=str(journal.get("status")),
        outcome=text,
        passed=passed,
        reasons=reasons,
        started=str(journal.get("start", "")),
        duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        extension=extension,
        samples=samples,
        samples_note=note,
        activities=activities_of(journal),
        targets=_targets(extension),
        configuration=redacted_configuration(journal),
    )
