"""What a lab service's simulation is, and how the lab finds them.

Each lab service package may have a ``simulation`` module with ``TICK_ORDER``
(an int: the order of the services' ticks) and ``create(context)``, which
returns the service's :class:`Simulation`; :mod:`chaos_sre.lab.core.services` finds
them, so a new service needs no edit in the core.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.timeline import Timeline

SERVING = "serving"
BOOTING = "booting"
DEAD = "dead"
UNREACHABLE = "unreachable"
"""What the load balancer finds at a target: it answers, it is still starting, it is gone, or its
subnet cannot be reached (the last only for instances, whose network the web tier evaluates)."""


class Simulation(Protocol):
    """One AWS service's behaviour over time, over moto's models (the lab lock is held)."""

    def tick(self, now: float) -> None:
        """Advance the service to ``now`` (monotonic seconds)."""

    def status(self) -> dict[str, Any]:
        """Top-level entries of ``lab status`` (``/__lab/status``) for this service."""


class Services(Protocol):
    """The other services, for a simulation that needs one of them."""

    def service(self, name: str) -> Any:
        """The simulation of lab service ``name``."""

    def find_service(self, name: str) -> Any | None:
        """The simulation of lab service ``name``, or None when the lab has none."""

    def target_condition(self, target_id: str, now: float) -> tuple[str, str] | None:
        """(:data:`SERVING` | :data:`BOOTING` | :data:`DEAD`, AZ) of an IP target some service runs,
        else None."""


@dataclass
class SimulationContext:
    """What every simulation is made with: the lab's profile, clock and ground truth."""

    profile: Profile
    time_scale: float
    timeline: Timeline
    services: Services
    warm: bool = True
    """While the lab is seeded, everything is ready at once (no boot, no health-check passes)."""
    api_url: str = ""
    """The lab's AWS API, once it serves: for a simulation that calls other services as AWS does
    (FIS's SSM automations)."""
    attach_policy: Callable[[dict[str, Any] | None, str], None] = lambda document, principal: None
    """Hold the calls signed with an access key id to an IAM policy document, once the API
    serves (:meth:`chaos_sre.lab.core.access_denied.AccessDenials.attach`): for a service that
    acts with a role's session (FIS)."""

    def scaled(self, aws_seconds: float) -> float:
        """Lab seconds for ``aws_seconds`` of AWS time."""
        return aws_seconds * self.time_scale

