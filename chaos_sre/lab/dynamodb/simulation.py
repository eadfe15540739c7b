"""The lab's DynamoDB: capacity, burst, throttling, asynchronous updates and their limits.

moto stores tables but never throttles, applies UpdateTable at once, does not
count capacity decreases and forgets ``OnDemandThroughput``. The lab adds:

* **Capacity.** Each table (and GSI) has a steady demand of
  ``STEADY_UNITS_PER_SECOND`` read and write units - the application's users,
  whom the SLI sampler's 50 requests/s stand for; more requests raise it. A
  provisioned table serves up to its capacity per second; unused capacity
  accumulates as burst, up to 300 s of capacity (time-scaled), and demand
  beyond capacity first drains the burst. With no burst left, the share of
  calls beyond capacity is throttled. An on-demand table is only throttled
  above its ``OnDemandThroughput`` maximum. A write is also a write to every
  GSI, so a throttled GSI throttles the table's writes.
* **Updates.** UpdateTable leaves the table ``UPDATING`` for the update time;
  the new capacity applies when it is ``ACTIVE`` again; a second UpdateTable
  meanwhile is refused (``ResourceInUseException``). Capacity decreases are
  limited as on AWS, for the table and for each GSI apart: 4 per day at any
  time, then one more per hour that had none, 27 at most
  (``LimitExceededException``); the day and hour are time-scaled. DescribeTable
  reports ``NumberOfDecreasesToday`` and ``LastDecreaseDateTime`` of the table
  and of each GSI, and the ``OnDemandThroughput`` the lab keeps.
* **Auto scaling.** RegisterScalableTarget (namespace ``dynamodb``) moves the
  table's or GSI's capacity into the new min/max at once; every evaluation period
  (one minute, time-scaled), a target tracking policy raises the capacity to the
  minimum and, unless ``DynamicScalingOutSuspended``, once the *consumed*
  capacity stayed above the target utilization for 2 consecutive minutes, to
  what keeps the last minute's consumption at the target (up to the maximum).
  Throttled calls consume nothing, so retries of throttled calls never scale a
  table out (AWS: "Managing throughput capacity automatically with DynamoDB auto
  scaling"). ``DynamicScalingInSuspended`` keeps a capacity above the maximum.
  Scale-in on low utilization (AWS: after 15 minutes) is not simulated.
* **Global tables.** UpdateTable's ``ReplicaUpdates`` (version 2019.11.21) create
  and delete replicas in other Regions (moto: ignored); DescribeTable lists them
  under ``Replicas``. A capacity change of a table with replicas reaches every
  replica (for provisioned global tables the write capacity is the same on all
  of them): the timeline records a ``dynamodb-replica-updated`` per replica Region.

:class:`Capacity` is shared by the dynamics thread (which applies settings)
and the endpoint thread (which asks for units per request), under its own lock.
"""

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, ResourceInUseException

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.dynamodb.settings import AUTOSCALING_TARGET_UTILIZATION, TIMINGS, DynamoDBTimings

STEADY_UNITS_PER_SECOND = 50.0
"""Read and write units per second the application's users spend on each table."""
DEMAND_WINDOW_SECONDS = 1.0
SCALE_OUT_MINUTES = 2
"""Consecutive minutes above the target utilization before target tracking scales out."""
DECREASES_AT_ANY_TIME = 4
DECREASES_PER_DAY = 27
AWS_HOUR = 3600.0
AWS_DAY = 86400.0
READ, WRITE = "read", "write"
GLOBAL_TABLE_VERSION = "2019.11.21"
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
class TableState:
    """What the lab keeps about a table beyond moto: status, on-demand maximums, decreases."""

    updating_until: float | None = None
    on_demand: dict[str | None, dict[str, int]] = field(default_factory=dict)
    decreases: dict[str | None, list[float]] = field(default_factory=dict)
    """Per part (None: the table, else a GSI's name): when its capacity was lowered (monotonic)."""
    last_decrease: dict[str | None, datetime] = field(default_factory=dict)
    last_increase: datetime | None = None
    applied: dict[str | None, CapacitySettings] = field(default_factory=dict)
    replicas: list[str] = field(default_factory=list)
    """Regions of the global table's other replicas."""


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


