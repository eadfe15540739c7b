"""Database probes: who the writer is, where it runs, and whether a failover finished.

Name an Aurora cluster with `db_cluster_identifier` or an RDS instance with
`db_instance_identifier` (exactly one). For an instance, the writer is the
instance itself and its Availability Zone moves to the standby's on a Multi-AZ
failover.
"""

import time
from typing import Any

from chaos_sre.aws import aws_client, paginate, tag_dict, wait
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import current_ledger

__all__ = ["database_status", "wait_for_failover", "writer", "writer_availability_zone"]


def database_target(db_cluster_identifier: str | None,
                    db_instance_identifier: str | None) -> tuple[str, str]:
    """("cluster" | "instance", identifier) from the two optional arguments (exactly one)."""
    cluster, instance = db_cluster_identifier or None, db_instance_identifier or None
    if bool(cluster) == bool(instance):
        raise ValidationError("name exactly one database: db_cluster_identifier (Aurora) or "
                              "db_instance_identifier (RDS instance)")
    return ("cluster", str(cluster)) if cluster else ("instance", str(instance))


def ledger_resource(kind: str, identifier: str) -> str:
    """How the run ledger names a database."""
    return f"rds:{kind}/{identifier}"


def describe_cluster(rds: Any, identifier: str) -> dict[str, Any]:
    """DescribeDBClusters for one cluster, plus each member's AZ and status."""
    clusters = list(paginate(rds, "describe_db_clusters", "DBClusters",
                             DBClusterIdentifier=identifier))
    if not clusters:
        raise AWSError(f"Aurora cluster {identifier} not found", code="DBClusterNotFoundFault")
    cluster = clusters[0]
    instances = {
        i["DBInstanceIdentifier"]: i
        for i in paginate(rds, "describe_db_instances", "DBInstances",
                          Filters=[{"Name": "db-cluster-id", "Values": [identifier]}])
    }
    members = []
    for member in cluster.get("DBClusterMembers", []):
        detail = instances.get(member["DBInstanceIdentifier"], {})
        members.append({
            "instance": member["DBInstanceIdentifier"],
            "writer": bool(member["IsClusterWriter"]),
            "promotion_tier": member.get("PromotionTier", 1),
            "availability_zone": detail.get("AvailabilityZone"),
            "status": detail.get("DBInstanceStatus"),
        })
    return {"status": cluster["Status"], "members": members,
            "tags": tag_dict(cluster.get("TagList"))}


def describe_instance(rds: Any, identifier: str) -> dict[str, Any]:
    """DescribeDBInstances for one instance."""
    found = list(paginate(rds, "describe_db_instances", "DBInstances",
                          DBInstanceIdentifier=identifier))
    if not found:
        raise AWSError(f"RDS instance {identifier} not found", code="DBInstanceNotFound")
    return dict(found[0])


def wait_available(rds: Any, kind: str, identifier: str, *, timeout_seconds: float,
                   poll_seconds: float) -> None:
    """Wait (boto3 waiters) until the database and, for a cluster, every member is available."""
    deadline = time.monotonic() + timeout_seconds
    filters: dict[str, Any]
    if kind == "cluster":
        wait(rds, "db_cluster_available", timeout_seconds=timeout_seconds,
             poll_seconds=poll_seconds, DBClusterIdentifier=identifier)
        filters = {"Filters": [{"Name": "db-cluster-id", "Values": [identifier]}]}
    else:
        filters = {"DBInstanceIdentifier": identifier}
    wait(rds, "db_instance_available", poll_seconds=poll_seconds,
         timeout_seconds=max(poll_seconds, deadline - time.monotonic()), **filters)


def _writer_of(rds: Any, kind: str, identifier: str) -> dict[str, Any]:
    if kind == "cluster":
        cluster = describe_cluster(rds, identifier)
        writers = [m for m in cluster["members"] if m["writer"]]
        if not writers:
            raise AWSError(f"Aurora cluster {identifier} has no writer instance")
        return {"instance": writers[0]["instance"],
                "availability_zone": writers[0]["availability_zone"],
                "status": cluster["status"]}
    instance = describe_instance(rds, identifier)
    return {"instance": identifier, "availability_zone": instance["AvailabilityZone"],
            "status": instance["DBInstanceStatus"],
            "standby_availability_zone": instance.get("SecondaryAvailabilityZone")}


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def writer(db_cluster_identifier: str | None = None, db_instance_identifier: str | None = None,
           configuration: dict[str, Any] | None = None,
           secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The database's writer: `instance`, `availability_zone` and the database's `status`."""
    kind, identifier = database_target(db_cluster_identifier, db_instance_identifier)
    return _writer_of(aws_client("rds", configuration, secrets), kind, identifier)


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


def _recorded_writer(kind: str, identifier: str) -> dict[str, Any] | None:
    """The writer before this run's failover of the database, from the run ledger."""
    for entry in reversed(current_ledger().entries()):
        if entry["kind"] == "intent" and entry["resource"] == ledger_resource(kind, identifier):
            return dict(entry["pre_state"])
    return None


@requires("rds:DescribeDBClusters", "rds:DescribeDBInstances")
def wait_for_failover(db_cluster_identifier: str | None = None,
                      db_instance_identifier: str | None = None,
                      previous_writer: str | None = None,
                      previous_availability_zone: str | None = None,
                      timeout_seconds: float = 600,
                      poll_seconds: float = 1,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wait until the database is `available` again with its writer moved.

    Uses the boto3 waiters (`db_cluster_available`, then `db_instance_available`
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
    before = _recorded_writer(kind, identifier) or {}
    old_writer = previous_writer or before.get("instance")
    old_zone = previous_availability_zone or before.get("availability_zone")
    started = time.monotonic()
    wait_available(rds, kind, identifier, timeout_seconds=float(timeout_seconds),
                   poll_seconds=float(poll_seconds))
    now = _writer_of(rds, kind, identifier)
    moved = (now["availability_zone"] != old_zone) if kind == "instance" else (now["instance"] != old_writer)
    if old_writer is None and old_zone is None:
        changed = None
    elif before.get("kind") == "reboot" and not (previous_writer or previous_availability_zone):
        changed = moved
    elif not moved:
        raise AWSError(f"{identifier} is available but its writer did not move: still "
                       f"{now['instance']} in {now['availability_zone']}")
    else:
        changed = True
    return {"writer": now["instance"], "availability_zone": now["availability_zone"],
            "previous_writer": old_writer, "previous_availability_zone": old_zone,
            "changed": changed, "waited_seconds": round(time.monotonic() - started, 3)}
