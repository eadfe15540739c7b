"""moto patches of RDS: failovers and reboots that take time, with AWS's refusals.

* CreateDBCluster of a Multi-AZ DB cluster (engine ``mysql`` or ``postgres``
  with a DBClusterInstanceClass) creates its writer and two readable standbys,
  ``<cluster>-instance-1`` to ``-3`` in three AZs, as RDS does (moto: none);
* FailoverDBCluster starts a failover that the lab completes later (moto:
  writer swapped at once) and is refused while the cluster is not available;
  without a target it promotes the reader Aurora would (lowest promotion tier,
  then the largest instance; moto: the first reader), and it refuses a target
  for an RDS for MySQL Multi-AZ DB cluster, which RDS does not support;
* RebootDBInstance passes ``ForceFailover`` on (moto: ignored) and refuses it
  for an instance that is not Multi-AZ.

RebootDBInstance is patched on moto's response handler, not its model: moto's
``RDSBackend.reboot_db_instance`` is never given ``ForceFailover``, which only the
request carries.
"""

from typing import Any, Protocol, cast

from moto.core.responses import ActionResult
from moto.rds import exceptions as rds_exceptions
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses

from chaos_sre.lab.core.patches import hooks, original, replaces
from chaos_sre.lab.core.settings import AVAILABILITY_ZONES

MULTI_AZ_DB_CLUSTER_ENGINES = ("mysql", "postgres")
SIZES = {"nano": 0.25, "micro": 0.5, "small": 1.0, "medium": 2.0, "large": 2.0, "xlarge": 4.0,
         "metal": 1024.0}
"""vCPUs by instance size; ``<n>xlarge`` has 4 n (Amazon EC2 instance types)."""


def _is_multi_az_db_cluster(cluster: Any) -> bool:
    return cluster.engine in MULTI_AZ_DB_CLUSTER_ENGINES and bool(cluster.db_cluster_instance_class)


def _vcpus(instance: Any, writer: Any) -> float:
    """An instance's size: Serverless v2 readers in tiers 0 and 1 follow the writer's capacity;
    in tiers 2-15 they scale on their own, and the lab takes them as idle (the minimum)."""
    instance_class = str(instance.db_instance_class or "")
    if instance_class == "db.serverless":
        if instance.promotion_tier <= 1 and writer is not None and writer is not instance:
            return _vcpus(writer, None)
        return 0.0
    size = instance_class.rsplit(".", 1)[-1]
    if size.endswith("xlarge") and size[:-6].isdigit():
        return 4.0 * int(size[:-6])
    return SIZES.get(size, 0.0)


class DatabaseHooks(Protocol):
    """What the RDS patches ask of the service's simulation."""

    def cluster_failover(self, cluster: Any, target: Any) -> None:
        """FailoverDBCluster was accepted for ``cluster`` towards ``target``."""

    def instance_reboot(self, instance: Any, force_failover: bool) -> None:
        """RebootDBInstance was accepted for ``instance``."""

    def in_progress(self, database: Any) -> bool:
        """Whether a failover or reboot of this cluster or instance is under way."""



def _lab() -> DatabaseHooks:
    return cast(DatabaseHooks, hooks().service("rds"))

@replaces(rds_models.RDSBackend, "create_db_cluster")
def _create_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
    """A Multi-AZ DB cluster comes with its writer and two readable standbys in three AZs."""
    cluster = original(rds_models.RDSBackend, "create_db_cluster")(self, kwargs)
    if _is_multi_az_db_cluster(cluster):
        zones = list(cluster.availability_zones or AVAILABILITY_ZONES)[:3]
        for index, zone in enumerate(zones, start=1):
            self.create_db_instance({
                "db_instance_identifier": f"{cluster.db_cluster_identifier}-instance-{index}",
                "db_cluster_identifier": cluster.db_cluster_identifier, "engine": cluster.engine,
                "db_instance_class": cluster.db_cluster_instance_class, "availability_zone": zone})
    return cluster


@replaces(rds_models.RDSBackend, "failover_db_cluster")
def _failover_db_cluster(self: Any, db_cluster_identifier: str,
                         target_db_instance_identifier: str | None = None) -> Any:
    """AWS refuses a failover while the cluster is not ``available``, and a target for a MySQL
    Multi-AZ DB cluster; without a target, RDS picks the reader as Aurora does."""
    cluster = self.clusters.get(db_cluster_identifier)
    if cluster is not None and (cluster.status != "available" or _lab().in_progress(cluster)):
        status = "failing-over" if cluster.status == "available" else cluster.status
        raise rds_exceptions.InvalidDBClusterStateFault(
            f"DbCluster {db_cluster_identifier} is not in available state (it is {status})"
        )
    if cluster is not None and target_db_instance_identifier and cluster.engine == "mysql" \
            and _is_multi_az_db_cluster(cluster):
        raise rds_exceptions.InvalidParameterCombination(
            "TargetDBInstanceIdentifier isn't supported for RDS for MySQL Multi-AZ DB clusters")
    if cluster is not None and not target_db_instance_identifier:
        target_db_instance_identifier = _promoted_reader(cluster)
    return original(rds_models.RDSBackend, "failover_db_cluster")(
        self, db_cluster_identifier, target_db_instance_identifier)


def _promoted_reader(cluster: Any) -> str | None:
    """The available reader RDS promotes when no target is named: the lowest promotion tier,
    then the largest; among equals any (the lab: the first by name). None: let moto refuse."""
    writer = cluster.writer
    readers = [m for m in cluster.members if not m.is_cluster_writer and m.status == "available"]
    if not readers:
        return None
    best = min(readers, key=lambda m: (m.promotion_tier, -_vcpus(m, writer), m.db_instance_identifier))
    return str(best.db_instance_identifier)


@replaces(rds_models.DBCluster, "failover")
def _cluster_failover(self: Any, target_instance: Any) -> None:
    """The failover was accepted; the lab moves the writer when the failover completes."""
    _lab().cluster_failover(self, target_instance)


def complete_cluster_failover(cluster: Any, target_instance: Any) -> None:
    """Make ``target_instance`` the writer of ``cluster`` (what moto does at once)."""
    original(rds_models.DBCluster, "failover")(cluster, target_instance)


@replaces(rds_responses.RDSResponse, "reboot_db_instance")
def _reboot_db_instance(self: Any) -> Any:
    """RebootDBInstance with AWS's checks, and ForceFailover passed on to the lab."""
    identifier = self.params.get("DBInstanceIdentifier")
    force_failover = str(self.params.get("ForceFailover", "false")).lower() == "true"
    instance = self.backend.reboot_db_instance(identifier)
    if instance.status != "available" or _lab().in_progress(instance):
        status = "rebooting" if instance.status == "available" else instance.status
        raise rds_exceptions.RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {identifier} is not currently in the available state (it is {status})",
        )
    if force_failover and (getattr(instance, "db_cluster_identifier", None) or not instance.multi_az):
        raise rds_exceptions.InvalidParameterCombination(
            f"Cannot reboot DB instance {identifier} with failover: it is not a Multi-AZ instance"
        )
    _lab().instance_reboot(instance, force_failover)
    return ActionResult({"DBInstance": instance})
