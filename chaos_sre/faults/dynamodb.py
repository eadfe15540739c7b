"""DynamoDB faults: throttle a table (and its GSIs), then restore its exact settings.

`throttle_table` lowers what a table may serve, the way it can be done on AWS
without side effects that outlive the run:

* a provisioned table gets lower read and/or write capacity (table and chosen
  GSIs), as a fraction of what it consumed recently (CloudWatch) or in
  absolute units;
* an on-demand table gets a maximum on-demand throughput
  (`OnDemandThroughput`) - its billing mode is never switched, because AWS
  limits how often a table may switch modes.

Before the UpdateTable call the table's exact settings are written to the run
ledger; `restore_table` (or any replay of the ledger) puts them back. AWS
limits capacity decreases, for the table and for each GSI apart (4 a UTC day,
then one per hour without decreases, 27 at most): a run that would exceed them
is refused with that reason before any change, the UpdateTable is not retried
on LimitExceededException (botocore would retry it), and restoring is an increase,
which is never limited. Updates are
asynchronous: both the throttle and the restore wait until the table is
`ACTIVE` again.
"""

import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre import values
from chaos_sre.aws import aws_client, call, call_retrying_transient, paginate, tag_dict, wait
from chaos_sre.aws.client import configured_region
from chaos_sre.aws.polling import poll_wall_seconds
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.dynamodb_fis import throttle_in_fis
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Target, fault
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.application_autoscaling import (
    may_register,
    register,
    registering,
    scalable_target,
    widened,
)
from chaos_sre.services.dynamodb import (
    ON_DEMAND,
    TableSettings,
    describe_table,
    metric_minutes,
    settings_of,
    update_request,
)
from chaos_sre.services.dynamodb import SCALING_NAMESPACE as NAMESPACE
from chaos_sre.services.minutes import MINUTE_SECONDS
from chaos_sre.timescale import aws_seconds, wall_seconds
from chaos_sre.values import PositiveSeconds

__all__ = ["restore_table", "throttle_table"]

logger = logging.getLogger("chaostoolkit")
DECREASES_AT_ANY_TIME = 4
DECREASES_PER_DAY = 27
DECREASE_QUIET_SECONDS = 3600.0
DEFAULT_WAIT_SECONDS = 600.0
UNITS = {"read": ("ReadCapacityUnits", "MaxReadRequestUnits", "ConsumedReadCapacityUnits"),
         "write": ("WriteCapacityUnits", "MaxWriteRequestUnits", "ConsumedWriteCapacityUnits")}


def _chosen_indexes(indexes: list[str] | str | None, known: list[str]) -> list[str]:
    if indexes in (None, "", "none"):
        return []
    if indexes == "all":
        return list(known)
    names = [n.strip() for n in indexes.split(",")] if isinstance(indexes, str) else list(indexes)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValidationError(f"unknown GSI {', '.join(unknown)} (the table has: "
                              f"{', '.join(known) or 'none'})")
    return names


def _direction_targets(read_fraction: float | None, write_fraction: float | None,
                       read_units: int | None, write_units: int | None) -> dict[str, tuple[str, float]]:
    """{"read"|"write": ("fraction"|"units", value)} after checking the arguments."""
    targets: dict[str, tuple[str, float]] = {}
    for direction, fraction, units in (("read", read_fraction, read_units),
                                       ("write", write_fraction, write_units)):
        if fraction not in (None, "") and units not in (None, ""):
            raise ValidationError(f"give {direction}_fraction or {direction}_units, not both")
        if fraction not in (None, ""):
            value = values.number(f"{direction}_fraction", fraction)
            if not 0 < value < 1:
                raise ValidationError(f"{direction}_fraction must be between 0 and 1 "
                                      f"(exclusive), got {fraction!r}")
            targets[direction] = ("fraction", value)
        elif units not in (None, ""):
            count = values.number(f"{direction}_units", units)
            if count < 1 or count != int(count):
                raise ValidationError(f"{direction}_units must be a whole number of at least 1, "
                                      f"got {units!r}")
            targets[direction] = ("units", count)
    if not targets:
        raise ValidationError("say how far to throttle: read_fraction/write_fraction (of the "
                              "recent consumption) or read_units/write_units")
    return targets


