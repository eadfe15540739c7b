"""moto patches of RDS: failovers and reboots that take time, with AWS's refusals.

* FailoverDBCluster starts a failover that the lab completes later (moto:
  writer swapped at once) and is refused while the cluster is not available;
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


class DatabaseHooks(Protocol):
    """What the RDS patches ask of the service's simulation."""

    def cluster_failover(self, cluster: Any, target: Any) -> None:
        """FailoverDBCluster was accepted for ``cluster`` towards ``target``."""

    def instance_reboot(self, instance: Any, force_failover: bool) -> None:
        """RebootDBInstance was accepted for ``instance``."""



def _lab() -> DatabaseHooks:
    return cast(DatabaseHooks, hooks().service("rds"))

@replaces(rds_models.RDSBackend, "failover_db_cluster")
def _failover_db_cluster(self: Any, db_cluster_identifier: str,
                         target_db_instance_identifier: str | None = None) -> Any:
    """AWS refuses a failover while the cluster is not ``available``."""
    cluster = self.clusters.get(db_cluster_identifier)
    if cluster is not None and cluster.status != "available":
        raise rds_exceptions.InvalidDBClusterStateFault(
            f"DbCluster {db_cluster_identifier} is not in available state (it is {cluster.status})"
        )
    return original(rds_models.RDSBackend, "failover_db_cluster")(
        self, db_cluster_identifier, target_db_instance_identifier)


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
    if instance.status != "available":
        raise rds_exceptions.RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {identifier} is not currently in the available state (it is {instance.status})",
        )
    if force_failover and (getattr(instance, "db_cluster_identifier", None) or not instance.multi_az):
        raise rds_exceptions.InvalidParameterCombination(
            f"Cannot reboot DB instance {identifier} with failover: it is not a Multi-AZ instance"
        )
    _lab().instance_reboot(instance, force_failover)
    return ActionResult({"DBInstance": instance})
