"""Web pages call service ``api``: when no serving task answers, the page fails (500) or, when
the profile's web tier degrades gracefully, is served as a fallback."""

from typing import Any

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import FALLBACK
from chaos_sre.lab.web.answers import SERVING, Failure, Fallback, Outcome, Targets
from chaos_sre.lab.web.layout import API_ROUTE

ROUTE_ORDER = 10
CAUSE_API = "500-api-unavailable"


class ApiCall:
    """One call from a web page to service ``api`` through the load balancer."""

    def __init__(self, web_fallback: bool) -> None:
        self.web_fallback = web_fallback

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        if targets.is_api(path):
            return None
        condition, _target = targets.pick(API_ROUTE + "/")
        if condition == SERVING:
            return None
        if self.web_fallback:
            return Fallback("api", FALLBACK)
        return Failure(500, b'{"error": "api unavailable"}', CAUSE_API)


def create(context: SimulationContext, simulation: Any) -> ApiCall:
    """The page's call to ``api`` (the profile says whether a page degrades gracefully)."""
    return ApiCall(context.profile.part("ecs").web_fallback)