def _new_settings(cloudwatch: Any, table_name: str, before: TableSettings, parts: list[str | None],
                  targets: dict[str, tuple[str, float]], window: float,
                  consumption: dict[str, float]) -> TableSettings:
    """The settings after the throttle; records each consumption rate used in ``consumption``."""
    on_demand = before["billing_mode"] == ON_DEMAND
    after = TableSettings(billing_mode=before["billing_mode"], table=dict(before["table"]),
                          indexes={name: dict(value) for name, value in before["indexes"].items()})
    for part in parts:
        current = before["table"] if part is None else before["indexes"][part]
        updated = after["table"] if part is None else after["indexes"][part]
        where = f"table {table_name}" + (f" GSI {part}" if part else "")
        for direction, (kind, value) in targets.items():
            provisioned_key, maximum_key, metric = UNITS[direction]
            key = maximum_key if on_demand else provisioned_key
            if kind == "units":
                target = int(value)
            else:
                dimensions = {"TableName": table_name}
                if part is not None:
                    dimensions["GlobalSecondaryIndexName"] = part
                published = metric_minutes(cloudwatch, metric, dimensions, window)
                rate = published.per_second()
                consumption[f"{part or 'table'}:{direction}"] = round(rate, 3)
                if rate <= 0 and part is not None:
                    logger.info(f"chaos-sre: {where} consumed no {direction} capacity in the "
                                f"minutes CloudWatch published of the last {window:g} s; its "
                                f"{direction} capacity is left as it is")
                    continue
                if rate <= 0:
                    raise ValidationError(
                        f"{where} consumed no {direction} capacity in the minutes CloudWatch "
                        f"published of the last {window:g} s ({metric}, one datapoint a minute, "
                        f"{published.seconds:g} s published): nothing to take a fraction of; give "
                        f"{direction}_units, or a longer consumption_window_seconds")
                target = max(1, math.floor(rate * value))
            if current[key] != -1 and target >= current[key]:
                raise ValidationError(f"{where}: {direction} target {target} is not below the "
                                      f"current {key} {current[key]}; nothing would be throttled")
            updated[key] = target
    return after


def _scaling_to_hold(autoscaling: Any, table_name: str, before: TableSettings,
                     after: TableSettings) -> list[dict[str, Any]]:
    """The scalable targets (DynamoDB auto scaling) of each capacity the throttle lowers, with
    their min, max and suspended state now and the lowered value."""
    if after["billing_mode"] == ON_DEMAND:
        return []
    held = []
    parts = [(None, before["table"], after["table"])] + [
        (name, before["indexes"][name], after["indexes"][name]) for name in sorted(after["indexes"])]
    for index, old, new in parts:
        resource = f"table/{table_name}" + (f"/index/{index}" if index else "")
        for key in ("ReadCapacityUnits", "WriteCapacityUnits"):
            if new[key] >= old[key]:
                continue
            dimension = f"dynamodb:{'index' if index else 'table'}:{key}"
            target = scalable_target(autoscaling, NAMESPACE, resource, dimension)
            if target is not None:
                held.append({"resource_id": resource, "dimension": dimension, "target": target,
                             "units": new[key]})
    return held


def _replica_regions(dynamodb: Any, table: dict[str, Any]) -> tuple[list[str], bool]:
    """The Regions of the table's replicas, and whether it is a legacy global table: a version
    2019.11.21 global table lists them in DescribeTable (``Replicas``); a version 2017.11.29
    (legacy) one does not, and only DescribeGlobalTable of the table's name knows them
    ("Determining the version of a global table",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables.DetermineVersion.html)."""
    if table.get("Replicas") or table.get("GlobalTableVersion"):
        return [r["RegionName"] for r in table.get("Replicas") or []], False
    try:
        legacy = call(dynamodb, "describe_global_table", GlobalTableName=table["TableName"])
    except AWSError as error:
        if error.code != "GlobalTableNotFoundException":
            raise
        return [], False
    group = legacy["GlobalTableDescription"].get("ReplicationGroup") or []
    return [r["RegionName"] for r in group], True


