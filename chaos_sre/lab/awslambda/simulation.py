"""Lambda's invocations over time (:mod:`chaos_sre.lab.awslambda.invocations`): the functions moto
holds, with the reserved concurrency moto holds, invoked through the lab's API
(:mod:`chaos_sre.lab.awslambda.api`); asynchronous events are tried again as Lambda retries them,
and ``lab status`` counts each function's invocations, throttles, errors and cold starts. FIS's
extension faults (:mod:`chaos_sre.lab.awslambda.injected`) delay or fail invocations; each one
started is a fault on the lab's timeline (``lambda-invocation-fault-injected``)."""

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, cast

from chaos_sre.lab.awslambda.injected import InjectedFault, applied
from chaos_sre.lab.awslambda.invocations import Concurrency, Event, Invocation, next_attempt
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.core.simulation import SimulationContext

TICK_ORDER = 60


@dataclass
class Functions:
    """The account's functions and their invocations."""

    context: SimulationContext
    pool: Concurrency = field(default_factory=Concurrency)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    provisioned: dict[str, dict[str, int]] = field(default_factory=dict)
    """Function -> qualifier (version or alias) -> its provisioned concurrency (moto has none)."""
    _minute: dict[str, Counter[str]] = field(default_factory=dict)
    """This minute's counts per function, for CloudWatch (:mod:`chaos_sre.lab.awslambda.metrics`)."""
    _events: list[tuple[float, Event]] = field(default_factory=list)
    """(when to try next, AWS seconds; the event) of asynchronous invocations."""
    _lock: threading.RLock = field(default_factory=threading.RLock)
    """The application's invocations come from the endpoint's threads, outside the lab lock."""
    _injected: dict[str, list[InjectedFault]] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def aws_now(self) -> float:
        """The lab's clock in AWS seconds."""
        return time.monotonic() / self.context.time_scale

    def invoke(self, name: str) -> Invocation:
        """Start an invocation of ``name`` now (with moto's reserved concurrency), or throttle it."""
        with self._lock:
            self._sync(name)
            now = self.aws_now()
            fis = applied(self._injected.get(name, []), now, self._rng)
            outcome = self.pool.invoke(name, now, fis.delay_seconds, fis.runs)
            if outcome.started and fis.error:
                outcome = replace(outcome, error="Unhandled")
            counts = self.counts.setdefault(name, Counter())
            counts["invocations" if outcome.started else "throttles"] += 1
            counts["cold_starts"] += outcome.cold
            counts["errors"] += bool(outcome.error)
            minute = self._minute.setdefault(name, Counter())
            minute["Invocations" if outcome.started else "Throttles"] += 1
            minute["Errors"] += bool(outcome.error)
            minute["ConcurrentExecutions"] = max(minute["ConcurrentExecutions"],
                                                 self.pool.in_flight(name, now))
            return outcome

    def drain_minute(self) -> dict[str, Counter[str]]:
        """Each invoked function's counts since the last call (``Invocations``, ``Throttles``,
        ``ConcurrentExecutions`` - the most in flight at once), reset."""
        with self._lock:
            drained, self._minute = self._minute, {}
            return drained

    def queue(self, name: str) -> None:
        """An asynchronous invocation (InvocationType Event): tried now, then as Lambda retries."""
        with self._lock:
            now = self.aws_now()
            self._events.append((now, Event(name, now)))

    def tick(self, now: float) -> None:
        with self._lock:
            due, self._events = ([e for e in self._events if e[0] <= self.aws_now()],
                                 [e for e in self._events if e[0] > self.aws_now()])
        for _, event in due:
            outcome = self.invoke(event.function)
            following = next_attempt(event, outcome, bool(outcome.error),
                                     self.aws_now() - event.received_at)
            if event.discarded:
                self.counts[event.function]["discarded"] += 1
                self.context.timeline.event("lambda-event-discarded", event.function)
            elif following is not None:
                with self._lock:
                    self._events.append((event.received_at + following, event))

    def inject(self, name: str, fault: InjectedFault) -> None:
        """FIS's extension on function ``name`` starts applying ``fault`` (at its ``active_from``)."""
        with self._lock:
            self._injected.setdefault(name, []).append(fault)
        self.context.timeline.event("lambda-invocation-fault-injected", name,
                                    effect="error" if fault.error else "delay", percentage=fault.percentage)

    def clear(self, name: str, holder: str) -> None:
        """FIS's action ``holder`` ended: its fault on function ``name`` no longer applies."""
        with self._lock:
            self._injected[name] = [f for f in self._injected.get(name, []) if f.holder != holder]
        self.context.timeline.event("lambda-invocation-fault-cleared", name)

    def provisioned_total(self, name: str) -> int:
        """The provisioned concurrency of every version and alias of function ``name``."""
        return sum(self.provisioned.get(name, {}).values())

    def reservation_changed(self, name: str, previous: int | None, reserved: int | None) -> None:
        """Record the change on the timeline: a lower cap than before is a fault."""
        if previous == reserved:
            return
        lowered = reserved is not None and (previous is None or reserved < previous)
        self.context.timeline.event(
            "lambda-reserved-concurrency-lowered" if lowered else "lambda-reserved-concurrency-raised",
            name, previous=previous, reserved=reserved)

    def status(self) -> dict[str, Any]:
        functions = {f.function_name: f for f in moto_backend("lambda").list_functions()}
        return {"lambda_functions": {
            name: {"reserved_concurrency": None if f.reserved_concurrency is None else int(f.reserved_concurrency),
                   **dict(self.counts.get(name, Counter()))}  # a copy, read under the GIL
            for name, f in sorted(functions.items())}}

    def _sync(self, name: str) -> None:
        function = moto_backend("lambda").get_function(name)
        self.pool.add(name)
        reserved = function.reserved_concurrency
        self.pool.reserve(name, None if reserved is None else int(reserved), check=False)


def lab_functions() -> Functions:
    """This lab's Lambda (for its API handlers, under the lab lock)."""
    return cast(Functions, cast(Any, hooks()).service("lambda"))


def create(context: SimulationContext) -> Functions:
    """Lambda's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return Functions(context)
