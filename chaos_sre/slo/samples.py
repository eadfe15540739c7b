"""SLI samples: one per request the sampler sent, stored as JSON lines.

Each line: ``{"scheduled": t, "sent": t, "latency": s|null, "outcome": c,
"status": n|null, "path": "/"}`` with epoch-second times and one outcome
class of ``2xx 3xx 4xx 5xx timeout connection-error``. Timed-out and
refused requests have no latency (``null``) and no status.
"""

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos_sre.errors import ValidationError

OUTCOMES = ("2xx", "3xx", "4xx", "5xx", "timeout", "connection-error")
BAD_OUTCOMES = frozenset({"5xx", "timeout", "connection-error"})


@dataclass(frozen=True)
class Sample:
    """One request of the open-loop sampler."""

    scheduled: float
    sent: float
    latency: float | None
    outcome: str
    status: int | None = None
    path: str = "/"

    def good(self, latency_threshold: float | None = None) -> bool:
        """True when the request counts as good for the SLI."""
        if self.outcome in BAD_OUTCOMES:
            return False
        if latency_threshold is not None:
            return self.latency is not None and self.latency <= latency_threshold
        return True


def outcome_of_status(status: int) -> str:
    """The outcome class of an HTTP status code."""
    return f"{min(max(status // 100, 2), 5)}xx"


def format_line(scheduled: float, sent: float, latency: float | None, outcome: str,
                status: int | None, path_json: str) -> str:
    """One JSON line (without its newline) from a sample's fields, ``path_json`` already encoded
    (``json.dumps(path)``): the sampler writes thousands a second, and this costs a tenth of
    building a Sample and encoding it with :mod:`json`. ``outcome`` is one of OUTCOMES."""
    return (f'{{"scheduled":{scheduled!r},"sent":{sent!r},'
            f'"latency":{"null" if latency is None else repr(latency)},"outcome":"{outcome}",'
            f'"status":{"null" if status is None else status},"path":{path_json}}}')


def to_line(sample: Sample) -> str:
    """One JSON line for ``sample``."""
    return format_line(sample.scheduled, sample.sent, sample.latency, sample.outcome,
                       sample.status, json.dumps(sample.path))


@dataclass
class SampleFile:
    """The samples read from a file, and what could not be read (the verdict's evidence)."""

    samples: list[Sample]
    malformed: list[str]
    """One message per line that is not a sample (a torn or foreign line)."""
    missing: bool = False

    def problems(self) -> list[str]:
        """Why the samples are incomplete evidence, one sentence each (empty when they are not)."""
        found = []
        if self.missing:
            found.append("the samples file is missing: the run was not observed")
        if self.malformed:
            found.append(f"{len(self.malformed)} line(s) of the samples file are not samples "
                         f"(first: {self.malformed[0]}): the run's observation is incomplete")
        return found


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a sample can hold")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_sample(line: str, number: int) -> Sample:
    """One sample line, or a one-line ValidationError naming the line. Times and the latency
    must be finite numbers (``NaN``, ``Infinity`` or ``1e999`` would break the gap scan)."""
    try:
        fields = json.loads(line, parse_constant=_no_constant)
        sample = Sample(**fields)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise ValidationError(f"sample line {number} is not a sample: {exc}") from None
    if sample.outcome not in OUTCOMES:
        raise ValidationError(f"sample line {number} is not a sample: outcome {sample.outcome!r}")
    if not (_finite(sample.scheduled) and _finite(sample.sent)
            and (sample.latency is None or (_finite(sample.latency) and sample.latency >= 0))):
        raise ValidationError(f"sample line {number} is not a sample: scheduled, sent and latency "
                              "must be finite numbers (latency null or >= 0)")
    return sample


def parse_tolerantly(lines: Iterable[str], first_number: int = 1) -> tuple[list[Sample], list[str]]:
    """The samples among complete ``lines``, and one message per line that is not one."""
    samples, malformed = [], []
    for number, line in enumerate(lines, start=first_number):
        if not line.strip():
            continue
        try:
            samples.append(parse_sample(line, number))
        except ValidationError as exc:
            malformed.append(str(exc))
    return samples, malformed


def read_sample_file(path: str | Path) -> SampleFile:
    """Every complete sample of a JSON-lines file, and the lines that are not samples.

    A last line without its newline is a write in progress and is left out.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return SampleFile([], [], missing=True)
    complete = text[: text.rfind("\n") + 1]
    samples, malformed = parse_tolerantly(complete.splitlines())
    return SampleFile(samples, malformed)


def read_samples(path: str | Path) -> list[Sample]:
    """Every complete sample in a JSON-lines file.

    A last line without its newline is a write in progress and is left out.
    """
    text = Path(path).read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    return list(parse_lines(complete.splitlines()))


def parse_lines(lines: Iterable[str]) -> Iterator[Sample]:
    """Parse complete sample lines, raising a one-line error on a bad one."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield parse_sample(line, number)
