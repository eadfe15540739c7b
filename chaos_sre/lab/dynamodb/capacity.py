"""DynamoDB capacity in the lab: what each table and GSI serves per second, its burst, which calls
it throttles, and the consumption target tracking sees.

Each table (and GSI) has a steady demand of ``STEADY_UNITS_PER_SECOND`` read and write units - the
application's users, whom the SLI sampler's 50 requests/s stand for; more requests raise it. A
provisioned table serves up to its capacity per second; unused capacity accumulates as burst, up
to 300 s of capacity (time-scaled), and demand beyond capacity first drains the burst. With no
burst left, the share of calls beyond capacity is throttled. An on-demand table is only throttled
above its ``OnDemandThroughput`` maximum. A write is also a write to every GSI, so a throttled GSI
throttles the table's writes. Throttled calls consume nothing.
"""

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

STEADY_UNITS_PER_SECOND = 50.0
"""Read and write units per second the application's users spend on each table."""
DEMAND_WINDOW_SECONDS = 1.0
SCALE_OUT_MINUTES = 2
"""Consecutive minutes above the target utilization before target tracking scales out."""
READ, WRITE = "read", "write"
UNLIMITED = -1


@dataclass(frozen=True)
class CapacitySettings:
    """What a table (or GSI) may serve per second: provisioned units or an on-demand maximum."""

    provisioned: bool
    read: float
    """Provisioned read units, or the on-demand maximum (``UNLIMITED``: none)."""
    write: float


@dataclass
class _Pool:
    """One direction (read or write) of one table or GSI: capacity, burst, recent demand."""

    units: float
    provisioned: bool
    burst_seconds: float
    burst: float = 0.0
    updated: float = field(default_factory=time.monotonic)
    recent: deque[float] = field(default_factory=deque)
    consumed: float = 0.0
    """Units served since the pool was created (throttled calls consume none)."""

    def demand(self, now: float) -> float:
        """Units per second asked for: the steady users' demand, or more when requests exceed it."""
        while self.recent and now - self.recent[0] >= DEMAND_WINDOW_SECONDS:
            self.recent.popleft()
        return max(STEADY_UNITS_PER_SECOND, len(self.recent) / DEMAND_WINDOW_SECONDS)

    def advance(self, now: float) -> None:
        """Accumulate unused capacity as burst, or spend burst on demand beyond capacity."""
        elapsed, self.updated = max(0.0, now - self.updated), now
        if self.provisioned:
            spare = self.units - self.demand(now)
            self.burst = min(self.units * self.burst_seconds, max(0.0, self.burst + spare * elapsed))

    def throttle_share(self, now: float) -> float:
        """The share of calls throttled now (0 while capacity or burst covers the demand)."""
        self.advance(now)
        if (not self.provisioned and self.units == UNLIMITED) or (self.provisioned and self.burst > 0):
            return 0.0
        return max(0.0, 1.0 - self.units / self.demand(now))