class ResourceInUse(ResourceInUseException):
    """UpdateTable while the table is still UPDATING."""


class LimitExceeded(DynamodbException):
    """Too many provisioned-throughput decreases for the day."""

    def __init__(self, message: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "LimitExceededException", message=message)


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _settings_of(table: Any, state: TableState) -> dict[str | None, CapacitySettings]:
    """Capacity settings of a moto table and its GSIs (on-demand maximums from the lab)."""
    provisioned = (table.billing_mode or "PROVISIONED") != "PAY_PER_REQUEST"
    found: dict[str | None, CapacitySettings] = {}
    parts: list[tuple[str | None, dict[str, Any]]] = [(None, table.throughput)]
    parts += [(index.name, index.throughput) for index in table.global_indexes]
    for name, throughput in parts:
        if provisioned:
            found[name] = CapacitySettings(True, float(throughput.get("ReadCapacityUnits", 0)),
                                           float(throughput.get("WriteCapacityUnits", 0)))
        else:
            limits = state.on_demand.get(name, {})
            found[name] = CapacitySettings(False, float(limits.get("MaxReadRequestUnits", UNLIMITED)),
                                           float(limits.get("MaxWriteRequestUnits", UNLIMITED)))
    return found


def _scaled_part(target: Any) -> tuple[str, str | None, str] | None:
    """(table, GSI or None, read|write) of a ``dynamodb`` scalable target, e.g. resource
    ``table/sessions/index/by-user`` with dimension ``dynamodb:index:WriteCapacityUnits``."""
    pieces = str(target.resource_id).split("/")
    dimension = str(target.scalable_dimension)
    direction = READ if dimension.endswith("ReadCapacityUnits") else WRITE \
        if dimension.endswith("WriteCapacityUnits") else None
    if direction is None or pieces[0] != "table" or len(pieces) not in (2, 4):
        return None
    return pieces[1], pieces[3] if len(pieces) == 4 else None, direction


