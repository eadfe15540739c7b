"""The lab's ground truth: what it did, what broke, and what clients saw.

Served as JSON at ``GET $CHAOS_SRE_TARGET_URL/__lab/timeline``. Tests and
benchmarks compare what chaos-sre *measured* against this record of what
*happened*. All times are epoch seconds.
"""

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
DEGRADED = "200-"
"""Causes that start so are degraded successes: good requests, listed under ``degraded``."""
FALLBACK = DEGRADED + "api-fallback"
"""A web page served without service ``api``."""


def is_good(cause: str) -> bool:
    """Whether a request counted with ``cause`` was answered well (``ok`` or degraded)."""
    return cause == OK or cause.startswith(DEGRADED)


@dataclass(frozen=True)
class LabEvent:
    """One observed change: a fault, a recovery or a control-plane action."""

    at: float
    kind: str
    resource: str
    detail: dict[str, Any] = field(default_factory=dict)


class Timeline:
    """Thread-safe recorder of lab events and request outcomes."""

    def __init__(self, *, clock: Any = time.time, fault_kinds: frozenset[str] = frozenset()) -> None:
        self._clock = clock
        self.fault_kinds = fault_kinds
        """Event kinds that are faults (each lab service's ``fault_kinds``), listed under
        ``faults``."""
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._events: list[LabEvent] = []
        self._causes: Counter[str] = Counter()
        self._per_second: dict[int, Counter[str]] = {}
        self._first_failure: float | None = None
        self._last_failure: float | None = None
        self._since = self._clock()

    def reset(self) -> None:
        """Forget every event and request counted so far."""
        with self._lock:
            self._reset_locked()

    def mark_start(self) -> None:
        """Count from now: a prepared lab starts serving (its seeding events stay recorded)."""
        with self._lock:
            self._since = self._clock()

    def event(self, kind: str, resource: str, **detail: Any) -> None:
        """Record that ``kind`` happened to ``resource`` now."""
        with self._lock:
            self._events.append(LabEvent(self._clock(), kind, resource, detail))

    def now(self) -> float:
        """The timeline's clock now (a request's arrival, counted once it is answered)."""
        return self._clock()

    def request(self, cause: str, at: float | None = None) -> None:
        """Count one request that arrived ``at`` (default: now); ``cause`` is ``ok``, a degraded
        success, or why it failed."""
        now = self._clock() if at is None else at
        second = int(now)
        with self._lock:
            self._causes[cause] += 1
            bucket = self._per_second.get(second)
            if bucket is None:
                bucket = self._per_second[second] = Counter()
            bucket[cause] += 1
            if not is_good(cause):
                if self._first_failure is None:
                    self._first_failure = now
                self._last_failure = now

    def first_fault_since(self, moment: float) -> float | None:
        """When the first fault the lab observed at or after ``moment`` happened (None: none yet)."""
        with self._lock:
            return next((e.at for e in self._events
                         if e.kind in self.fault_kinds and e.at >= moment), None)

    def snapshot(self) -> dict[str, Any]:
        """The timeline as a JSON-ready dict."""
        with self._lock:
            events = [asdict(e) for e in self._events]
            causes = dict(self._causes)
            per_second = [(s, dict(b)) for s, b in sorted(self._per_second.items())]
            first, last, since = self._first_failure, self._last_failure, self._since
        series = [{"second": s, "total": sum(b.values()),
                   "failed": sum(n for c, n in b.items() if not is_good(c)), "causes": b}
                  for s, b in per_second]
        total = sum(causes.values())
        degraded = {cause: causes.pop(cause) for cause in list(causes) if cause.startswith(DEGRADED)}
        ok = causes.pop(OK, 0) + sum(degraded.values())
        return {
            "since": since,
            "faults": [e for e in events if e["kind"] in self.fault_kinds],
            "events": events,
            "requests": {"total": total, "ok": ok, "failed": total - ok, "by_cause": causes,
                         "degraded": degraded},
            "series": series,
            "impact": {"first_failure": first, "last_failure": last},
        }
