"""What a lab service's simulation is, and how the lab finds them.

Each lab service package may have a ``simulation`` module with ``TICK_ORDER``
(an int: the order of the services' ticks) and ``create(context)``, which
returns the service's :class:`Simulation`; :func:`simulation_modules` finds them
(:mod:`chaos_sre.lab.core.services`), so a new service needs no edit in the core.
"""

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from chaos_sre.lab.core.services import service_modules
from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.timeline import Timeline


class Simulation(Protocol):
    """One AWS service's behaviour over time, over moto's models (the lab lock is held)."""

    def tick(self, now: float) -> None:
        """Advance the service to ``now`` (monotonic seconds)."""

    def status(self) -> dict[str, Any]:
        """Top-level entries of ``lab status`` (``/__lab/status``) for this service."""


class Services(Protocol):
    """The other services, for a simulation that needs one of them."""

    def service(self, name: str) -> Any:
        """The simulation of lab service package ``name``."""

    def target_condition(self, target_id: str, now: float) -> tuple[str, str] | None:
        """("serving"|"booting"|"dead", AZ) of an IP target some service runs, else None."""


@dataclass
class SimulationContext:
    """What every simulation is made with: the lab's profile, clock and ground truth."""

    profile: Profile
    time_scale: float
    timeline: Timeline
    services: Services
    warm: bool = True
    """While the lab is seeded, everything is ready at once (no boot, no health-check passes)."""

    def scaled(self, aws_seconds: float) -> float:
        """Lab seconds for ``aws_seconds`` of AWS time."""
        return aws_seconds * self.time_scale


def simulation_modules() -> list[tuple[str, ModuleType]]:
    """(service name, its ``simulation`` module) for every lab service, in ``TICK_ORDER``."""
    return service_modules("simulation", order="TICK_ORDER")
