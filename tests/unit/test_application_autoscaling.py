"""Application Auto Scaling's one engine in the lab (chaos_sre/lab/applicationautoscaling/
simulation.py), as pure logic: what capacity it sets on registration and by a policy."""

import pytest

from chaos_sre.lab.applicationautoscaling.simulation import wanted_capacity

NONE_SUSPENDED: dict[str, bool] = {}
OUT = {"DynamicScalingOutSuspended": True}
IN = {"DynamicScalingInSuspended": True}


@pytest.mark.parametrize(("capacity", "low", "high", "suspended", "expected"), [
    (0, 3, 9, NONE_SUSPENDED, 3),   # below the minimum: raised to it
    (12, 3, 9, NONE_SUSPENDED, 9),  # above the maximum: lowered to it
    (5, 3, 9, NONE_SUSPENDED, 5),   # inside: left alone
    (0, 3, 9, OUT | IN, 3),         # suspension does not matter to a registration
])
def test_a_registration_moves_the_capacity_into_its_range(capacity: int, low: int, high: int,
                                                          suspended: dict[str, bool],
                                                          expected: int) -> None:
    """RegisterScalableTarget "changes the resource's current capacity to a value that is inside
    of this range" (Application Auto Scaling API Reference, RegisterScalableTarget), whatever is
    suspended."""
    assert wanted_capacity(capacity, low, high, None, suspended) == expected


@pytest.mark.parametrize(("capacity", "demand", "suspended", "expected"), [
    (0, 0, NONE_SUSPENDED, 3),   # a count set below the minimum comes back up
    (0, 0, OUT, 0),              # ... unless scaling out is suspended (how a scale-to-zero holds)
    (12, 0, NONE_SUSPENDED, 9),  # above the maximum comes down
    (12, 0, IN, 12),             # ... unless scaling in is suspended
    (4, 7, NONE_SUSPENDED, 7),   # demand above the capacity scales out
    (4, 20, NONE_SUSPENDED, 9),  # ... up to the maximum
    (4, 7, OUT, 4),              # ... not while scaling out is suspended
    (6, 2, NONE_SUSPENDED, 6),   # low demand: no scale-in (not simulated)
])
def test_a_policy_acts_within_range_and_respects_suspension(capacity: int, demand: int,
                                                            suspended: dict[str, bool],
                                                            expected: int) -> None:
    """Target tracking between min 3 and max 9 ("Suspend and resume scaling for Application Auto
    Scaling": DynamicScalingInSuspended and DynamicScalingOutSuspended stop the policies'
    scale-in and scale-out)."""
    assert wanted_capacity(capacity, 3, 9, demand, suspended) == expected
