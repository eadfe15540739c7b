"""SLO definitions: OpenSLO-compatible YAML or JSON files in ``probes/``.

A file is an OpenSLO ``v1`` ``SLO`` whose ratio metric uses the ``chaos-sre``
metric source::

    apiVersion: openslo/v1
    kind: SLO
    metadata: {name: web}
    spec:
      service: web
      budgetingMethod: Occurrences
      timeWindow: [{duration: 30d, isRolling: true}]
      indicator:
        metadata: {name: web-good-requests}
        spec:
          ratioMetric:
            counter: true
            good:  {metricSource: {type: chaos-sre, spec: {latencyThreshold: 500ms}}}
            total: {metricSource: {type: chaos-sre, spec: {timeout: 2s,
                    loadBalancer: web, paths: [{path: /, weight: 1}]}}}
      objectives: [{displayName: good requests, target: 0.999}]

A request is good when it is answered within ``timeout``, is not 5xx and, when
``latencyThreshold`` is set, is no slower than it. The file is read by the models below through
the one validation layer (:mod:`chaos_sre.validation`): every invalid field is one line naming
the file, the path to the field and what was expected. OpenSLO fields chaos-sre does not use
(``apiVersion``, ``displayName``, ``description``, ``counter`` ...) are left alone.

What chaos-sre judges, and what it refuses rather than misread (one line each):

* ``budgetingMethod``: ``Occurrences`` (the default) - good requests over all
  requests. ``Timeslices`` and ``RatioTimeslices`` are refused: a run of
  minutes cannot say which timeslices of the window turn bad.
* ``timeWindow``: one rolling window in s, m, h, d or w. Calendar windows
  (``isRolling: false``) and the month, quarter and year units (``M``, ``Q``,
  ``Y``, which have no fixed length) are refused: write the window in days.
* ``objectives``: exactly one, with ``target`` (a ratio, 0.999) or
  ``targetPercent`` (a percentage, 99.9); both, or a ``targetPercent`` of 1
  or less (a ratio written as a percentage), are refused.
* ``ratioMetric``: ``good`` over ``total``; ``bad`` is refused.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pydantic

from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError
from chaos_sre.validation import Number, WholeNumber, checked

SOURCE_TYPE = "chaos-sre"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|M|Q|Y)\s*$")
_CALENDAR_UNITS = {"M": "month", "Q": "quarter", "Y": "year"}
BUDGETING_METHODS = ("Occurrences",)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
OPENSLO = pydantic.ConfigDict(extra="ignore")
"""OpenSLO documents carry fields chaos-sre does not read; they are left alone."""


@dataclass(frozen=True)
class SLODefinition:
    """What chaos-sre needs of an SLO file."""

    name: str
    target: float
    window_seconds: float
    paths: tuple[tuple[str, int], ...]
    timeout_seconds: float
    latency_threshold_seconds: float | None
    load_balancer: str | None
    source: str

    @property
    def error_budget(self) -> float:
        """The window's error budget as a ratio: 1 - target."""
        return 1.0 - self.target


