"""How Lambda runs invocations, as the lab plays them: concurrency, throttles, cold starts and the
retries of asynchronous invocations. Pure bookkeeping over a clock (AWS seconds), tested without
a lab; the lab's Lambda service drives it.

What AWS documents, and so the model:

* An account has 1,000 concurrent executions per Region by default ("Lambda quotas"). A function
  with reserved concurrency N never runs more than N at once, and those N are taken from the
  account's pool; Lambda keeps at least 100 unreserved, refusing a reservation that would leave
  fewer ("Configuring reserved concurrency": ``InvalidParameterValueException``). Reserved
  concurrency 0 throttles every invocation.
* An invocation past its function's reserved concurrency is throttled with
  ``ReservedFunctionConcurrentInvocationLimitExceeded``; one past the unreserved pool, which the
  functions without a reservation share, with ``ConcurrentInvocationLimitExceeded``. A
  synchronous caller gets HTTP 429 ``TooManyRequestsException`` ("Invoke", Lambda API
  Reference: Errors).
* An invocation runs in an execution environment; one that has finished its invocation is
  reused by the next. With none idle, Lambda makes a new one and the invocation first waits for
  its initialization, a cold start ("Lambda execution environment lifecycle"). How long an idle
  environment is kept is not documented: the lab keeps it ``keep_warm_seconds`` (an assumption).
* An asynchronous invocation that fails is retried twice, one minute after the first attempt
  and two minutes after the second; a throttled one is retried with exponential backoff from 1 s
  up to 5 minutes; an event older than 6 hours, or out of attempts, goes to the function's
  on-failure destination or dead-letter queue ("Error handling and automatic retries in
  Lambda", "Configuring error handling for asynchronous invocation").
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

ACCOUNT_CONCURRENCY = 1000
MINIMUM_UNRESERVED = 100
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
ERROR_RETRY_DELAYS = (60.0, 120.0)
"""AWS seconds before the second and the third attempt of a failed asynchronous invocation."""
THROTTLE_BACKOFF = (1.0, 300.0)
"""First and longest wait before a throttled asynchronous invocation is tried again."""
MAX_EVENT_AGE = 6 * 3600.0


class ReservationRefused(ValueError):
    """A reserved concurrency Lambda refuses (its message is Lambda's)."""


@dataclass(frozen=True)
class Timings:
    """A function's times (AWS seconds): its handler, its initialization, how long it stays warm."""

    duration_seconds: float = 0.05
    cold_start_seconds: float = 0.5
    keep_warm_seconds: float = 600.0


@dataclass(frozen=True)
class Invocation:
    """What became of one invocation: started (cold or warm) and when it ends, or throttled."""

    function: str
    started: bool
    ends_at: float = 0.0
    cold: bool = False
    throttle_reason: str = ""
    started_at: float = 0.0
    error: str = ""
    """The function error it ended with (``Unhandled``), or empty."""


@dataclass
class _Function:
    timings: Timings
    reserved: int | None = None
    running: list[float] = field(default_factory=list)
    """When each invocation in flight ends."""
    idle_until: list[float] = field(default_factory=list)
    """When each idle environment is let go."""


@dataclass
class Concurrency:
    """Every function of an account and Region, and the invocations in flight."""

    account_limit: int = ACCOUNT_CONCURRENCY
    _functions: dict[str, _Function] = field(default_factory=dict)
    _settled_at: float = float("-inf")
    """The clock of the last settling: settling again at the same moment changes nothing."""

    def add(self, name: str, timings: Timings = Timings()) -> None:
        self._functions.setdefault(name, _Function(timings))

    def reserve(self, name: str, reserved: int | None, check: bool = True) -> None:
        """PutFunctionConcurrency (a number) or DeleteFunctionConcurrency (None); ``check``:
        refuse a reservation that leaves fewer than 100 unreserved (off: the lab's Lambda API,
        which refused it already, tells the model)."""
        others = sum(f.reserved or 0 for n, f in self._functions.items() if n != name)
        if check and reserved is not None and self.account_limit - others - reserved < MINIMUM_UNRESERVED:
            raise ReservationRefused(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MINIMUM_UNRESERVED}].")
        self._functions[name].reserved = reserved

    def reserved(self, name: str) -> int | None:
        return self._functions[name].reserved

    def unreserved(self) -> int:
        """The pool the functions without a reservation share."""
        return self.account_limit - sum(f.reserved or 0 for f in self._functions.values())

    def in_flight(self, name: str, now: float) -> int:
        self._settle(now)
        return len(self._functions[name].running)

    def invoke(self, name: str, now: float, delay_seconds: float = 0.0, runs: bool = True) -> Invocation:
        """Start an invocation of ``name`` at ``now``, or throttle it; ``delay_seconds`` before its
        code starts and ``runs`` False (its code skipped) are FIS's extension's
        (:mod:`chaos_sre.lab.awslambda.injected`): the environment is held for them too."""
        self._settle(now)
        function = self._functions[name]
        if function.reserved is not None and len(function.running) >= function.reserved:
            return Invocation(name, False, throttle_reason=RESERVED_LIMIT)
        if function.reserved is None and self._unreserved_in_flight() >= self.unreserved():
            return Invocation(name, False, throttle_reason=ACCOUNT_LIMIT)
        cold = not function.idle_until
        if not cold:
            function.idle_until.pop(0)
        ends_at = (now + delay_seconds + (function.timings.duration_seconds if runs else 0.0)
                   + (function.timings.cold_start_seconds if cold else 0.0))
        function.running.append(ends_at)
        return Invocation(name, True, ends_at, cold, started_at=now)

    def _unreserved_in_flight(self) -> int:
        return sum(len(f.running) for f in self._functions.values() if f.reserved is None)

    def _settle(self, now: float) -> None:
        """Invocations that ended free their environments, idle until they are let go."""
        if now == self._settled_at:
            return
        self._settled_at = now
        for function in self._functions.values():
            ended = [at for at in function.running if at <= now]
            function.running = [at for at in function.running if at > now]
            function.idle_until = sorted(
                [until for until in function.idle_until if until > now]
                + [at + function.timings.keep_warm_seconds for at in ended
                   if at + function.timings.keep_warm_seconds > now])


