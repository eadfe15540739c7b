"""Service ``api`` answers ``/api/quote`` by invoking function ``api-worker`` synchronously
(:data:`~chaos_sre.lab.web.layout.LAMBDA_ROUTES`): the page waits the invocation's duration,
cold start included; a throttled invocation (429 TooManyRequestsException) is served without the
function's answer when the profile degrades gracefully, else fails with 502, as an API that
passes the function's error on does. So is a failed invocation (FIS's extension); a slow one is
given up after the resilient api's own timeout (:data:`CALL_TIMEOUT_SECONDS`) and served without
the function's answer, where the fragile api waits it out."""

import asyncio
from collections.abc import Callable

from chaos_sre.lab.awslambda.invocations import Invocation
from chaos_sre.lab.awslambda.simulation import Functions
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import DEGRADED
from chaos_sre.lab.web.answers import Failure, Fallback, Outcome, Targets, routed
from chaos_sre.lab.web.layout import LAMBDA_ROUTES

ROUTE_ORDER = 15
CAUSE_THROTTLED = "502-lambda-throttled"
CAUSE_WITHOUT_FUNCTION = DEGRADED + "lambda-throttled"
"""Served without the function's answer (a good request)."""
CAUSE_FAILED = "502-lambda-error"
CAUSE_WITHOUT_FAILED = DEGRADED + "lambda-error"
CAUSE_WITHOUT_SLOW = DEGRADED + "lambda-slow"
CALL_TIMEOUT_SECONDS = 1.0
"""AWS seconds the resilient api waits for its function before answering without it."""


class FunctionCall:
    """Service ``api``'s synchronous invocation of the function its path needs."""

    def __init__(self, invoke: Callable[[str], Invocation], wall_seconds: Callable[[float], float],
                 degrade_when_throttled: bool) -> None:
        self.invoke = invoke
        self.wall_seconds = wall_seconds
        self.degrade_when_throttled = degrade_when_throttled

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        function = routed(LAMBDA_ROUTES, path)
        if function is None:
            return None
        outcome = self.invoke(function)
        if not outcome.started:
            if self.degrade_when_throttled:
                return Fallback(function, CAUSE_WITHOUT_FUNCTION)
            return Failure(502, b'{"error": "TooManyRequestsException"}', CAUSE_THROTTLED)
        took = outcome.ends_at - outcome.started_at
        if self.degrade_when_throttled and took > CALL_TIMEOUT_SECONDS:
            await asyncio.sleep(self.wall_seconds(CALL_TIMEOUT_SECONDS))
            return Fallback(function, CAUSE_WITHOUT_SLOW)
        await asyncio.sleep(self.wall_seconds(took))
        if outcome.error:
            if self.degrade_when_throttled:
                return Fallback(function, CAUSE_WITHOUT_FAILED)
            return Failure(502, b'{"error": "the function failed"}', CAUSE_FAILED)
        return None


def create(context: SimulationContext, simulation: Functions) -> FunctionCall:
    """The api service's calls to its function, against the Lambda simulation."""
    return FunctionCall(simulation.invoke, context.scaled,
                        context.profile.part("lambda").degrade_when_throttled)
