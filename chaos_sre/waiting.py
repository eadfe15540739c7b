"""One way to wait and one way to try again.

:func:`poll` waits for a state: it asks ``check`` every ``interval_seconds`` until it answers
done, for at most ``timeout_seconds`` - both in AWS seconds, played at the lab's time scale
(:mod:`chaos_sre.timescale`) - with a little jitter so that many waiters do not poll in step,
and fails with a :class:`WaitTimeout` naming what it waited for and what it saw last.

:func:`retry` makes a call again after an error ``retryable`` says may pass, with one backoff
for every caller: exponential from 0.1 s, doubling, at most 5 s, with full jitter ("Exponential
backoff and jitter", AWS Architecture Blog), for at most ``attempts`` tries or
``within_seconds``.
"""

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chaos_sre.errors import AWSError
from chaos_sre.timescale import wall_seconds

T = TypeVar("T")
BASE_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
JITTER = 0.1
"""Share of an interval a poll may be early or late by."""


class WaitTimeout(AWSError):
    """What was awaited did not come in time (AWS did not reach the state)."""


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``attempt + 1``: full jitter over 0.1 s doubling, at most 5 s."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** attempt)
    return (rng or random).uniform(0, ceiling)


def retry(call: Callable[[], T], *, retryable: Callable[[AWSError], bool],
          attempts: int | None = None, within_seconds: float | None = None) -> T:
    """``call()``, made again after an AWSError ``retryable`` accepts, with :func:`backoff`,
    for at most ``attempts`` tries and ``within_seconds`` (wall seconds); the last error is
    raised as it came."""
    deadline = None if within_seconds is None else time.monotonic() + within_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except AWSError as exc:
            pause = backoff(attempt)
            out_of_tries = attempts is not None and attempt >= attempts
            out_of_time = deadline is not None and time.monotonic() + pause > deadline
            if not retryable(exc) or out_of_tries or out_of_time:
                raise
        time.sleep(pause)


def poll(check: Callable[[], tuple[bool, T]], *, what: str, timeout_seconds: float,
         interval_seconds: float, describe: Callable[[T], str] = str,
         aws_time: bool = True) -> T:
    """Ask ``check`` - ``(done, what it saw)`` - until it is done; return what it saw last.

    ``timeout_seconds`` and ``interval_seconds`` are AWS seconds (wall seconds with
    ``aws_time=False``). Past the timeout, :class:`WaitTimeout`: ``WHAT not within N s (LAST)``,
    with ``describe(last)``.
    """
    timeout = wall_seconds(timeout_seconds) if aws_time else timeout_seconds
    interval = wall_seconds(interval_seconds) if aws_time else interval_seconds
    deadline = time.monotonic() + timeout
    while True:
        done, seen = check()
        if done:
            return seen
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what} not within {timeout_seconds:g} s ({describe(seen)})",
                              operation="wait")
        pause = interval * random.uniform(1 - JITTER, 1 + JITTER)
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
