"""The database writer a path needs (``/checkout``: Aurora ``orders``, ``/account``: RDS
``accounts``): unavailable -> 500 from the application; behind RDS Proxy the answer waits until
the proxy reaches the new writer."""

import asyncio
import time
from collections.abc import Callable

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.rds.simulation import DatabaseAccess, DatabaseDynamics
from chaos_sre.lab.web.answers import Failure, Outcome, Targets, routed
from chaos_sre.lab.web.layout import DATABASE_ROUTES

ROUTE_ORDER = 30
CAUSE_DATABASE = "500-database-unavailable"


class DatabaseCall:
    """The application's query to the writer of the database its path needs."""

    def __init__(self, access: Callable[[str], DatabaseAccess]) -> None:
        self.access = access

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        database = routed(DATABASE_ROUTES, path)
        if database is None:
            return None
        access, now = self.access(database), time.monotonic()
        if access.fails_until is not None and now < access.fails_until:
            return Failure(500, b'{"error": "database unavailable"}', CAUSE_DATABASE)
        if access.waits_until is not None and now < access.waits_until:
            await asyncio.sleep(access.waits_until - now)
        return None


def create(context: SimulationContext, simulation: DatabaseDynamics) -> DatabaseCall:
    """The application's database queries, over the RDS simulation's access windows."""
    return DatabaseCall(simulation.access)
