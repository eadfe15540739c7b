"""The lab's DynamoDB target tracking, as pure logic: what it counts and when it scales out."""

import random

from chaos_sre.lab.dynamodb.capacity import Capacity, CapacitySettings, ConsumedMinutes

TARGET_UTILIZATION = 70.0


def test_throttled_calls_consume_no_capacity() -> None:
    """A throttled request consumes no capacity: target tracking tracks ConsumedReadCapacityUnits
    over the provisioned capacity ("target utilization is the ratio of consumed capacity to
    provisioned capacity", https://docs.aws.amazon.com/config/latest/developerguide/dynamodb-autoscaling-enabled.html),
    so an SDK's retries of throttled calls never raise it."""
    capacity = Capacity(burst_seconds=0)
    capacity.apply("sessions", None, CapacitySettings(provisioned=True, read=10, write=10))
    rolls = random.Random(7)
    served = sum(capacity.attempt("sessions", "read", rolls.random()) is None for _ in range(2000))
    assert 0 < served < 200
    assert capacity.consumed("sessions", None, "read") == served
    assert capacity.consumed("sessions", None, "write") == 0


def test_scale_out_needs_two_consecutive_minutes_above_the_target() -> None:
    """DynamoDB auto scaling "increases provisioned capacity when utilization exceeds [the target]
    for at least 2 consecutive minutes" (https://www.repost.aws/knowledge-center/dynamodb-auto-scaling):
    a burst of retries shorter than a minute leaves the capacity alone, two full minutes above
    the target raise it to what brings the last minute's consumption to the target."""
    minutes = ConsumedMinutes()
    minutes.close(0, now=0.0, capacity=100)
    assert minutes.scale_out(TARGET_UTILIZATION) == 0
    minutes.close(25 * 60, now=60.0, capacity=100)   # 25 units/s: below 70 %
    minutes.close(25 * 60 + 92 * 60, now=120.0, capacity=100)   # one minute at 92 %
    assert minutes.scale_out(TARGET_UTILIZATION) == 0
    minutes.close(25 * 60 + 92 * 60 + 25 * 60, now=180.0, capacity=100)
    assert minutes.scale_out(TARGET_UTILIZATION) == 0
    minutes.close(25 * 60 + 92 * 60 + 25 * 60 + 80 * 60, now=240.0, capacity=100)
    minutes.close(25 * 60 + 92 * 60 + 25 * 60 + 80 * 60 + 91 * 60, now=300.0, capacity=100)
    assert minutes.scale_out(TARGET_UTILIZATION) == 130   # ceil(91 / 0.7)


def test_utilization_is_judged_against_each_minute_s_own_capacity() -> None:
    """A minute that consumed 9 units/s under a capacity of 10 ran at 90 %; the same 9 units/s
    under the restored 100 are 9 %: a minute of throttling before a restore does not count as a
    minute above the target after it."""
    minutes = ConsumedMinutes()
    minutes.close(0, now=0.0, capacity=10)
    minutes.close(9 * 60, now=60.0, capacity=10)
    minutes.close(18 * 60, now=120.0, capacity=100)
    assert minutes.scale_out(TARGET_UTILIZATION) == 0