def _other_replica_regions(dynamodb: Any, table: dict[str, Any],
                           configuration: dict[str, Any] | None, allowed: bool) -> tuple[str, ...]:
    """The Regions of a global table's other replicas (either version); refused unless
    ``allowed``, because the change reaches beyond the run's own Region. A version 2019.11.21
    table's provisioned write capacity is the same on every replica, so the change reaches them
    all ("Global tables: how it works"); a version 2017.11.29 (legacy) one's replicas keep their
    own, which must stay identical for replication to keep up ("Best practices and requirements
    for managing global tables"), so a lowered capacity here throttles the writes the other
    Regions replicate into this replica."""
    region = configured_region(configuration or {})
    regions, legacy = _replica_regions(dynamodb, table)
    others = tuple(sorted(r for r in regions if r != region))
    if others and not allowed:
        reach = ("a version 2017.11.29 (legacy) global table with replicas in "
                 f"{', '.join(others)}, whose replicated writes into this replica its lowered "
                 "capacity throttles") if legacy else (
                 f"a global table with replicas in {', '.join(others)}, and its capacity change "
                 "reaches every replica Region")
        raise ValidationError(
            f"refusing to throttle table {table['TableName']}: it is {reach}; set "
            "allow_global_table to true to run it anyway (allowed_regions guardrails then "
            "cover those Regions too)")
    return others


