"""Application Auto Scaling in the lab: one engine for every scalable resource.

moto stores scalable targets and policies but acts on nothing. The lab does what the Application
Auto Scaling User Guide documents, for every service that owns scalable targets (ECS services'
desired count, DynamoDB tables' and GSIs' capacity, and any lab service that implements
:class:`ScalableResource`; the owner is the lab service named as the target's namespace):

* RegisterScalableTarget "changes the resource's current capacity to a value that is inside of
  this range" at once (suspension does not matter: :func:`registered`, from the moto patch);
* every evaluation period (one minute, time-scaled), a target with a policy is brought up to its
  minimum and, as far as its owner's demand asks (target tracking: DynamoDB's consumed capacity
  above the target utilization; an ECS service's demand is nothing), up to its maximum - unless
  ``DynamicScalingOutSuspended``; a capacity above the maximum comes down to it unless
  ``DynamicScalingInSuspended``. Scale-in on low utilization is not simulated.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chaos_sre.lab.applicationautoscaling.settings import TIMINGS, ScalingTimings
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext

TICK_ORDER = 45
"""After the services that own scalable resources: a policy sees their state of this tick."""
REGISTERED = "RegisterScalableTarget"
BY_POLICY = "target tracking policy"


class ScalableResource(Protocol):
    """What a lab service owning scalable targets (its name is their namespace) implements."""

    def scalable_capacity(self, target: Any) -> int | None:
        """The current capacity of ``target``'s resource; None when it has none to scale (gone,
        on demand, a dimension the service does not scale)."""

    def scalable_demand(self, target: Any, policy: Mapping[str, Any], capacity: int) -> int:
        """The capacity ``policy`` (its target tracking configuration) asks for now (0: none
        beyond the minimum); called once per evaluation period."""

    def set_scalable_capacity(self, target: Any, capacity: int, previous: int, reason: str) -> None:
        """Application Auto Scaling changes the resource's capacity from ``previous``."""


def _owner(context: SimulationContext, target: Any) -> ScalableResource | None:
    owner = context.services.find_service(str(target.service_namespace))
    return owner if owner is not None and hasattr(owner, "scalable_capacity") else None


def _policy(target: Any) -> dict[str, Any] | None:
    """The target tracking configuration of the target's policy, if it has one."""
    for policy in moto_backend("applicationautoscaling").policies.values():
        if (policy.resource_id, policy.scalable_dimension) == (target.resource_id, target.scalable_dimension):
            return dict(policy.target_tracking_scaling_policy_configuration or {})
    return None


def wanted_capacity(capacity: int, low: int, high: int, demand: int | None,
                    suspended: Mapping[str, Any]) -> int:
    """The capacity Application Auto Scaling sets: on registration (``demand`` None) ``capacity``
    moved into [low, high]; by a policy, up to max(low, demand) unless scaling out is suspended
    and down to ``high`` unless scaling in is."""
    if demand is None:
        return min(max(capacity, low), high)
    wanted = capacity
    if not suspended.get("DynamicScalingOutSuspended"):
        wanted = max(capacity, min(max(low, demand), high))
    if capacity > high and not suspended.get("DynamicScalingInSuspended"):
        wanted = high
    return wanted


@dataclass
class ApplicationAutoScaling:
    """Scalable targets over time: each evaluation period, each policy acts."""

    context: SimulationContext
    timings: ScalingTimings = TIMINGS
    _next_evaluation: float = 0.0

    def registered(self, target: Any) -> None:
        """RegisterScalableTarget created or updated ``target``: its capacity moves into range."""
        self._scale(target, REGISTERED)

    def _scale(self, target: Any, reason: str) -> None:
        owner = _owner(self.context, target)
        capacity = None if owner is None else owner.scalable_capacity(target)
        if owner is None or capacity is None:
            return
        demand = None
        if reason == BY_POLICY:
            policy = _policy(target)
            if policy is None:
                return
            demand = owner.scalable_demand(target, policy, capacity)
        low = int(target.min_capacity) if target.min_capacity is not None else 0
        high = int(target.max_capacity) if target.max_capacity is not None else max(capacity, low)
        wanted = wanted_capacity(capacity, low, high, demand, target.suspended_state or {})
        if wanted != capacity:
            owner.set_scalable_capacity(target, wanted, capacity, reason)

    def status(self) -> dict[str, Any]:
        """Nothing of its own: each owner shows its targets."""
        return {}

    def tick(self, now: float) -> None:
        """Every evaluation period, every policy acts on its target."""
        if now < self._next_evaluation:
            return
        self._next_evaluation = now + self.context.scaled(self.timings.evaluation_seconds)
        for targets in list(moto_backend("applicationautoscaling").targets.values()):
            for target in list(targets.values()):
                self._scale(target, BY_POLICY)


def create(context: SimulationContext) -> ApplicationAutoScaling:
    """Application Auto Scaling's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return ApplicationAutoScaling(context)
