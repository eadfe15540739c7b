"""The lab's control plane: every service's simulation, ticked together under the lab lock.

moto stores the AWS resources; the simulations make time pass over them the way
AWS does, scaled by the lab's time scale. :class:`Dynamics` creates one per lab
service (:mod:`chaos_sre.lab.core.simulation`), ticks them every
``TICK_SECONDS`` in their ``TICK_ORDER``, merges their ``lab status`` entries,
creates their metric publishers (each service's ``metrics`` module), and is what
the services' moto patches call into (:func:`service`).
"""

import threading
import time
from typing import Any, Protocol

from chaos_sre.lab.core import patches
from chaos_sre.lab.core.services import service_modules
from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.simulation import Simulation, SimulationContext
from chaos_sre.lab.core.timeline import Timeline

TICK_SECONDS = 0.05


class Publisher(Protocol):
    """A background publisher of a service's CloudWatch metrics (a service's ``metrics`` module)."""

    def start(self) -> None:
        """Start publishing."""

    def stop(self) -> None:
        """Stop publishing."""


class Dynamics:
    """Time-scaled AWS control-plane behaviour over moto's models, one simulation per service."""

    def __init__(self, *, profile: Profile, time_scale: float, timeline: Timeline,
                 lock: threading.RLock) -> None:
        self.lock = lock
        self.context = SimulationContext(profile=profile, time_scale=time_scale, timeline=timeline,
                                         services=self)
        self._services: dict[str, Simulation] = {
            name: module.create(self.context)
            for name, module in service_modules("simulation", order="TICK_ORDER")}
        self._target_conditions: list[Any] = [
            s.target_condition for s in self._services.values() if hasattr(s, "target_condition")]
        """The services that run IP targets (read per target and tick, so found once)."""
        self._caller_routes: list[Any] = [
            s.caller_reaches for s in self._services.values() if hasattr(s, "caller_reaches")]
        """The services that say whether a caller's call leaves its network (EC2)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def warm(self) -> bool:
        """True while the lab is seeded: everything is ready at once."""
        return self.context.warm

    @warm.setter
    def warm(self, value: bool) -> None:
        self.context.warm = value

    def service(self, name: str) -> Any:
        """The simulation of lab service package ``name`` (``web``, ``rds``, ``dynamodb`` ...)."""
        return self._services[name]

    def find_service(self, name: str) -> Any | None:
        """The simulation of lab service package ``name``, or None when the lab has none."""
        return self._services.get(name)

    def target_condition(self, target_id: str, now: float) -> tuple[str, str] | None:
        """("serving"|"booting"|"dead", AZ) of an IP target some service runs (ECS tasks)."""
        for ask in self._target_conditions:
            answer = ask(target_id, now)
            if answer is not None:
                return answer
        return None

    def caller_reaches(self, signing_name: str) -> bool:
        """Whether the lab's caller's call to ``signing_name`` leaves its network (outside the
        lab lock: each service answers from its last tick)."""
        return all(reaches(signing_name) for reaches in self._caller_routes)

    def resume(self) -> None:
        """The lab starts serving (in a fork of a prepared lab, too): each simulation that counts
        time from the start (``resume``) does so from now."""
        for simulation in self._services.values():
            resume: Any = getattr(simulation, "resume", None)
            if resume is not None:
                resume()

    def publishers(self, api_url: str) -> list[Publisher]:
        """Every service's metric publishers (``metrics`` modules), for the lab's API at ``api_url``."""
        return [module.create(self.context, self._services[name], api_url)
                for name, module in service_modules("metrics")]

    def status(self) -> dict[str, Any]:
        """Every service's entries of ``lab status``."""
        with self.lock:
            merged: dict[str, Any] = {}
            for simulation in self._services.values():
                merged.update(simulation.status())
        return merged

    def tick(self) -> None:
        """Advance every simulation to now."""
        now = time.monotonic()
        with self.lock:
            for simulation in self._services.values():
                simulation.tick(now)

    # -- the loop -------------------------------------------------------------
    def start(self) -> None:
        """Install the services' moto patches and start ticking in a daemon thread."""
        patches.install(self)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lab-dynamics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def crashed(self) -> bool:
        """True when the ticker thread died (its traceback is in the lab log)."""
        return self._thread is not None and not self._thread.is_alive() and not self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self.tick()
