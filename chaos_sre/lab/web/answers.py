"""What the application behind the lab's load balancer needs of the other services per request.

Each lab service package may have a ``routes`` module with ``ROUTE_ORDER`` and
``create(context, simulation)`` returning a :class:`Dependency`: before a serving
target answers, the endpoint asks each dependency in order whether the request
fails there (a :class:`Failure`), is served without it (a :class:`Fallback`),
or goes on (None) - after waiting as long as that service makes the application wait.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from chaos_sre.lab.core.simulation import BOOTING, DEAD, SERVING, UNREACHABLE


@dataclass(frozen=True)
class Failure:
    """The application answers ``status`` with ``body``; the timeline records ``cause``."""

    status: int
    body: bytes
    cause: str


@dataclass(frozen=True)
class Fallback:
    """The application degrades gracefully: HTTP 200 without what ``without`` should have given
    (header ``X-Lab-Fallback: <without>``); the timeline records ``cause``, a good request."""

    without: str
    cause: str


Outcome = Failure | Fallback | None


class Targets(Protocol):
    """The load balancer, as a dependency sees it."""

    def pick(self, path: str) -> tuple[str, Any]:
        """(condition, target) the load balancer sends ``path`` to now."""

    def is_api(self, path: str) -> bool:
        """Whether ``path`` goes to service ``api``'s target group."""


class Dependency(Protocol):
    """One service the application calls while answering a request."""

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        """What this service does to the request for ``path`` (None: nothing, go on)."""


def routed(routes: dict[str, str], path: str) -> str | None:
    """The resource ``routes`` gives the path prefix of ``path`` (None: no prefix matches)."""
    for prefix, resource in routes.items():
        if path == prefix or path.startswith((prefix + "/", prefix + "?")):
            return resource
    return None


__all__ = ["BOOTING", "DEAD", "SERVING", "UNREACHABLE", "Dependency", "Failure", "Fallback",
           "Outcome", "Targets", "routed"]
