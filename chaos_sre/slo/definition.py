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
``latencyThreshold`` is set, is no slower than it. Every invalid field is
reported as one line naming the field.

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
from typing import Any

from chaos_sre import values
from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError

SOURCE_TYPE = "chaos-sre"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|M|Q|Y)\s*$")
_CALENDAR_UNITS = {"M": "month", "Q": "quarter", "Y": "year"}
BUDGETING_METHODS = ("Occurrences",)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


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


def parse_duration(text: Any, field: str) -> float:
    """Seconds in an OpenSLO duration such as ``30d``, ``2s`` or ``500ms``."""
    if isinstance(text, int | float) and not isinstance(text, bool) and text > 0:
        return float(text)
    match = _DURATION.match(str(text)) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValidationError(f"{field} must be a positive duration like 30d, 2s or 500ms, got {text!r}")
    if match.group(2) in _CALENDAR_UNITS:
        raise ValidationError(f"{field}: a {_CALENDAR_UNITS[match.group(2)]} has no fixed length, "
                              f"got {text!r}; write the duration in days (e.g. 30d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _mapping(value: Any, field: str, source: str) -> dict[str, Any]:
    """``value`` when it is a mapping, {} when absent; anything else is a one-line error."""
    return values.mapping(f"{source}: {field}", value)


def _get(node: Any, path: str, source: str) -> Any:
    current = node
    walked = []
    for part in path.split("."):
        index = None
        if part.endswith("]"):
            part, _, rest = part.partition("[")
            index = int(rest[:-1])
        walked.append(part if index is None else f"{part}[{index}]")
        if not isinstance(current, dict) or part not in current:
            raise ValidationError(f"{source}: missing field {'.'.join(walked)}")
        current = current[part]
        if index is not None:
            if not isinstance(current, list) or len(current) <= index:
                raise ValidationError(f"{source}: {'.'.join(walked)} is missing (need a list)")
            current = current[index]
    return current


def _target(objectives: Any, source: str) -> float:
    """The one objective's target as a ratio (``target: 0.999`` or ``targetPercent: 99.9``)."""
    if isinstance(objectives, list) and len(objectives) > 1:
        raise ValidationError(f"{source}: spec.objectives has {len(objectives)} objectives; chaos-sre "
                              "judges one per SLO file: write one file per objective")
    if not isinstance(objectives, list) or not objectives:
        raise ValidationError(f"{source}: spec.objectives[0] is missing (need a list)")
    objective = _mapping(objectives[0], "spec.objectives[0]", source)
    if "target" in objective and "targetPercent" in objective:
        raise ValidationError(f"{source}: spec.objectives[0] sets both target and targetPercent; "
                              "keep one")
    if "targetPercent" in objective:
        field, value = "spec.objectives[0].targetPercent", objective["targetPercent"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 < value < 100:
            raise ValidationError(
                f"{source}: {field} is a percentage above 1 and below 100 (99.9 for 99.9 %), got "
                f"{value!r}" + ("; for a ratio write target: " + repr(value)
                                if isinstance(value, int | float) and 0 < value <= 1 else ""))
        return float(value) / 100.0
    if "target" not in objective:
        raise ValidationError(f"{source}: missing field spec.objectives[0].target")
    value = objective["target"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValidationError(f"{source}: spec.objectives[0].target must be between 0 and 1 "
                              f"(exclusive, e.g. 0.999), got {value!r}")
    return float(value)


def _window(document: dict[str, Any], source: str) -> float:
    """The one rolling window's length in seconds."""
    windows = _get(document, "spec.timeWindow", source)
    if isinstance(windows, list) and len(windows) > 1:
        raise ValidationError(f"{source}: spec.timeWindow has {len(windows)} windows; an SLO has one")
    window = _mapping(_get(document, "spec.timeWindow[0]", source), "spec.timeWindow[0]", source)
    if window.get("isRolling", True) is not True:
        raise ValidationError(f"{source}: spec.timeWindow[0] is a calendar window (isRolling: "
                              "false); chaos-sre judges rolling windows: set isRolling: true")
    return parse_duration(_get(window, "duration", f"{source}: spec.timeWindow[0]"),
                          f"{source}: spec.timeWindow[0].duration")


def _budgeting_method(document: dict[str, Any], source: str) -> None:
    method = _mapping(document.get("spec"), "spec", source).get("budgetingMethod", "Occurrences")
    if method not in BUDGETING_METHODS:
        raise ValidationError(f"{source}: spec.budgetingMethod {method!r} is not supported; chaos-sre "
                              "counts good requests over all requests (Occurrences): a run of "
                              "minutes cannot say which timeslices of the window turn bad")


def _paths(spec: dict[str, Any], source: str) -> tuple[tuple[str, int], ...]:
    field = "spec.indicator.spec.ratioMetric.total.metricSource.spec.paths"
    raw = spec.get("paths", [{"path": "/", "weight": 1}])
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{source}: {field} must be a non-empty list")
    paths = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) \
                or not item["path"].startswith("/"):
            raise ValidationError(f"{source}: {field}[{index}].path must be a string starting with /")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 1000:
            raise ValidationError(f"{source}: {field}[{index}].weight must be a whole number 1-1000")
        paths.append((item["path"], weight))
    return tuple(paths)


def parse_slo(document: Any, source: str) -> SLODefinition:
    """Validate a loaded SLO document and return its definition."""
    if not isinstance(document, dict):
        raise ValidationError(f"{source}: not an SLO document (expected a mapping)")
    if document.get("kind") != "SLO":
        raise ValidationError(f"{source}: kind must be SLO, got {document.get('kind')!r}")
    name = _get(document, "metadata.name", source)
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{source}: metadata.name must be a non-empty string")
    _budgeting_method(document, source)
    window = _window(document, source)
    target = _target(_get(document, "spec.objectives", source), source)
    base = "spec.indicator.spec.ratioMetric"
    ratio = _mapping(_get(document, base, source), base, source)
    if "bad" in ratio:
        raise ValidationError(f"{source}: {base}.bad is not supported; declare good (and total) "
                              "requests: chaos-sre's sampler classifies each request itself")
    total = _mapping(_get(ratio, "total.metricSource", f"{source}: {base}"),
                     f"{base}.total.metricSource", source)
    if total.get("type") != SOURCE_TYPE:
        raise ValidationError(f"{source}: spec.indicator.spec.ratioMetric.total.metricSource.type "
                              f"must be {SOURCE_TYPE}, got {total.get('type')!r}")
    total_spec = _mapping(total.get("spec"), f"{base}.total.metricSource.spec", source)
    good = _mapping(ratio.get("good"), f"{base}.good", source)
    good_source = _mapping(good.get("metricSource"), f"{base}.good.metricSource", source)
    good_spec = _mapping(good_source.get("spec"), f"{base}.good.metricSource.spec", source)
    timeout = parse_duration(total_spec.get("timeout", "2s"),
                             f"{source}: {base}.total.metricSource.spec.timeout")
    threshold = good_spec.get("latencyThreshold")
    latency = None if threshold is None else parse_duration(
        threshold, f"{source}: {base}.good.metricSource.spec.latencyThreshold")
    if latency is not None and latency > timeout:
        raise ValidationError(f"{source}: {base}.good.metricSource.spec.latencyThreshold "
                              "must not exceed the request timeout")
    balancer = total_spec.get("loadBalancer")
    if balancer is not None and not isinstance(balancer, str):
        raise ValidationError(f"{source}: {base}.total.metricSource.spec.loadBalancer must be a name")
    return SLODefinition(name=name, target=target, window_seconds=window,
                         paths=_paths(total_spec, source), timeout_seconds=timeout,
                         latency_threshold_seconds=latency, load_balancer=balancer, source=source)


def load_slo(path: str | Path) -> SLODefinition:
    """Read and validate the SLO file at ``path`` (YAML or JSON)."""
    document = read_document(path, "SLO file")
    return parse_slo(document, str(path))