@dataclass
class Event:
    """An asynchronous invocation's event: when Lambda got it and how its attempts went."""

    function: str
    received_at: float
    errors: int = 0
    throttles: int = 0
    discarded: bool = False


def next_attempt(event: Event, outcome: Invocation, failed: bool, at: float) -> float | None:
    """After an attempt of ``event`` made ``at`` AWS seconds after Lambda received it (its
    ``outcome``, and whether the started invocation failed): when, in AWS seconds after receipt,
    to try again; None when it is done - succeeded, or discarded to the on-failure destination,
    out of attempts or of age (``event.discarded``)."""
    if outcome.started and not failed:
        return None
    if not outcome.started:
        wait: float | None = min(THROTTLE_BACKOFF[0] * 2 ** event.throttles, THROTTLE_BACKOFF[1])
        event.throttles += 1
    else:
        wait = ERROR_RETRY_DELAYS[event.errors] if event.errors < len(ERROR_RETRY_DELAYS) else None
        event.errors += 1
    if wait is None or at + wait > MAX_EVENT_AGE:
        event.discarded = True
        return None
    return at + wait


def attempts(event: Event, outcomes: Iterator[tuple[Invocation, bool]]) -> Iterator[tuple[float, str]]:
    """Play ``event``'s attempts: (AWS seconds after it was received, what happened) for each -
    ``succeeded``, ``failed``, ``throttled`` - and last ``discarded`` (to the on-failure
    destination) when it runs out of attempts or of age; ``outcomes`` gives each attempt's."""
    at = 0.0
    for outcome, failed in outcomes:
        yield at, "throttled" if not outcome.started else ("failed" if failed else "succeeded")
        following = next_attempt(event, outcome, failed, at)
        if following is None:
            if event.discarded:
                yield at, "discarded"
            return
        at = following
