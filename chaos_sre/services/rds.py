"""RDS and Aurora databases as faults and probes read them: members, writers, availability.

A database is named by kind (``cluster`` for Aurora or a Multi-AZ DB cluster,
``instance`` for an RDS instance) and identifier. For an instance, the writer is
the instance itself and its Availability Zone moves to the standby's on a
Multi-AZ failover.
"""

import time
from typing import Any, NotRequired, TypedDict

from chaos_sre.aws import paginate, tag_dict, wait
from chaos_sre.errors import AWSError, ValidationError


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
            "instance_class": detail.get("DBInstanceClass"),
        })
    return {"status": cluster["Status"], "members": members,
            "tags": tag_dict(cluster.get("TagList")), "engine": cluster.get("Engine", ""),
            "multi_az_db_cluster": is_multi_az_db_cluster(cluster.get("Engine"),
                                                          cluster.get("DBClusterInstanceClass"))}


MULTI_AZ_DB_CLUSTER_ENGINES = ("mysql", "postgres")
SERVERLESS_V2_CLASS = "db.serverless"
SERVERLESS_V2_TIERS_FOLLOWING_THE_WRITER = (0, 1)


def is_multi_az_db_cluster(engine: str | None, cluster_instance_class: str | None) -> bool:
    """An RDS Multi-AZ DB cluster (RDS for MySQL or PostgreSQL with a DB cluster instance class:
    a writer and two readable standbys), as opposed to an Aurora cluster."""
    return engine in MULTI_AZ_DB_CLUSTER_ENGINES and bool(cluster_instance_class)


def instance_vcpus(instance_class: str | None) -> float:
    """The vCPUs of a DB instance class by its size (``db.r6g.2xlarge``: 8); 0 when unknown."""
    size = str(instance_class or "").rsplit(".", 1)[-1]
    if size.endswith("xlarge"):
        multiple = size.removesuffix("xlarge") or "1"
        return 4.0 * int(multiple) if multiple.isdigit() else 0.0
    return {"nano": 0.25, "micro": 0.5, "small": 1.0, "medium": 2.0, "large": 2.0,
            "metal": 1024.0}.get(size, 0.0)


def scales_independently(member: dict[str, Any]) -> bool:
    """An Aurora Serverless v2 reader in promotion tier 2-15: its capacity does not follow the
    writer's, so it can be at its minimum when it is promoted."""
    return member.get("instance_class") == SERVERLESS_V2_CLASS and \
        member.get("promotion_tier", 1) not in SERVERLESS_V2_TIERS_FOLLOWING_THE_WRITER


def promotion_order(readers: list[dict[str, Any]], writer: dict[str, Any]) -> list[dict[str, Any]]:
    """Readers in the order Aurora promotes them: lowest promotion tier first, then the largest
    (a Serverless v2 reader in tier 0 or 1 is as large as the writer; one in tiers 2-15 is
    taken at its minimum), then by name where Aurora picks any."""
    def size(member: dict[str, Any]) -> float:
        if member.get("instance_class") == SERVERLESS_V2_CLASS:
            return 0.0 if scales_independently(member) else instance_vcpus(writer.get("instance_class"))
        return instance_vcpus(member.get("instance_class"))

    return sorted(readers, key=lambda m: (m["promotion_tier"], -size(m), m["instance"]))


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


class Writer(TypedDict):
    """Where a database's writer is: its instance, AZ, the database's status (and, for a Multi-AZ
    instance, its standby's AZ)."""

    instance: str
    availability_zone: str
    status: str
    standby_availability_zone: NotRequired[str | None]


def writer_of(rds: Any, kind: str, identifier: str) -> Writer:
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
