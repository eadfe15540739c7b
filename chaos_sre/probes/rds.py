"""Database probes: who the writer is, where it runs, and whether a failover finished.

Name an Aurora cluster with `db_cluster_identifier` or an RDS instance with
`db_instance_identifier` (exactly one). For an instance, the writer is the
instance itself and its Availability Zone moves to the standby's on a Multi-AZ
failover.
"""

import time
from collections.abc import Mapping
from typing import Any

from chaos_sre.aws import aws_client
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.rds import AVAILABLE, recorded_writer
from chaos_sre.permissions import requires
from chaos_sre.services.rds import Writer, database_target, describe_cluster, wait_available, writer_of
from chaos_sre.timescale import aws_seconds, wall_seconds
from chaos_sre.waiting import WaitTimeout, poll

__all__ = ["database_status", "wait_for_failover", "writer", "writer_availability_zone"]


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def writer(db_cluster_identifier: str | None = None, db_instance_identifier: str | None = None,
           configuration: dict[str, Any] | None = None,
           secrets: dict[str, Any] | None = None) -> Writer:
    """The database's writer: `instance`, `availability_zone` and the database's `status`."""
    kind, identifier = database_target(db_cluster_identifier, db_instance_identifier)
    return writer_of(aws_client("rds", configuration, secrets), kind, identifier)


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def writer_availability_zone(db_cluster_identifier: str | None = None,
                             db_instance_identifier: str | None = None,
                             configuration: dict[str, Any] | None = None,
                             secrets: dict[str, Any] | None = None) -> str:
    """The Availability Zone the database's writer runs in, e.g. `us-east-1a`."""
    return str(writer(db_cluster_identifier, db_instance_identifier,
                      configuration, secrets)["availability_zone"])


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def database_status(db_cluster_identifier: str | None = None,
                    db_instance_identifier: str | None = None,
                    configuration: dict[str, Any] | None = None,
                    secrets: dict[str, Any] | None = None) -> str:
    """The cluster's or instance's status as RDS reports it, e.g. `available`."""
    return str(writer(db_cluster_identifier, db_instance_identifier,
                      configuration, secrets)["status"])


def _shows_the_failover(rds: Any, kind: str, identifier: str, old_writer: str | None,
                        old_zone: str | None) -> tuple[bool, Mapping[str, Any]]:
    """(whether the database shows a failover or reboot - not `available`, a cluster member
    not `available`, or the writer moved - and its writer now)."""
    if kind == "instance":
        writer_now = writer_of(rds, kind, identifier)
        return writer_now["status"] != AVAILABLE or writer_now["availability_zone"] != old_zone, writer_now
    cluster = describe_cluster(rds, identifier)  # one read: status, members and writer
    writers = [m for m in cluster["members"] if m["writer"]]
    now = writers[0] if writers else {"instance": None, "availability_zone": None}
    down = cluster["status"] != AVAILABLE or any(m["status"] != AVAILABLE for m in cluster["members"])
    return down or now["instance"] != old_writer, now


def _wait_until_begun(rds: Any, kind: str, identifier: str, old_writer: str | None,
                      old_zone: str | None, deadline: float, poll_seconds: float) -> None:
    """Poll until the database shows the failover (:func:`_shows_the_failover`). Without a
    writer before to compare with, nothing is awaited."""
    if old_writer is None and old_zone is None:
        return
    try:
        poll(lambda: _shows_the_failover(rds, kind, identifier, old_writer, old_zone),
             what=f"{identifier} failing over", timeout_seconds=max(0.0, deadline - time.monotonic()),
             interval_seconds=poll_seconds, aws_time=False)
    except WaitTimeout:
        now = writer_of(rds, kind, identifier)
        raise AWSError(f"{identifier} still shows no failover: available, writer "
                       f"{now['instance']} in {now['availability_zone']}",
                       operation="wait_for_failover") from None


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def wait_for_failover(db_cluster_identifier: str | None = None,
                      db_instance_identifier: str | None = None,
                      previous_writer: str | None = None,
                      previous_availability_zone: str | None = None,
                      timeout_seconds: float = 600,
                      poll_seconds: float = 10,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wait until the failover has begun, then until the database is `available`
    again with its writer moved.

    RDS status is eventually consistent: right after FailoverDBCluster or
    RebootDBInstance, Describe calls can still answer `available` with the old
    writer, and a waiter would pass on its first poll. So this first polls
    (every `poll_seconds` AWS seconds) until the database is no longer `available` or the
    writer already moved, then uses the boto3 waiters (`db_cluster_available`, then `db_instance_available`
    for the instance or every cluster member),
    then compares the writer with the one before the failover: the pre-state
    this run's `failover` recorded in the run ledger, or `previous_writer` /
    `previous_availability_zone` when given. Fails when the writer did not
    change (an Aurora failover moves the writer to another instance, a
    Multi-AZ failover moves the instance to its standby's AZ); after a plain
    reboot (`allow_reboot`) the writer stays where it was and `changed` is
    false. Returns the writer before and after and the seconds waited.
    """
    kind, identifier = database_target(db_cluster_identifier, db_instance_identifier)
    if not 0 < float(poll_seconds) <= float(timeout_seconds):
        raise ValidationError("wait_for_failover needs 0 < poll_seconds <= timeout_seconds")
    rds = aws_client("rds", configuration, secrets)
    before = recorded_writer(kind, identifier)
    old_writer = previous_writer or (before["instance"] if before else None)
    old_zone = previous_availability_zone or (before["availability_zone"] if before else None)
    started = time.monotonic()
    deadline = started + wall_seconds(float(timeout_seconds))
    interval = wall_seconds(float(poll_seconds))
    _wait_until_begun(rds, kind, identifier, old_writer, old_zone, deadline, interval)
    wait_available(rds, kind, identifier, timeout_seconds=max(interval,
                                                              deadline - time.monotonic()),
                   poll_seconds=interval)
    now = writer_of(rds, kind, identifier)
    moved = (now["availability_zone"] != old_zone) if kind == "instance" else (now["instance"] != old_writer)
    if old_writer is None and old_zone is None:
        changed = None
    elif before is not None and before["kind"] == "reboot" and not (previous_writer or previous_availability_zone):
        changed = moved
    elif not moved:
        raise AWSError(f"{identifier} is available but its writer did not move: still "
                       f"{now['instance']} in {now['availability_zone']}")
    else:
        changed = True
    return {"writer": now["instance"], "availability_zone": now["availability_zone"],
            "previous_writer": old_writer, "previous_availability_zone": old_zone,
            "changed": changed, "waited_seconds": round(aws_seconds(time.monotonic() - started), 3)}