class Capacity:
    """Capacity pools of every table and GSI, and the counters CloudWatch metrics come from."""

    def __init__(self, *, burst_seconds: float) -> None:
        self._lock = threading.Lock()
        self._burst_seconds = burst_seconds
        self._pools: dict[tuple[str, str | None, str], _Pool] = {}
        self._counters: dict[tuple[str, str | None, str], float] = {}

    def apply(self, table: str, index: str | None, settings: CapacitySettings,
              initial: bool = False) -> None:
        """Use ``settings`` for a table (``index`` None) or one of its GSIs from now on.

        ``initial``: the table has been serving its steady demand for a while, so a
        provisioned pool starts with the burst its spare capacity saved over the
        burst window: (capacity - steady demand) x burst seconds.
        """
        now = time.monotonic()
        with self._lock:
            for direction, units in ((READ, settings.read), (WRITE, settings.write)):
                key = (table, index, direction)
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = _Pool(units, settings.provisioned, self._burst_seconds)
                    if initial and settings.provisioned:
                        spare = max(0.0, units - STEADY_UNITS_PER_SECOND)
                        pool.burst = min(units, spare) * self._burst_seconds
                    continue
                pool.advance(now)
                pool.units, pool.provisioned = units, settings.provisioned
                pool.burst = min(pool.burst, units * self._burst_seconds) if settings.provisioned else 0.0

    def resume(self) -> None:
        """Count time from now: a lab forked long after it was seeded starts with the burst it
        was seeded with, not with what an idle table would have saved meanwhile."""
        now = time.monotonic()
        with self._lock:
            for pool in self._pools.values():
                pool.updated = now

    def consumed(self, table: str, index: str | None, direction: str) -> float:
        """Units a table's (or GSI's) reads or writes consumed since its pool was created."""
        with self._lock:
            pool = self._pools.get((table, index, direction))
            return pool.consumed if pool is not None else 0.0

    def forget(self, table: str) -> None:
        """Drop a deleted table's pools."""
        with self._lock:
            for key in [k for k in self._pools if k[0] == table]:
                del self._pools[key]

    def attempt(self, table: str, direction: str, roll: float) -> str | None:
        """One call of one unit (``read``: GetItem, ``write``: PutItem): None when served,
        else what throttled it (``"<table or index>:<direction>"``).

        A read uses the table's read capacity; a write uses the table's and every
        GSI's write capacity - the same write, so the most throttled of them
        decides. ``roll`` (uniform in [0, 1)) decides this call against that share.
        """
        now = time.monotonic()
        with self._lock:
            involved = [key for key in self._pools if key[0] == table and key[2] == direction
                        and (direction == WRITE or key[1] is None)]
            worst, blamed = 0.0, None
            for key in involved:
                pool = self._pools[key]
                pool.recent.append(now)
                share = pool.throttle_share(now)
                if share > worst:
                    worst, blamed = share, key
            if blamed is None or roll >= worst:
                metric = "ConsumedReadCapacityUnits" if direction == READ else "ConsumedWriteCapacityUnits"
                for key in involved:
                    self._pools[key].consumed += 1
                    self._count((key[0], key[1], metric), 1)
                return None
            event = "ReadThrottleEvents" if direction == READ else "WriteThrottleEvents"
            self._count((blamed[0], blamed[1], event), 1)
            operation = "GetItem" if direction == READ else "PutItem"
            self._count((table, None, f"ThrottledRequests:{operation}"), 1)
            return f"{blamed[1] or table}:{direction}"

    def _count(self, key: tuple[str, str | None, str], amount: float) -> None:
        self._counters[key] = self._counters.get(key, 0.0) + amount

    def drain(self) -> dict[tuple[str, str | None, str], float]:
        """Counters since the last drain, keyed (table, index or None, metric name)."""
        with self._lock:
            counters, self._counters = self._counters, {}
        return counters


@dataclass
class ConsumedMinutes:
    """A scalable target's consumption, one evaluation period (a scaled minute) at a time, as
    its target tracking alarm sees it."""

    total: float | None = None
    at: float = 0.0
    minutes: deque[tuple[float, float]] = field(
        default_factory=lambda: deque(maxlen=SCALE_OUT_MINUTES))
    """The last minutes: (units consumed per second, provisioned capacity)."""

    def close(self, total: float, now: float, capacity: float) -> None:
        """End the current minute at ``total`` units consumed so far, under ``capacity``."""
        previous, started = self.total, self.at
        self.total, self.at = total, now
        if previous is not None and now > started:
            self.minutes.append(((total - previous) / (now - started), capacity))

    def scale_out(self, utilization: float) -> int:
        """The capacity that brings the last minute's consumption to ``utilization`` percent,
        once each of the last ``SCALE_OUT_MINUTES`` minutes consumed above it; else 0."""
        if len(self.minutes) < SCALE_OUT_MINUTES or any(
                rate * 100 <= utilization * capacity for rate, capacity in self.minutes):
            return 0
        return math.ceil(self.minutes[-1][0] * 100 / utilization)
