"""The path's DynamoDB table (``/session``: ``sessions``, ``/cart``: ``carts``): the application's
GetItem then PutItem, each retried by its SDK with exponential backoff and full jitter (the
profile's attempts); once every attempt of a call was throttled, the page is served with the
application's cached session when it holds one (the profile's share), else fails with 500."""

import asyncio
import random
from collections.abc import Callable

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import DEGRADED
from chaos_sre.lab.dynamodb.settings import TIMINGS
from chaos_sre.lab.dynamodb.simulation import DynamoDBDynamics
from chaos_sre.lab.web.answers import Failure, Fallback, Outcome, Targets, routed
from chaos_sre.lab.web.layout import DYNAMODB_ROUTES

ROUTE_ORDER = 40
CAUSE_THROTTLED = "500-dynamodb-throttled"
CAUSE_STALE_SESSION = DEGRADED + "dynamodb-stale"
"""Served with the application's cached session (a good request)."""


class TableCalls:
    """The application's reads and writes of the table its path needs."""

    def __init__(self, attempt: Callable[[str, str, float], str | None], sdk_max_attempts: int,
                 stale_session_share: float) -> None:
        self.attempt = attempt
        self.sdk_max_attempts = sdk_max_attempts
        self.stale_session_share = stale_session_share

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        table = routed(DYNAMODB_ROUTES, path)
        if table is None:
            return None
        for direction in ("read", "write"):
            if not await self._call(table, direction):
                if random.random() < self.stale_session_share:
                    return Fallback("dynamodb", CAUSE_STALE_SESSION)
                return Failure(500, b'{"error": "ProvisionedThroughputExceededException"}', CAUSE_THROTTLED)
        return None

    async def _call(self, table: str, direction: str) -> bool:
        """One GetItem (``read``) or PutItem (``write``) with the SDK's retries: whether it got through."""
        for attempt in range(1, self.sdk_max_attempts + 1):
            if self.attempt(table, direction, random.random()) is None:
                return True
            if attempt < self.sdk_max_attempts:
                await asyncio.sleep(random.uniform(
                    0, TIMINGS.dynamodb_sdk_base_backoff_seconds * 2 ** (attempt - 1)))
        return False


def create(context: SimulationContext, simulation: DynamoDBDynamics) -> TableCalls:
    """The application's table calls, against the DynamoDB simulation's capacity."""
    profile = context.profile.part("dynamodb")
    return TableCalls(simulation.capacity.attempt, profile.sdk_max_attempts, profile.stale_session_share)