def _lowers(new: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    return new is not None and bool(new) and any(
        int(new[key]) < int(current.get(key, 0))
        for key in ("ReadCapacityUnits", "WriteCapacityUnits") if key in new)


class DynamoDBDynamics:
    """Table status, on-demand maximums and decrease limits over moto, plus the capacity pools."""

    def __init__(self, *, scaled: Callable[[float], float], timeline: Timeline,
                 timings: DynamoDBTimings) -> None:
        self._scaled = scaled
        self._timeline = timeline
        self._timings = timings
        self.capacity = Capacity(burst_seconds=scaled(timings.dynamodb_burst_seconds))
        self._tables: dict[str, TableState] = {}
        self._next_scaling = 0.0
        self._minutes: dict[tuple[str, str | None, str], ConsumedMinutes] = {}

    def resume(self) -> None:
        """The lab starts serving: the capacity pools count time from now."""
        self.capacity.resume()

    def _state(self, name: str) -> TableState:
        return self._tables.setdefault(name, TableState())

    # -- hooks called from moto (lab lock held) ----------------------------------
    def check_update(self, table: Any, body: dict[str, Any]) -> frozenset[str | None]:
        """Refuse an UpdateTable as AWS would (still updating, too many decreases of the table or
        of a GSI: their limits are apart); return the parts it lowers (None: the table)."""
        state = self._state(table.name)
        now = time.monotonic()
        if state.updating_until is not None and now < state.updating_until:
            raise ResourceInUse(f"Attempt to change a resource which is still in use: "
                                f"Table is being updated: {table.name}")
        lowered = self._lowered_parts(table, body)
        day, hour = self._scaled(AWS_DAY), self._scaled(AWS_HOUR)
        for part in sorted(lowered, key=str):
            recent = [t for t in state.decreases.get(part, []) if now - t < day]
            quiet_hour = all(now - t >= hour for t in recent)
            if len(recent) >= DECREASES_PER_DAY or (len(recent) >= DECREASES_AT_ANY_TIME
                                                    and not quiet_hour):
                where = f"Table: {table.name}" + (f", GlobalSecondaryIndex: {part}" if part else "")
                raise LimitExceeded(
                    f"Subscriber limit exceeded: Provisioned throughput decreases are limited "
                    f"within a given UTC day. After the first {DECREASES_AT_ANY_TIME} decreases, "
                    f"each subsequent decrease in the same UTC day can be performed at most once "
                    f"every 3600 seconds. Number of decreases today: {len(recent)}. {where}")
        return lowered

    @staticmethod
    def _lowered_parts(table: Any, body: dict[str, Any]) -> frozenset[str | None]:
        parts: set[str | None] = set()
        if _lowers(body.get("ProvisionedThroughput"), table.throughput):
            parts.add(None)
        indexes = {index.name: index for index in table.global_indexes}
        for update in body.get("GlobalSecondaryIndexUpdates") or []:
            change = update.get("Update") or {}
            index = indexes.get(change.get("IndexName"))
            if index is not None and _lowers(change.get("ProvisionedThroughput"), index.throughput):
                parts.add(index.name)
        return frozenset(parts)

    def table_created(self, name: str, body: dict[str, Any]) -> None:
        """Remember the OnDemandThroughput a CreateTable asked for (moto drops it)."""
        state = self._state(name)
        if body.get("OnDemandThroughput"):
            state.on_demand[None] = dict(body["OnDemandThroughput"])
        for index in body.get("GlobalSecondaryIndexes") or []:
            if index.get("OnDemandThroughput"):
                state.on_demand[index["IndexName"]] = dict(index["OnDemandThroughput"])

    def table_updated(self, table: Any, body: dict[str, Any], lowered: frozenset[str | None]) -> None:
        """An accepted UpdateTable: keep its OnDemandThroughput, start UPDATING, count decreases."""
        state = self._state(table.name)
        now = time.monotonic()
        if body.get("OnDemandThroughput"):
            state.on_demand[None] = {**state.on_demand.get(None, {}), **body["OnDemandThroughput"]}
        for update in body.get("GlobalSecondaryIndexUpdates") or []:
            change = update.get("Update") or {}
            if change.get("OnDemandThroughput"):
                name = change["IndexName"]
                state.on_demand[name] = {**state.on_demand.get(name, {}), **change["OnDemandThroughput"]}
        self._update_replicas(table.name, state, body)
        state.updating_until = now + self._scaled(self._timings.dynamodb_update_seconds)
        for part in lowered:
            state.decreases.setdefault(part, []).append(now)
            state.last_decrease[part] = _now_utc()
        if not lowered and (body.get("ProvisionedThroughput") or body.get("GlobalSecondaryIndexUpdates")):
            state.last_increase = _now_utc()
        self._timeline.event(
            "dynamodb-capacity-decreased" if lowered else "dynamodb-table-updated", table.name,
            provisioned_throughput=body.get("ProvisionedThroughput"),
            on_demand_throughput=body.get("OnDemandThroughput"),
            index_updates=len(body.get("GlobalSecondaryIndexUpdates") or []),
        )

    def scalable_target_registered(self, target: Any) -> None:
        """RegisterScalableTarget: the capacity moves into the new min/max at once."""
        self._autoscale(target, reason="RegisterScalableTarget", by_policy=False)

    def _autoscale(self, target: Any, *, reason: str, by_policy: bool) -> None:
        """Bring a scalable table's or GSI's capacity into min/max; ``by_policy``: as its target
        tracking policy would (respecting suspension), also up to what the consumption needs
        after 2 consecutive minutes above the target utilization."""
        part = _scaled_part(target)
        table = self._backend().tables.get(part[0]) if part else None
        if part is None or table is None or (table.billing_mode or "PROVISIONED") == "PAY_PER_REQUEST":
            return
        name, index, direction = part
        node = table if index is None else next(
            (i for i in table.global_indexes if i.name == index), None)
        if node is None:
            return
        key = "ReadCapacityUnits" if direction == READ else "WriteCapacityUnits"
        current = int(node.throughput.get(key, 0))
        low, high = int(target.min_capacity), int(target.max_capacity)
        suspended = target.suspended_state or {}
        wanted = min(max(current, low), high)
        if by_policy:
            policy = self._policy(target)
            if policy is None:
                return
            minutes = self._minutes.setdefault(part, ConsumedMinutes())
            minutes.close(self.capacity.consumed(*part), time.monotonic(), current)
            wanted = current
            if not suspended.get("DynamicScalingOutSuspended"):
                utilization = float(policy.get("TargetValue", AUTOSCALING_TARGET_UTILIZATION))
                wanted = max(current, min(max(low, minutes.scale_out(utilization)), high))
            if current > high and not suspended.get("DynamicScalingInSuspended"):
                wanted = high
        if wanted == current:
            return
        node.throughput = {**node.throughput, key: wanted}
        state = self._state(name)
        state.updating_until = time.monotonic() + self._scaled(self._timings.dynamodb_update_seconds)
        self._timeline.event("autoscaling-capacity-changed", target.resource_id,
                             dimension=target.scalable_dimension, previous=current,
                             capacity=wanted, reason=reason)

    @staticmethod
    def _scaling() -> Any:
        return moto_backend("applicationautoscaling")

    def _policy(self, target: Any) -> dict[str, Any] | None:
        """The target tracking configuration of the target's policy, if it has one."""
        for policy in self._scaling().policies.values():
            if (policy.resource_id, policy.scalable_dimension) == (target.resource_id,
                                                                   target.scalable_dimension):
                return dict(policy.target_tracking_scaling_policy_configuration or {})
        return None

    def _scalable_targets(self) -> list[Any]:
        return [t for targets in self._scaling().targets.values() for t in targets.values()
                if t.service_namespace == "dynamodb"]

    def _update_replicas(self, name: str, state: TableState, body: dict[str, Any]) -> None:
        """Apply ReplicaUpdates; a capacity change reaches every replica (timeline ground truth)."""
        for update in body.get("ReplicaUpdates") or []:
            if "Create" in update and update["Create"]["RegionName"] not in state.replicas:
                state.replicas.append(update["Create"]["RegionName"])
            if "Delete" in update and update["Delete"]["RegionName"] in state.replicas:
                state.replicas.remove(update["Delete"]["RegionName"])
        changes_capacity = any(body.get(k) for k in ("ProvisionedThroughput", "OnDemandThroughput",
                                                      "GlobalSecondaryIndexUpdates"))
        if changes_capacity:
            for region in state.replicas:
                self._timeline.event("dynamodb-replica-updated", name, region=region,
                                     provisioned_throughput=body.get("ProvisionedThroughput"),
                                     on_demand_throughput=body.get("OnDemandThroughput"))

    def describe(self, name: str, description: dict[str, Any]) -> None:
        """Overlay the lab's view on a DescribeTable answer (status, maximums, decreases)."""
        state = self._tables.get(name)
        if state is None:
            return
        now = time.monotonic()
        if state.updating_until is not None and now < state.updating_until:
            description["TableStatus"] = "UPDATING"
        if state.replicas:
            description["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            description["Replicas"] = [{"RegionName": region, "ReplicaStatus": "ACTIVE"}
                                       for region in state.replicas]
        self._overlay_decreases(description, state, None, now)
        for index in description.get("GlobalSecondaryIndexes") or []:
            self._overlay_decreases(index, state, index["IndexName"], now)
        if isinstance(description.get("ProvisionedThroughput"), dict) and state.last_increase:
            description["ProvisionedThroughput"]["LastIncreaseDateTime"] = \
                state.last_increase.timestamp()
        on_demand = (description.get("BillingModeSummary") or {}).get("BillingMode") == "PAY_PER_REQUEST"
        if on_demand:
            description["OnDemandThroughput"] = self._maximums(state, None)
            for index in description.get("GlobalSecondaryIndexes") or []:
                index["OnDemandThroughput"] = self._maximums(state, index["IndexName"])

    def _overlay_decreases(self, node: dict[str, Any], state: TableState, part: str | None,
                           now: float) -> None:
        """The part's (table or GSI) decreases today and the last one, in its ProvisionedThroughput."""
        throughput = node.get("ProvisionedThroughput")
        if not isinstance(throughput, dict):
            return
        recent = [t for t in state.decreases.get(part, []) if now - t < self._scaled(AWS_DAY)]
        throughput = node["ProvisionedThroughput"] = {**throughput,
                                                      "NumberOfDecreasesToday": len(recent)}
        if part in state.last_decrease:
            throughput["LastDecreaseDateTime"] = state.last_decrease[part].timestamp()

    @staticmethod
    def _maximums(state: TableState, index: str | None) -> dict[str, int]:
        limits = state.on_demand.get(index, {})
        return {"MaxReadRequestUnits": int(limits.get("MaxReadRequestUnits", UNLIMITED)),
                "MaxWriteRequestUnits": int(limits.get("MaxWriteRequestUnits", UNLIMITED))}

    @staticmethod
    def _backend() -> Any:
        return moto_backend("dynamodb")

    def status(self) -> dict[str, Any]:
        """Status, billing mode and capacity (or maximums) of every table, for `lab status`."""
        summary: dict[str, Any] = {}
        for name, table in list(self._backend().tables.items()):
            description = table.describe(base_key="Table")["Table"]
            limits = description.get("OnDemandThroughput") or {}
            throughput = description.get("ProvisionedThroughput") or {}
            on_demand = description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
            summary[name] = {
                "status": description["TableStatus"],
                "billing_mode": description["BillingModeSummary"]["BillingMode"],
                "read": limits.get("MaxReadRequestUnits") if on_demand else throughput.get("ReadCapacityUnits"),
                "write": limits.get("MaxWriteRequestUnits") if on_demand else throughput.get("WriteCapacityUnits"),
            }
        return {"dynamodb_tables": summary}

    # -- the clock ----------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Apply finished updates to the capacity pools; pick up new and deleted tables; let
        auto scaling evaluate its policies."""
        if now >= self._next_scaling:
            self._next_scaling = now + self._scaled(self._timings.dynamodb_autoscaling_evaluation_seconds)
            for target in self._scalable_targets():
                self._autoscale(target, reason="target tracking policy", by_policy=True)
        tables = dict(self._backend().tables)
        for name in [n for n in self._tables if n not in tables]:
            del self._tables[name]
            self.capacity.forget(name)
        for name, table in tables.items():
            state = self._state(name)
            if state.updating_until is not None:
                if now < state.updating_until:
                    continue
                state.updating_until = None
                self._timeline.event("dynamodb-update-completed", name)
            current = _settings_of(table, state)
            if current != state.applied:
                initial = not state.applied
                for index, settings in current.items():
                    self.capacity.apply(name, index, settings, initial=initial)
                state.applied = current


TICK_ORDER = 40


def create(context: SimulationContext) -> DynamoDBDynamics:
    """The DynamoDB simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return DynamoDBDynamics(scaled=context.scaled, timeline=context.timeline, timings=TIMINGS)
