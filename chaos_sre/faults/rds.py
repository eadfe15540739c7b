"""Database faults: fail over an Aurora cluster or a Multi-AZ RDS instance.

`failover` forces the failover AWS would make on a writer failure:

* Aurora cluster: FailoverDBCluster with an explicit target - the available
  reader in another AZ than the writer that Aurora would promote (lowest
  promotion tier, then the largest instance), or the reader named in
  `target_instance`. An Aurora Serverless v2 reader in promotion tier 2-15
  scales independently of the writer and may be at its minimum capacity when
  promoted, so it is refused as the chosen target unless named;
* Multi-AZ DB cluster (RDS for MySQL or PostgreSQL with readable standbys):
  FailoverDBCluster; for MySQL without a target, which RDS does not support
  there (RDS promotes one of the standbys);
* RDS instance: RebootDBInstance with ForceFailover, which needs Multi-AZ.

A database without a standby elsewhere (a single-instance Aurora cluster, a
single-AZ instance) has nothing to fail over to: the "failover" would be a
restart of the writer, a full outage for its reboot time. `failover` refuses
that unless `allow_reboot` is true.

A failover cannot be undone without a second outage, so by default its rollback
does not fail back: before the call the run ledger records the writer and its AZ
and the inverse "wait until the database is available", which `restore_database`
(or any replay of the ledger) runs; the writer left in the other AZ is named in
the journal (``left_changed``) and the report. With `fail_back: true` the
rollback fails back to the original writer once the database is available
again - after the experiment's observation, inside the run, so the verdict's
restore figures judge the second outage too.
"""

import logging
import time
from typing import Any, Literal, cast

import pydantic

from chaos_sre.aws import aws_client, call, tag_dict
from chaos_sre.aws.polling import poll_wall_seconds
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.rds_fis import failover_in_fis
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, PreState, Target, fault
from chaos_sre.safety.ledger import (
    Inverse,
    Ledger,
    LeftChanged,
    Operation,
    Restored,
    Settings,
    current_ledger,
    inverse,
)
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.rds import (
    Writer,
    database_target,
    describe_cluster,
    describe_instance,
    ledger_resource,
    promotion_order,
    scales_independently,
    wait_available,
    writer_of,
)
from chaos_sre.timescale import wall_seconds
from chaos_sre.values import PositiveSeconds
from chaos_sre.waiting import WaitTimeout, poll

__all__ = ["failover", "restore_database"]

logger = logging.getLogger("chaostoolkit")
AVAILABLE = "available"
DEFAULT_RESTORE_TIMEOUT_SECONDS = 900.0


def _cluster_plan(rds: Any, identifier: str, target_instance: str | None,
                  allow_reboot: bool) -> dict[str, Any]:
    cluster = describe_cluster(rds, identifier)
    if cluster["status"] != AVAILABLE:
        raise ValidationError(f"Aurora cluster {identifier} is {cluster['status']}, not available: "
                              "wait for it before failing it over")
    writers = [m for m in cluster["members"] if m["writer"]]
    if not writers:
        raise ValidationError(f"Aurora cluster {identifier} has no writer instance")
    writer = writers[0]
    readers = [m for m in cluster["members"] if not m["writer"]]
    before = {"instance": writer["instance"], "availability_zone": writer["availability_zone"]}
    tags = cluster["tags"]
    if cluster["multi_az_db_cluster"] and cluster["engine"] == "mysql":
        # FailoverDBCluster's TargetDBInstanceIdentifier "isn't supported for RDS for MySQL
        # Multi-AZ DB clusters" (API reference): RDS promotes one of the readable standbys.
        if target_instance:
            raise ValidationError(f"target_instance cannot be used with {identifier}: RDS for "
                                  "MySQL Multi-AZ DB clusters fail over to a standby RDS picks")
        return {"kind": "aurora-failover", "before": before, "tags": tags,
                "target": {"instance": None, "availability_zone": None}}
    if target_instance:
        chosen = [m for m in readers if m["instance"] == target_instance]
        if not chosen:
            raise ValidationError(f"target_instance {target_instance} is not a reader of Aurora "
                                  f"cluster {identifier} (readers: "
                                  f"{', '.join(m['instance'] for m in readers) or 'none'})")
        if chosen[0]["status"] != AVAILABLE:
            raise ValidationError(f"target_instance {target_instance} is {chosen[0]['status']}, "
                                  "not available")
        return {"kind": "aurora-failover", "before": before, "target": chosen[0], "tags": tags}
    elsewhere = promotion_order(
        [m for m in readers
         if m["status"] == AVAILABLE and m["availability_zone"] != writer["availability_zone"]],
        writer)
    if elsewhere and scales_independently(elsewhere[0]):
        promoted = elsewhere[0]
        raise ValidationError(
            f"refusing to fail over Aurora cluster {identifier} to {promoted['instance']}: it is an "
            f"Aurora Serverless v2 reader in promotion tier {promoted['promotion_tier']}, which scales "
            "independently of the writer (only tiers 0 and 1 follow it), so it may take over the "
            "writes at its minimum capacity and stay the writer; put it in tier 0 or 1, or name "
            "it with target_instance to fail over to it anyway")
    if elsewhere:
        return {"kind": "aurora-failover", "before": before, "target": elsewhere[0], "tags": tags}
    if readers:
        listed = ", ".join(f"{m['instance']} ({m['status']}, {m['availability_zone']})" for m in readers)
        raise ValidationError(
            f"refusing to fail over Aurora cluster {identifier}: no available reader outside "
            f"{writer['availability_zone']} (readers: {listed}); name one with target_instance "
            "to fail over anyway")
    if not allow_reboot:
        raise ValidationError(
            f"refusing to fail over Aurora cluster {identifier}: it has no reader to promote, only "
            f"the writer {writer['instance']} in {writer['availability_zone']}, so a failover is a "
            "restart of the writer - a full outage; set allow_reboot to true to reboot it anyway")
    return {"kind": "reboot", "before": before, "reboot": writer["instance"], "tags": tags}


