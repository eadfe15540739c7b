"""Lambda's invocation model in the lab (pure: no lab, no AWS call): concurrency pools, throttles,
cold starts and asynchronous retries, as the Lambda Developer Guide documents them."""

import itertools

import pytest

from chaos_sre.lab.awslambda.invocations import (
    ACCOUNT_LIMIT,
    MAX_EVENT_AGE,
    RESERVED_LIMIT,
    Concurrency,
    Event,
    Invocation,
    ReservationRefused,
    Timings,
    attempts,
)

TIMINGS = Timings(duration_seconds=1.0, cold_start_seconds=0.5, keep_warm_seconds=10.0)


def test_reserved_concurrency_caps_a_function_and_zero_throttles_every_invocation() -> None:
    """"Configuring reserved concurrency": a function with reserved concurrency N runs at most N
    at once - the next invocation is throttled (ReservedFunctionConcurrentInvocationLimitExceeded,
    HTTP 429 to a synchronous caller) - and 0 throttles them all; without a reservation it runs
    again from the shared pool."""
    pool = Concurrency()
    pool.add("worker", TIMINGS)
    pool.reserve("worker", 2)
    assert [pool.invoke("worker", 0.0).started for _ in range(3)] == [True, True, False]
    assert pool.invoke("worker", 0.0).throttle_reason == RESERVED_LIMIT
    assert pool.in_flight("worker", 1.6) == 0  # cold: 0.5 s of initialization, then 1 s
    pool.reserve("worker", 0)
    assert pool.invoke("worker", 2.0) == Invocation("worker", False, throttle_reason=RESERVED_LIMIT)
    pool.reserve("worker", None)
    assert pool.invoke("worker", 2.0).started


def test_an_idle_environment_is_reused_warm_and_a_new_one_starts_cold() -> None:
    """"Lambda execution environment lifecycle": an environment that finished its invocation
    serves the next one without initialization; with none idle (all busy, or let go), the
    invocation waits for a new environment's initialization first."""
    pool = Concurrency()
    pool.add("worker", TIMINGS)
    first = pool.invoke("worker", 0.0)
    assert first.cold and first.ends_at == 1.5
    concurrent = pool.invoke("worker", 1.0)
    assert concurrent.cold  # the first environment is still busy
    warm = pool.invoke("worker", 2.0)
    assert not warm.cold and warm.ends_at == 3.0
    assert pool.invoke("worker", 30.0).cold  # both were let go after 10 s idle


def test_the_account_keeps_100_unreserved_and_unreserved_functions_share_the_rest() -> None:
    """"Lambda quotas": 1,000 concurrent executions per account and Region; "Configuring reserved
    concurrency": a reservation that would leave fewer than 100 unreserved is refused, and the
    functions without a reservation share what is left - past it they are throttled with
    ConcurrentInvocationLimitExceeded, while a function with its own reservation still runs."""
    pool = Concurrency()
    for name in ("api", "reports", "uploads"):
        pool.add(name, TIMINGS)
    pool.reserve("reports", 800)
    with pytest.raises(ReservationRefused, match=r"below its minimum value of \[100\]"):
        pool.reserve("uploads", 101)
    pool.reserve("uploads", 100)
    assert pool.unreserved() == 100
    assert all(pool.invoke("api", 0.0).started for _ in range(100))
    assert pool.invoke("api", 0.0).throttle_reason == ACCOUNT_LIMIT
    assert pool.invoke("uploads", 0.0).started


def test_a_failed_asynchronous_invocation_is_tried_twice_more_then_discarded() -> None:
    """"Error handling and automatic retries in Lambda": a function error is retried twice, one
    minute after the first attempt and two minutes after the second; then the event goes to the
    on-failure destination."""
    failing = itertools.repeat((Invocation("worker", True, 1.0), True))
    assert list(attempts(Event("worker", 0.0), failing)) == [
        (0.0, "failed"), (60.0, "failed"), (180.0, "failed"), (180.0, "discarded")]
    then_ok = iter([(Invocation("worker", True, 1.0), True), (Invocation("worker", True, 1.0), False)])
    assert list(attempts(Event("worker", 0.0), then_ok)) == [(0.0, "failed"), (60.0, "succeeded")]


def test_a_throttled_asynchronous_invocation_backs_off_up_to_five_minutes_for_six_hours() -> None:
    """Throttled events are retried with exponential backoff from 1 s up to 5 minutes, for up to
    6 hours ("Error handling and automatic retries in Lambda"), then discarded."""
    throttled = itertools.repeat((Invocation("worker", False, throttle_reason=RESERVED_LIMIT), False))
    played = list(attempts(Event("worker", 0.0), throttled))
    times = [at for at, what in played if what == "throttled"]
    waits = [b - a for a, b in itertools.pairwise(times)]
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0] and max(waits) == 300.0
    assert played[-1][1] == "discarded" and MAX_EVENT_AGE - 300.0 < played[-1][0] <= MAX_EVENT_AGE