def _refuse_past_decrease_limits(table: dict[str, Any], before: TableSettings,
                                 after: TableSettings) -> None:
    """Refuse a throttle that DynamoDB's decrease quota would refuse, for the table and for each
    GSI apart ("Service, account, and table quotas": 4 decreases a UTC day at any time, then
    one more per hour without a decrease, 27 at most; GSIs have their own limits)."""
    nodes = {None: table, **{i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes") or []}}
    now = datetime.now(UTC)
    for part, node in nodes.items():
        old = before["table"] if part is None else before["indexes"][part]
        new = after["table"] if part is None else after["indexes"][part]
        if not any(new[k] < old[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")):
            continue
        throughput = node.get("ProvisionedThroughput") or {}
        count = int(throughput.get("NumberOfDecreasesToday", 0))
        last = throughput.get("LastDecreaseDateTime")
        quiet = last is None or (now - _utc(last)).total_seconds() >= DECREASE_QUIET_SECONDS
        if count < DECREASES_AT_ANY_TIME or (count < DECREASES_PER_DAY and quiet):
            continue
        where = f"table {table['TableName']}" + (f" GSI {part}" if part else "")
        when = ("no more today" if count >= DECREASES_PER_DAY else
                f"the next at {(_utc(last) + timedelta(seconds=DECREASE_QUIET_SECONDS)):%H:%M} UTC")
        raise ValidationError(
            f"refusing to throttle {where}: its capacity was lowered {count} times today; "
            f"DynamoDB allows {DECREASES_AT_ANY_TIME} decreases a UTC day, then one per hour "
            f"without a decrease ({DECREASES_PER_DAY} at most): {when}")


def _utc(moment: Any) -> datetime:
    """A DescribeTable timestamp (a datetime, or epoch seconds) as an aware UTC datetime."""
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(moment), UTC)


def _wait_active(dynamodb: Any, table_name: str, timeout: float, poll: float) -> None:
    wait(dynamodb, "table_exists", timeout_seconds=timeout, poll_seconds=poll, TableName=table_name)


@fault(
    reads=[Permission("dynamodb:DescribeTable"), Permission("dynamodb:ListTagsOfResource"),
           Permission("dynamodb:DescribeGlobalTable"),
           Permission("cloudwatch:GetMetricStatistics"),
           Permission("application-autoscaling:DescribeScalableTargets")],
    permissions=[Permission("dynamodb:UpdateTable", "arn:aws:dynamodb:*:*:table/*", targets=True),
                 may_register("dynamodb", "dynamodb:*CapacityUnits")],
    inverses=["restore_table_capacity", "restore_table_scaling"],
    effects=["throttle"],
    fis=throttle_in_fis,
)
def throttle_table(
    table_name: str,
    read_fraction: float | None = None,
    write_fraction: float | None = None,
    read_units: int | None = None,
    write_units: int | None = None,
    indexes: list[str] | str | None = "all",
    consumption_window_seconds: PositiveSeconds = 300,
    allow_global_table: bool = False,
    wait_timeout_seconds: PositiveSeconds = DEFAULT_WAIT_SECONDS,
    poll_seconds: PositiveSeconds = 5,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Throttle a DynamoDB table: lower its capacity (provisioned) or cap it (on-demand).

    Give `read_fraction`/`write_fraction` (0-1, of the average consumption over
    the last `consumption_window_seconds`, from CloudWatch) or
    `read_units`/`write_units`. `indexes` chooses the GSIs throttled with the
    table: `all` (default), `none`, or names. A provisioned table's capacity
    units are lowered; an on-demand table gets `OnDemandThroughput` maximums
    (its billing mode is never switched). The exact previous settings go to the
    run ledger first; `restore_table` puts them back. A lowered capacity under
    DynamoDB auto scaling has its scalable target's min lowered and scaling
    suspended first, so it is not raised back during the hold; the restore
    registers it again exactly as it was. Waits (up to
    `wait_timeout_seconds`) for the table to be `ACTIVE` before and after.
    A global table (replicas in other Regions, which the change reaches) is
    refused unless `allow_global_table` is true. Refused when AWS's limits on
    capacity decreases (per table and per GSI)
    would block it; a LimitExceededException is not retried. With
    `dry_run` the plan is printed and nothing changes. Returns the settings
    before and after, and the consumption (units/s) each fraction was taken of.
    """
    targets = _direction_targets(read_fraction, write_fraction, read_units, write_units)
    timeout, poll = wait_timeout_seconds, poll_seconds
    if not poll <= timeout:
        raise ValidationError("throttle_table needs 0 < poll_seconds <= wait_timeout_seconds")
    dynamodb = aws_client("dynamodb", configuration, secrets)
    table = describe_table(dynamodb, table_name)
    if table["TableStatus"] != "ACTIVE":
        _wait_active(dynamodb, table_name, wall_seconds(timeout), wall_seconds(poll))
        table = describe_table(dynamodb, table_name)
    before = settings_of(table)
    parts: list[str | None] = [None, *_chosen_indexes(indexes, list(before["indexes"]))]
    consumption: dict[str, float] = {}
    after = _new_settings(aws_client("cloudwatch", configuration, secrets), table_name, before,
                          parts, targets, consumption_window_seconds, consumption)
    if before["billing_mode"] != ON_DEMAND:
        _refuse_past_decrease_limits(table, before, after)
    request = update_request(table_name, before, after)
    tags = tag_dict(list(paginate(dynamodb, "list_tags_of_resource", "Tags",
                                  ResourceArn=table["TableArn"])))
    replicas = _other_replica_regions(dynamodb, table, configuration, allow_global_table)
    autoscaling = aws_client("application-autoscaling", configuration, secrets)
    scaling = _scaling_to_hold(autoscaling, table_name, before, after)

    def apply(ledger: Ledger) -> None:
        if scaling:
            # Auto scaling first: each lowered capacity's scalable target gets the new value as
            # its min and every scaling suspended, so no policy raises the capacity back mid-hold
            # (the capacity is still inside the widened min/max, so nothing moves yet).
            with ledger.mutation(f"dynamodb:table/{table_name}", "hold_scaling",
                                 {"scaling": scaling},
                                 {"op": "restore_table_scaling", "scaling": scaling},
                                 effect=False) as holding:
                for hold in scaling:
                    register(autoscaling, NAMESPACE, hold["resource_id"], hold["dimension"],
                             widened(hold["target"], hold["units"]))
                    holding.applied()
        try:
            with ledger.mutation(f"dynamodb:table/{table_name}", "throttle", before,
                                 {"op": "restore_table_capacity", "table_name": table_name,
                                  "settings": before, "timeout_seconds": timeout}) as mutation:
                call_retrying_transient(aws_client("dynamodb", configuration, secrets,
                                                   retries=False), "update_table", **request)
                mutation.outcome = after
        except AWSError as exc:
            if exc.code == "LimitExceededException":
                raise AWSError(
                    f"AWS refused to lower the capacity of table {table_name}: DynamoDB allows "
                    f"{DECREASES_AT_ANY_TIME} decreases a UTC day for the table and for each GSI, "
                    f"then one per hour without decreases ({DECREASES_PER_DAY} at most); its "
                    f"capacity was not changed ({exc})",
                    code=exc.code, operation="update_table", status=exc.status) from exc
            raise
        _wait_active(dynamodb, table_name, wall_seconds(timeout), wall_seconds(poll))
        logger.info(f"chaos-sre: throttled table {table_name}: {before} -> {after}")

    held = ", ".join(f"{h['resource_id']} {h['dimension']}" for h in scaling)
    return Plan(targets=[Target(f"dynamodb:table/{table_name}", tags, regions=replicas)],
                summary={"table_name": table_name, "before": before, "after": after,
                         "consumption": consumption, "suspended_scaling": scaling},
                apply=apply,
                calls=[PlannedCall("dynamodb:UpdateTable", str(table["TableArn"]), tags),
                       *(registering(NAMESPACE, str(d)) for d in sorted({h["dimension"] for h in scaling}))],
                action=f"update table {table_name}: {request}"
                + (f"; suspend auto scaling of {held}" if held else ""))


restore_table = restore_run


class RestoreTableCapacity(Inverse):
    """A table's (and its GSIs') capacity settings, exactly as they were."""

    table_name: str
    settings: dict[str, Any]
    timeout_seconds: float = DEFAULT_WAIT_SECONDS


class RestoreTableScaling(Inverse):
    """The scalable targets the throttle held, each with its recorded min, max and state."""

    scaling: list[dict[str, Any]]


@inverse("restore_table_capacity", RestoreTableCapacity)
def _restore_capacity(op: RestoreTableCapacity, configuration: Settings, secrets: Settings) -> str:
    dynamodb = aws_client("dynamodb", configuration, secrets)
    name, wanted = op.table_name, op.settings
    timeout = wall_seconds(op.timeout_seconds)
    _wait_active(dynamodb, name, timeout, poll_wall_seconds("dynamodb"))
    current = settings_of(describe_table(dynamodb, name))
    if current == wanted:
        return f"table {name} already has its settings"
    if current["billing_mode"] != wanted["billing_mode"]:
        raise ValidationError(f"table {name} is {current['billing_mode']} now, it was "
                              f"{wanted['billing_mode']}: restore its billing mode by hand")
    call(dynamodb, "update_table", **update_request(name, current, wanted))
    _wait_active(dynamodb, name, timeout, poll_wall_seconds("dynamodb"))
    return f"table {name} restored to {wanted['table']}" + (
        f", GSIs {wanted['indexes']}" if wanted["indexes"] else "")


@inverse("restore_table_scaling", RestoreTableScaling, after=["restore_table_capacity"])
def _restore_scaling(op: RestoreTableScaling, configuration: Settings, secrets: Settings) -> str:
    """Register each scalable target the throttle held with exactly its recorded min, max and
    suspended state (after the capacity is back: the ledger replays newest first)."""
    autoscaling = aws_client("application-autoscaling", configuration, secrets)
    restored = []
    for hold in op.scaling:
        if scalable_target(autoscaling, NAMESPACE, hold["resource_id"], hold["dimension"]) \
                != hold["target"]:
            register(autoscaling, NAMESPACE, hold["resource_id"], hold["dimension"], hold["target"])
            restored.append(f"{hold['resource_id']} {hold['dimension']}")
    return (f"auto scaling of {', '.join(restored)} as it was" if restored
            else "auto scaling already as it was")


THROTTLE_METRICS = ("ReadThrottleEvents", "WriteThrottleEvents")


@effect_check("throttle")
def _capacity_lowered(intent: Operation, outcome: Any, configuration: Settings,
                      secrets: Settings) -> str | None:
    """While the fault is live, the table still has the capacity the fault set."""
    table_name = str(intent["resource"]).split("/", 1)[1]
    current = settings_of(describe_table(aws_client("dynamodb", configuration, secrets),
                                         table_name))
    if isinstance(outcome, dict) and current != outcome:
        return (f"its capacity is {current} again, not the {outcome} the fault set: something "
                "(auto scaling, a deployment) raised it back")
    return None


@effect_check("throttle", settled=True)
def _throttled(intent: Operation, outcome: Any, configuration: Settings,
               secrets: Settings) -> str | None:
    """Once the service settled, CloudWatch saw the table throttle requests since the capacity
    was lowered (burst capacity may absorb the first seconds of the hold, or all of it)."""
    table_name = str(intent["resource"]).split("/", 1)[1]
    # the minute the capacity was lowered in, and every complete one since
    window = aws_seconds(max(0.0, time.time() - float(intent["at"]))) + MINUTE_SECONDS
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    throttled = sum(metric_minutes(cloudwatch, metric, {"TableName": table_name}, window).total
                    for metric in THROTTLE_METRICS)
    if throttled <= 0:
        return ("CloudWatch shows no throttled request since the capacity was lowered: burst "
                "capacity or low traffic absorbed the throttle")
    return None