def _instance_plan(rds: Any, identifier: str, allow_reboot: bool) -> dict[str, Any]:
    instance = describe_instance(rds, identifier)
    if instance.get("DBClusterIdentifier"):
        raise ValidationError(f"RDS instance {identifier} belongs to Aurora cluster "
                              f"{instance['DBClusterIdentifier']}: fail over the cluster "
                              "(db_cluster_identifier) instead")
    if instance["DBInstanceStatus"] != AVAILABLE:
        raise ValidationError(f"RDS instance {identifier} is {instance['DBInstanceStatus']}, not "
                              "available: wait for it before failing it over")
    before = {"instance": identifier, "availability_zone": instance["AvailabilityZone"]}
    tags = tag_dict(instance.get("TagList"))
    if instance.get("MultiAZ"):
        return {"kind": "multi-az-failover", "before": before, "reboot": identifier, "tags": tags,
                "target": {"instance": identifier,
                           "availability_zone": instance.get("SecondaryAvailabilityZone")}}
    if not allow_reboot:
        raise ValidationError(
            f"refusing to fail over RDS instance {identifier}: it is single-AZ (no standby), so a "
            "failover is a plain reboot - a full outage for its reboot time; set allow_reboot to "
            "true to reboot it anyway")
    return {"kind": "reboot", "before": before, "reboot": identifier, "tags": tags}


