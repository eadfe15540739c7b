"""chaos-sre's one way to wait and one way to try again (chaos_sre/waiting.py), in process."""

import random

import pytest

from chaos_sre import waiting
from chaos_sre.errors import AWSError
from chaos_sre.waiting import WaitTimeout, backoff, poll, retry


def test_the_backoff_doubles_from_a_tenth_of_a_second_with_full_jitter_up_to_five() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(5.0, 0.1 * 2 ** attempt)
        draws = [backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling  # the whole range is used (full jitter)


def test_retry_repeats_what_may_pass_and_stops_at_what_may_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "MAX_BACKOFF_SECONDS", 0.001)
    answers: list[object] = [AWSError("t", code="Throttling"), AWSError("t", code="Throttling"), "ok"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, AWSError):
            raise answer
        return str(answer)

    assert retry(call, retryable=lambda e: e.code == "Throttling", attempts=3) == "ok"
    denied = AWSError("d", code="AccessDenied")
    calls: list[int] = []

    def refused() -> str:
        calls.append(1)
        raise denied

    with pytest.raises(AWSError) as raised:
        retry(refused, retryable=lambda e: e.code == "Throttling", attempts=5)
    assert raised.value is denied and len(calls) == 1
    with pytest.raises(AWSError, match="t"):
        retry(lambda: (_ for _ in ()).throw(AWSError("t", code="Throttling")),
              retryable=lambda e: True, attempts=2)


def test_poll_returns_what_it_saw_and_names_what_it_waited_for() -> None:
    seen = iter(range(10))
    assert poll(lambda: (lambda n: (n >= 3, n))(next(seen)), what="three", timeout_seconds=5,
                interval_seconds=0.001, aws_time=False) == 3
    with pytest.raises(WaitTimeout, match=r"^the table ACTIVE not within 0.05 s \(UPDATING\)$"):
        poll(lambda: (False, "UPDATING"), what="the table ACTIVE", timeout_seconds=0.05,
             interval_seconds=0.01, aws_time=False)