def _seconds(text: Any) -> float:
    """Seconds in an OpenSLO duration (``30d``, ``2s``, ``500ms``, or a number of seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool) and text > 0:
        return float(text)
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValueError("expected a positive duration like 30d, 2s or 500ms")
    if match.group(2) in _CALENDAR_UNITS:
        raise ValueError(f"a {_CALENDAR_UNITS[match.group(2)]} has no fixed length: write the "
                         "duration in days (e.g. 30d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_duration(text: Any, field: str) -> float:
    """Seconds in an OpenSLO duration such as ``30d``, ``2s`` or ``500ms``; a one-line
    ValidationError naming ``field`` when it is none."""
    try:
        return _seconds(text)
    except ValueError as exc:
        raise ValidationError(f"{field}: {exc}, got {text!r}") from None


Duration = Annotated[float, pydantic.BeforeValidator(_seconds)]


def _one(what: str, advice: str) -> Any:
    """A list of exactly one item; more are refused with ``advice``."""
    def only(items: list[Any]) -> list[Any]:
        if len(items) > 1:
            raise ValueError(f"{len(items)} {what}; {advice}")
        return items
    return pydantic.AfterValidator(only)


class Window(pydantic.BaseModel):
    model_config = OPENSLO
    duration: Duration
    isRolling: bool = True

    @pydantic.field_validator("isRolling")
    @classmethod
    def _rolling(cls, value: bool) -> bool:
        if not value:
            raise ValueError("a calendar window (isRolling: false); chaos-sre judges rolling "
                             "windows: set isRolling: true")
        return value


class Objective(pydantic.BaseModel):
    model_config = OPENSLO
    target: Number | None = None
    targetPercent: Number | None = None

    @pydantic.field_validator("target")
    @classmethod
    def _ratio(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError("expected a ratio between 0 and 1 (exclusive, e.g. 0.999)"
                             + (f"; for a percentage write targetPercent: {value!r}" if 50 <= value < 100 else ""))
        return value

    @pydantic.field_validator("targetPercent")
    @classmethod
    def _percent(cls, value: float | None) -> float | None:
        if value is not None and not 1 < value < 100:
            raise ValueError("expected a percentage above 1 and below 100 (99.9 for 99.9 %)"
                             + (f"; for a ratio write target: {value!r}" if 0 < value <= 1 else ""))
        return value

    @pydantic.model_validator(mode="after")
    def _one_target(self) -> "Objective":
        if self.target is not None and self.targetPercent is not None:
            raise ValueError("sets both target and targetPercent; keep one")
        if self.target is None and self.targetPercent is None:
            raise ValueError("expected target (a ratio, 0.999) or targetPercent (99.9)")
        return self

    @property
    def ratio(self) -> float:
        return float(self.target) if self.target is not None else float(self.targetPercent or 0) / 100


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError("expected a path starting with /")
    return path


class RequestPath(pydantic.BaseModel):
    model_config = OPENSLO
    path: Annotated[str, pydantic.AfterValidator(_absolute)]
    weight: WholeNumber = pydantic.Field(1, ge=1, le=1000)


def _is_source(value: str) -> str:
    if value != SOURCE_TYPE:
        raise ValueError(f"expected {SOURCE_TYPE!r} (the sampler's requests)")
    return value


SourceType = Annotated[str, pydantic.AfterValidator(_is_source)]


class TotalSpec(pydantic.BaseModel):
    model_config = OPENSLO
    timeout: Duration = 2.0
    loadBalancer: str | None = None
    paths: list[RequestPath] = pydantic.Field(
        default_factory=lambda: [RequestPath(path="/", weight=1)], min_length=1)


class TotalSource(pydantic.BaseModel):
    model_config = OPENSLO
    type: SourceType
    spec: TotalSpec = pydantic.Field(default_factory=TotalSpec)


class GoodSpec(pydantic.BaseModel):
    model_config = OPENSLO
    latencyThreshold: Duration | None = None


class GoodSource(pydantic.BaseModel):
    model_config = OPENSLO
    type: SourceType = SOURCE_TYPE
    spec: GoodSpec = pydantic.Field(default_factory=GoodSpec)


class Good(pydantic.BaseModel):
    model_config = OPENSLO
    metricSource: GoodSource = pydantic.Field(default_factory=GoodSource)


class Total(pydantic.BaseModel):
    model_config = OPENSLO
    metricSource: TotalSource


class RatioMetric(pydantic.BaseModel):
    model_config = OPENSLO
    good: Good = pydantic.Field(default_factory=Good)
    total: Total
    bad: Any = None

    @pydantic.field_validator("bad")
    @classmethod
    def _no_bad(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("not supported: declare good (and total) requests; chaos-sre's "
                             "sampler classifies each request itself")
        return value


class IndicatorSpec(pydantic.BaseModel):
    model_config = OPENSLO
    ratioMetric: RatioMetric


class Indicator(pydantic.BaseModel):
    model_config = OPENSLO
    spec: IndicatorSpec


def _occurrences(value: str) -> str:
    if value not in BUDGETING_METHODS:
        raise ValueError("not supported: chaos-sre counts good requests over all requests "
                         "(Occurrences); a run of minutes cannot say which timeslices of the "
                         "window turn bad")
    return value


class Spec(pydantic.BaseModel):
    model_config = OPENSLO
    budgetingMethod: Annotated[str, pydantic.AfterValidator(_occurrences)] = "Occurrences"
    timeWindow: Annotated[list[Window], pydantic.Field(min_length=1),
                          _one("windows", "an SLO has one")]
    objectives: Annotated[list[Objective], pydantic.Field(min_length=1),
                          _one("objectives", "chaos-sre judges one per SLO file: write one file "
                                             "per objective")]
    indicator: Indicator


class Metadata(pydantic.BaseModel):
    model_config = OPENSLO
    name: str = pydantic.Field(min_length=1)


class SLOFile(pydantic.BaseModel):
    """An OpenSLO v1 SLO document, as far as chaos-sre reads it."""

    model_config = OPENSLO
    kind: str
    metadata: Metadata
    spec: Spec

    @pydantic.field_validator("kind")
    @classmethod
    def _an_slo(cls, value: str) -> str:
        if value != "SLO":
            raise ValueError("expected 'SLO'")
        return value


def parse_slo(document: Any, source: str) -> SLODefinition:
    """Validate a loaded SLO document and return its definition."""
    if not isinstance(document, dict):
        raise ValidationError(f"{source}: not an SLO document (expected a mapping)")
    slo = checked(SLOFile, document, source)
    ratio = slo.spec.indicator.spec.ratioMetric
    total = ratio.total.metricSource.spec
    threshold = ratio.good.metricSource.spec.latencyThreshold
    if threshold is not None and threshold > total.timeout:
        raise ValidationError(f"{source}: spec.indicator.spec.ratioMetric.good.metricSource.spec."
                              f"latencyThreshold: expected at most the request timeout "
                              f"({total.timeout:g} s), got {threshold:g} s")
    return SLODefinition(name=slo.metadata.name, target=slo.spec.objectives[0].ratio,
                         window_seconds=slo.spec.timeWindow[0].duration,
                         paths=tuple((p.path, p.weight) for p in total.paths),
                         timeout_seconds=total.timeout,
                         latency_threshold_seconds=threshold,
                         load_balancer=total.loadBalancer, source=source)


def load_slo(path: str | Path) -> SLODefinition:
    """Read and validate the SLO file at ``path`` (YAML or JSON)."""
    document = read_document(path, "SLO file")
    return parse_slo(document, str(path))
