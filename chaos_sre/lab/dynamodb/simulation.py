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
* **Auto scaling.** A table's or GSI's capacity is a scalable resource of
  Application Auto Scaling (:mod:`chaos_sre.lab.applicationautoscaling.simulation`):
  RegisterScalableTarget (namespace ``dynamodb``) moves it into the new min/max at
  once; every evaluation period (one minute, time-scaled), a target tracking policy
  raises the capacity to the minimum and, unless ``DynamicScalingOutSuspended``, once the *consumed*
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

:class:`~chaos_sre.lab.dynamodb.capacity.Capacity` (the pools, burst and throttling) is shared by
the dynamics thread (which applies settings) and the endpoint thread (which asks for units per
request), under its own lock.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, ResourceInUseException

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.dynamodb.capacity import READ, UNLIMITED, WRITE, Capacity, CapacitySettings, ConsumedMinutes
from chaos_sre.lab.dynamodb.settings import AUTOSCALING_TARGET_UTILIZATION, TIMINGS, DynamoDBTimings

DECREASES_AT_ANY_TIME = 4
DECREASES_PER_DAY = 27
AWS_HOUR = 3600.0
AWS_DAY = 86400.0
GLOBAL_TABLE_VERSION = "2019.11.21"


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

    # -- a scalable resource of Application Auto Scaling -----------------------------------
    def _scaled_node(self, target: Any) -> tuple[Any, str] | None:
        """(the provisioned table or GSI a ``dynamodb`` target scales, its throughput key)."""
        part = _scaled_part(target)
        table = self._backend().tables.get(part[0]) if part else None
        if part is None or table is None or (table.billing_mode or "PROVISIONED") == "PAY_PER_REQUEST":
            return None
        index, direction = part[1], part[2]
        node = table if index is None else next((i for i in table.global_indexes if i.name == index), None)
        key = "ReadCapacityUnits" if direction == READ else "WriteCapacityUnits"
        return None if node is None else (node, key)

    def scalable_capacity(self, target: Any) -> int | None:
        """The provisioned capacity a scalable target names (None: gone or on demand;
        :mod:`chaos_sre.lab.applicationautoscaling.simulation`)."""
        found = self._scaled_node(target)
        return None if found is None else int(found[0].throughput.get(found[1], 0))

    def scalable_demand(self, target: Any, policy: Mapping[str, Any], capacity: int) -> int:
        """Target tracking: once the consumed capacity stayed above the target utilization for
        2 consecutive minutes, what keeps the last minute's consumption at the target (0: no
        scale-out). Throttled calls consume nothing."""
        part = _scaled_part(target)
        if part is None:
            return 0
        minutes = self._minutes.setdefault(part, ConsumedMinutes())
        minutes.close(self.capacity.consumed(*part), time.monotonic(), capacity)
        return minutes.scale_out(float(policy.get("TargetValue", AUTOSCALING_TARGET_UTILIZATION)))

    def set_scalable_capacity(self, target: Any, capacity: int, previous: int, reason: str) -> None:
        """Application Auto Scaling updates the table: ``UPDATING`` for the update time."""
        found, part = self._scaled_node(target), _scaled_part(target)
        if found is None or part is None:
            return
        node, key = found
        node.throughput = {**node.throughput, key: capacity}
        self._state(part[0]).updating_until = time.monotonic() + self._scaled(self._timings.dynamodb_update_seconds)
        self._timeline.event("autoscaling-capacity-changed", target.resource_id,
                             dimension=target.scalable_dimension, previous=previous,
                             capacity=capacity, reason=reason)

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
        """
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