@fault(
    reads=[Permission("rds:DescribeDBClusters"), Permission("rds:DescribeDBInstances")],
    permissions=[Permission("rds:FailoverDBCluster", "arn:aws:rds:*:*:cluster:*", targets=True),
                 Permission("rds:RebootDBInstance", "arn:aws:rds:*:*:db:*", targets=True)],
    inverses=["await_database_available"],
    effects=["aurora-failover", "multi-az-failover", "reboot"],
    fis=failover_in_fis,
)
def failover(
    db_cluster_identifier: str | None = None,
    db_instance_identifier: str | None = None,
    target_instance: str | None = None,
    allow_reboot: bool = False,
    fail_back: bool = False,
    restore_timeout_seconds: PositiveSeconds = DEFAULT_RESTORE_TIMEOUT_SECONDS,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Force a failover of an Aurora cluster or a Multi-AZ RDS instance.

    Name exactly one of `db_cluster_identifier` (Aurora: FailoverDBCluster to
    the available reader in another AZ that Aurora would promote, or to
    `target_instance`; a MySQL Multi-AZ DB cluster: to the standby RDS picks) and
    `db_instance_identifier` (RebootDBInstance with ForceFailover; the
    instance must be Multi-AZ). A database with no standby in another AZ is
    refused unless `allow_reboot` is true, in which case its writer is
    rebooted (a full outage). The database must be `available`. The writer
    and its AZ are recorded in the run ledger first; the rollback waits up to
    `restore_timeout_seconds` for the database to be available and, with
    `fail_back: true`, fails back to the original writer (FailoverDBCluster to
    it, or a second RebootDBInstance with ForceFailover) and waits until it is
    the writer again; without it, the writer's move is reported as left
    changed. With `dry_run` the plan is printed and nothing changes.
    Returns the kind of fault and the writer before and (expected) after.
    """
    kind, identifier = database_target(db_cluster_identifier, db_instance_identifier)
    rds = aws_client("rds", configuration, secrets)
    if kind == "cluster":
        plan = _cluster_plan(rds, identifier, target_instance or None, bool(allow_reboot))
    else:
        plan = _instance_plan(rds, identifier, bool(allow_reboot))
    if fail_back and plan["kind"] == "aurora-failover" and not plan["target"]["instance"]:
        raise ValidationError(f"fail_back cannot be used with {identifier}: RDS for MySQL "
                              "Multi-AZ DB clusters fail over to a standby RDS picks, so a fail-back "
                              "cannot name the original writer")
    target = plan.get("target") or plan["before"]
    summary = {
        "database": identifier, "kind": plan["kind"],
        "from_writer": plan["before"]["instance"],
        "from_availability_zone": plan["before"]["availability_zone"],
        "to_writer": target["instance"], "to_availability_zone": target["availability_zone"],
        "fail_back": bool(fail_back),
    }

    writer: Writer = plan["before"]
    before = WriterBefore(**writer, kind=plan["kind"])
    before["status"] = AVAILABLE

    def apply(ledger: Ledger) -> None:
        with ledger.mutation(
            ledger_resource(kind, identifier), plan["kind"], before,
            {"op": "await_database_available", "kind": kind, "identifier": identifier,
             "timeout_seconds": float(restore_timeout_seconds),
             "writer_before": {"instance": writer["instance"],
                               "availability_zone": writer["availability_zone"]},
             "fail_back": bool(fail_back)},
        ):
            if plan["kind"] == "aurora-failover":  # no target named: RDS picks the standby
                named = {"TargetDBInstanceIdentifier": target["instance"]} if target["instance"] \
                    else {}
                call(rds, "failover_db_cluster", DBClusterIdentifier=identifier, **named)
            else:
                call(rds, "reboot_db_instance", DBInstanceIdentifier=plan["reboot"],
                     ForceFailover=plan["kind"] == "multi-az-failover")
        logger.info(f"chaos-sre: {plan['kind']} of {identifier} started: {_move(summary)}")

    calls = [PlannedCall("rds:FailoverDBCluster", f"cluster:{identifier}", plan["tags"])
             if plan["kind"] == "aurora-failover" else
             PlannedCall("rds:RebootDBInstance", f"db:{plan['reboot']}", plan["tags"])]
    return Plan(targets=[Target(ledger_resource(kind, identifier), plan["tags"],
                                plan["before"]["availability_zone"])],
                summary=summary, apply=apply, calls=calls,
                pre_states=[PreState(ledger_resource(kind, identifier), plan["kind"], before)],
                action=f"{plan['kind']} {identifier}: {_move(summary)}")


def _move(summary: dict[str, Any]) -> str:
    """``writer A in AZ -> B in AZ`` for the log (RDS's own choice when the target is not named)."""
    to = f"{summary['to_writer']} in {summary['to_availability_zone']}" if summary["to_writer"] \
        else "a readable standby RDS picks"
    return f"writer {summary['from_writer']} in {summary['from_availability_zone']} -> {to}"


restore_database = restore_run


class WriterPlace(pydantic.BaseModel):
    """Where a writer was: its instance and Availability Zone."""

    instance: str
    availability_zone: str | None


class AwaitDatabaseAvailable(Inverse):
    """The database available again; with ``fail_back``, its writer back where it was (older
    ledgers record neither ``writer_before`` nor ``fail_back``: the database is only awaited)."""

    kind: Literal["cluster", "instance"]
    identifier: str
    timeout_seconds: float = DEFAULT_RESTORE_TIMEOUT_SECONDS
    writer_before: WriterPlace | None = None
    fail_back: bool = False


def _moved(kind: str, before: WriterPlace, now: Writer) -> bool:
    """An Aurora cluster's writer is another instance; an RDS instance runs in another AZ."""
    return now["instance"] != before.instance if kind == "cluster" \
        else now["availability_zone"] != before.availability_zone


def _where(writer: Writer | WriterPlace) -> str:
    instance, zone = (writer.instance, writer.availability_zone) if isinstance(writer, WriterPlace) \
        else (writer["instance"], writer["availability_zone"])
    return f"writer {instance} in {zone}"


@inverse("await_database_available", AwaitDatabaseAvailable)
def _await_available(op: AwaitDatabaseAvailable, configuration: Settings,
                     secrets: Settings) -> str | Restored:
    """Wait until the database is available; then fail back (``fail_back``) or name the
    writer's move as left changed."""
    rds = aws_client("rds", configuration, secrets)
    deadline = time.monotonic() + wall_seconds(op.timeout_seconds)
    wait_available(rds, op.kind, op.identifier, timeout_seconds=wall_seconds(op.timeout_seconds),
                   poll_seconds=poll_wall_seconds("rds"))
    now = writer_of(rds, op.kind, op.identifier)
    database = f"{'Aurora cluster' if op.kind == 'cluster' else 'RDS instance'} {op.identifier}"
    text = f"{database} available, {_where(now)}"
    if op.writer_before is None or not _moved(op.kind, op.writer_before, now):
        return text
    if op.fail_back:
        _fail_back(rds, op, op.writer_before, now, deadline)
        return f"{database} failed back: available, {_where(op.writer_before)} again"
    return Restored(text, LeftChanged(
        resource=ledger_resource(op.kind, op.identifier), change="writer moved by the failover",
        before=_where(op.writer_before), after=_where(now),
        undo=("fail over again to it (FailoverDBCluster --target-db-instance-identifier "
              f"{op.writer_before.instance})" if op.kind == "cluster" else
              "fail over again (RebootDBInstance --force-failover)")
        + ", or run the experiment with fail_back: true"))


def _fail_back(rds: Any, op: AwaitDatabaseAvailable, before: WriterPlace, now: Writer,
               deadline: float) -> None:
    """Fail over to the original writer and wait (until ``deadline``) until it is the writer
    and the database is available."""
    logger.info(f"chaos-sre: failing {op.identifier} back: {_where(now)} -> {_where(before)}")
    if op.kind == "cluster":
        call(rds, "failover_db_cluster", DBClusterIdentifier=op.identifier,
             TargetDBInstanceIdentifier=before.instance)
    else:
        call(rds, "reboot_db_instance", DBInstanceIdentifier=op.identifier, ForceFailover=True)

    def back() -> tuple[bool, Writer]:
        writer = writer_of(rds, op.kind, op.identifier)
        return not _moved(op.kind, before, writer) and writer["status"] == AVAILABLE, writer

    try:
        poll(back, what=f"{op.identifier} failing back to {_where(before)}", describe=_where,
             timeout_seconds=max(0.0, deadline - time.monotonic()),
             interval_seconds=poll_wall_seconds("rds"), aws_time=False)
    except WaitTimeout as exc:
        raise AWSError(str(exc), operation="fail_back") from None
    wait_available(rds, op.kind, op.identifier,
                   timeout_seconds=max(1.0, deadline - time.monotonic()),
                   poll_seconds=poll_wall_seconds("rds"))


class WriterBefore(Writer):
    """The pre-state a failover records: where the writer was, and which failover."""

    kind: str


def recorded_writer(kind: str, identifier: str) -> WriterBefore | None:
    """The writer before this run's :func:`failover` of the database (what it recorded in the
    run ledger as the pre-state), or None when this run did not fail it over (or AWS refused)."""
    for entry in reversed(current_ledger().intents()):
        if entry["resource"] == ledger_resource(kind, identifier):
            return cast(WriterBefore, entry["pre_state"])
    return None


@effect_check("aurora-failover", "multi-az-failover", "reboot")
def _writer_moved(intent: Operation, outcome: Any, configuration: Settings,
                  secrets: Settings) -> str | None:
    """A failover moved the writer (or is still under way); a reboot, which AWS always performs
    once it accepted the call, shows in the database not being available or having restarted."""
    kind, identifier = str(intent["resource"]).removeprefix("rds:").split("/", 1)
    before = cast(WriterBefore, intent["pre_state"])
    now = writer_of(aws_client("rds", configuration, secrets), kind, identifier)
    if now["status"] != AVAILABLE or intent["operation"] == "reboot":
        return None
    moved = now["instance"] != before["instance"] if kind == "cluster" \
        else now["availability_zone"] != before["availability_zone"]
    if not moved:
        return (f"its writer is still {now['instance']} in {now['availability_zone']}: the "
                "failover did not move it")
    return None
