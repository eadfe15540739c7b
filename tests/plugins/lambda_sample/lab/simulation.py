"""Function ``worker``'s reserved concurrency over time: the timeline records a throttle (a
reserved concurrency of 0) as a fault, and ``lab status`` shows it."""

from typing import Any

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext

TICK_ORDER = 50


class Functions:
    """Watches the functions' reserved concurrency (moto holds it)."""

    def __init__(self, context: SimulationContext) -> None:
        self._timeline = context.timeline
        self._reserved: dict[str, int | None] = {}

    def _now(self) -> dict[str, int | None]:
        return {f.function_name: (None if f.reserved_concurrency is None
                                  else int(f.reserved_concurrency))
                for f in moto_backend("lambda").list_functions()}

    def tick(self, now: float) -> None:
        for name, reserved in self._now().items():
            if name in self._reserved and reserved != self._reserved[name]:
                kind = "lambda-function-throttled" if reserved == 0 else "lambda-concurrency-changed"
                self._timeline.event(kind, name, reserved_concurrency=reserved)
            self._reserved[name] = reserved

    def status(self) -> dict[str, Any]:
        return {"lambda_functions": {name: {"reserved_concurrency": reserved}
                                     for name, reserved in sorted(self._now().items())}}


def create(context: SimulationContext) -> Functions:
    return Functions(context)
