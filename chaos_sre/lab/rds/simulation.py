"""The lab's database tier: Aurora failover, Multi-AZ failover and reboots over time.

moto stores RDS clusters and instances but moves nothing: FailoverDBCluster
swaps the writer flag at once and RebootDBInstance ignores ``ForceFailover``.
This module plays what AWS does instead, scaled by the lab's time scale:

* **Eventual consistency**: for a moment after FailoverDBCluster or
  RebootDBInstance is accepted, DescribeDBClusters and DescribeDBInstances
  still answer ``available`` and the old writer (the timings' status lag); a
  second call in that moment is refused as if the status had changed.
* **Aurora failover** (FailoverDBCluster, any client): the cluster is
  ``failing-over`` and its writer ``rebooting`` for the Aurora failover time;
  then the target reader is the writer (DescribeDBClusters shows the new
  ``IsClusterWriter``) and the old writer comes back as a reader.
* **Multi-AZ failover** (RebootDBInstance with ForceFailover): the instance is
  ``rebooting`` for the Multi-AZ failover time; then its ``AvailabilityZone``
  and ``SecondaryAvailabilityZone`` are swapped.
* **Reboot** (RebootDBInstance without failover, or a single-AZ instance): the
  instance is ``rebooting`` - a full outage - for the reboot time.

What the application sees is published as a :class:`DatabaseAccess` per
database, read by the load balancer endpoint without locking:

* requests that need a writer fail while it is unavailable;
* after a failover the endpoint's DNS name points at another host; the
  application keeps the old address for the profile's DNS cache time, and its
  writes fail there (the old writer is a read-only reader now);
* behind RDS Proxy (profile setting, Aurora only) the application's
  connections are kept: its requests wait instead of failing, for the share
  of the failover that AWS documents the proxy saves (up to 66 %), and no DNS
  change reaches the application.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.settings import REGION, Profile
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.rds.patches import complete_cluster_failover
from chaos_sre.lab.rds.settings import TIMINGS, RdsTimings

AURORA_FAILOVER = "aurora-failover"
MULTI_AZ_FAILOVER = "multi-az-failover"
REBOOT = "reboot"
AVAILABLE = "available"


@dataclass(frozen=True)
class DatabaseAccess:
    """What the application meets when it needs a database's writer (monotonic times)."""

    fails_until: float | None = None
    """Requests needing the writer fail until then."""
    waits_until: float | None = None
    """Requests needing the writer wait until then, then succeed (RDS Proxy)."""


@dataclass
class Disruption:
    """One failover or reboot in progress, and when each part of it ends (monotonic)."""

    kind: str
    database: str
    instance: Any
    started_at: float
    control_plane_done_at: float
    application_back_at: float
    proxied: bool
    reported_at: float
    """From then on Describe calls show the disruption (the status lag)."""
    target: Any = None
    reported: bool = False
    completed: bool = False


@dataclass
class DatabaseDynamics:
    """Time-scaled RDS behaviour over moto's models (called with the lab lock held)."""

    profile: Profile
    scaled: Callable[[float], float]
    timeline: Timeline
    timings: RdsTimings
    _disruptions: list[Disruption] = field(default_factory=list)
    _access: dict[str, DatabaseAccess] = field(default_factory=dict)

    @staticmethod
    def _backend() -> Any:
        return moto_backend("rds")

    # -- hooks called from moto ------------------------------------------------
    def cluster_failover(self, cluster: Any, target: Any) -> None:
        """FailoverDBCluster was accepted: start the failover; the writer moves later."""
        now = time.monotonic()
        writer = cluster.writer
        window = self.scaled(self.timings.aurora_failover_seconds)
        proxied = self.profile.part("rds").rds_proxy
        if proxied:
            back_at = now + window * self.timings.rds_proxy_failover_fraction
        else:
            back_at = now + window + self.scaled(self.profile.part("rds").app_dns_cache_seconds)
        self._disruptions.append(Disruption(
            AURORA_FAILOVER, cluster.db_cluster_identifier, writer, now, now + window, back_at,
            proxied, now + self.scaled(self.timings.status_lag_seconds), target))
        self.timeline.event(
            "db-failover-started", cluster.db_cluster_identifier,
            from_instance=getattr(writer, "db_instance_identifier", None),
            from_availability_zone=getattr(writer, "availability_zone", None),
            to_instance=target.db_instance_identifier,
            to_availability_zone=target.availability_zone,
            rds_proxy=proxied,
        )

    def instance_reboot(self, instance: Any, force_failover: bool) -> None:
        """RebootDBInstance was accepted: a Multi-AZ failover or a plain reboot."""
        now = time.monotonic()
        cluster_id = getattr(instance, "db_cluster_identifier", None)
        is_writer = getattr(instance, "is_cluster_writer", cluster_id is None)
        database = cluster_id or instance.db_instance_identifier
        proxied = self.profile.part("rds").rds_proxy and cluster_id is not None
        if force_failover:
            kind, window = MULTI_AZ_FAILOVER, self.scaled(self.timings.multi_az_failover_seconds)
            back_at = now + window + self.scaled(self.profile.part("rds").app_dns_cache_seconds)
        else:
            kind, window = REBOOT, self.scaled(self.timings.db_reboot_seconds)
            back_at = now + window
        if not is_writer:
            back_at = now  # a reader's reboot does not touch the application's writes
        self._disruptions.append(Disruption(
            kind, database, instance, now, now + window, back_at, proxied,
            now + self.scaled(self.timings.status_lag_seconds)))
        self.timeline.event(
            "db-failover-started" if force_failover else "db-reboot-started",
            instance.db_instance_identifier,
            availability_zone=instance.availability_zone,
            secondary_availability_zone=getattr(instance, "secondary_availability_zone", None),
            writer=is_writer,
        )

    def in_progress(self, database: Any) -> bool:
        """Whether a failover or reboot of this cluster or instance (a moto model) is under way,
        also while Describe calls do not show it yet."""
        clusters = self._backend().clusters
        return any(not d.completed and (d.instance is database or (
            d.kind == AURORA_FAILOVER and clusters.get(d.database) is database))
            for d in self._disruptions)

    # -- the clock ---------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Show and finish due failovers and reboots, place Multi-AZ standbys, publish access."""
        backend = self._backend()
        self._place_standbys(backend)
        for disruption in self._disruptions:
            if not disruption.reported and now >= disruption.reported_at:
                self._report(disruption)
            if not disruption.completed and now >= disruption.control_plane_done_at:
                self._complete(disruption)
        self._disruptions = [d for d in self._disruptions
                             if not d.completed or now < d.application_back_at]
        self._publish(now)

    def _place_standbys(self, backend: Any) -> None:
        """Give every Multi-AZ instance a standby AZ, as DescribeDBInstances reports it."""
        for instance in list(backend.databases.values()):
            if getattr(instance, "db_cluster_identifier", None):
                continue
            has_standby = getattr(instance, "secondary_availability_zone", None)
            if instance.multi_az and not has_standby:
                zones = self._subnet_group_zones(instance) or [f"{REGION}a", f"{REGION}b"]
                others = [z for z in zones if z != instance.availability_zone]
                instance.secondary_availability_zone = others[0] if others else None
            elif not instance.multi_az and has_standby:
                instance.secondary_availability_zone = None

    @staticmethod
    def _subnet_group_zones(instance: Any) -> list[str]:
        group = getattr(instance, "db_subnet_group", None)
        subnets = getattr(group, "_subnets", None) or []
        return sorted({s.availability_zone for s in subnets})

    def _report(self, disruption: Disruption) -> None:
        """The status lag is over: Describe calls show the failover or reboot."""
        disruption.reported = True
        if disruption.kind == AURORA_FAILOVER:
            cluster = self._backend().clusters.get(disruption.database)
            if cluster is not None:
                cluster.status = "failing-over"
        if disruption.instance is not None:
            disruption.instance.status = "rebooting"

    def _complete(self, disruption: Disruption) -> None:
        disruption.reported = disruption.completed = True
        if disruption.kind == AURORA_FAILOVER:
            cluster = self._backend().clusters.get(disruption.database)
            if cluster is not None and disruption.target is not None:
                complete_cluster_failover(cluster, disruption.target)
                cluster.status = AVAILABLE
            if disruption.instance is not None:
                disruption.instance.status = AVAILABLE
            self.timeline.event(
                "db-failover-completed", disruption.database,
                writer=getattr(disruption.target, "db_instance_identifier", None),
                availability_zone=getattr(disruption.target, "availability_zone", None),
            )
            return
        instance = disruption.instance
        if disruption.kind == MULTI_AZ_FAILOVER:
            standby = getattr(instance, "secondary_availability_zone", None)
            if standby:
                instance.secondary_availability_zone = instance.availability_zone
                instance.availability_zone = standby
        instance.status = AVAILABLE
        self.timeline.event(
            "db-failover-completed" if disruption.kind == MULTI_AZ_FAILOVER else "db-reboot-completed",
            instance.db_instance_identifier, availability_zone=instance.availability_zone,
        )

    def _publish(self, now: float) -> None:
        access: dict[str, DatabaseAccess] = {}
        for disruption in self._disruptions:
            if now >= disruption.application_back_at:
                continue
            if disruption.proxied:
                access[disruption.database] = DatabaseAccess(waits_until=disruption.application_back_at)
            else:
                access[disruption.database] = DatabaseAccess(fails_until=disruption.application_back_at)
        self._access = access

    # -- read side ------------------------------------------------------------------
    def access(self, database: str) -> DatabaseAccess:
        """What the application meets now when it needs ``database`` (lock-free read)."""
        return self._access.get(database, DatabaseAccess())

    def status(self) -> dict[str, Any]:
        """Writer, AZ and status of every cluster and standalone instance, for `lab status`."""
        return {"databases": self.databases()}

    def databases(self) -> dict[str, Any]:
        """Writer, AZ and status of every cluster and standalone instance."""
        backend = self._backend()
        summary: dict[str, Any] = {}
        for cluster in list(backend.clusters.values()):
            writer = cluster.writer
            summary[cluster.db_cluster_identifier] = {
                "status": cluster.status,
                "writer": getattr(writer, "db_instance_identifier", None),
                "availability_zone": getattr(writer, "availability_zone", None),
                "rds_proxy": self.profile.part("rds").rds_proxy,
            }
        for instance in list(backend.databases.values()):
            if getattr(instance, "db_cluster_identifier", None):
                continue
            summary[instance.db_instance_identifier] = {
                "status": instance.status,
                "writer": instance.db_instance_identifier,
                "availability_zone": instance.availability_zone,
                "standby_availability_zone": getattr(instance, "secondary_availability_zone", None),
            }
        return summary


TICK_ORDER = 30


def create(context: SimulationContext) -> DatabaseDynamics:
    """The RDS simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return DatabaseDynamics(profile=context.profile, scaled=context.scaled,
                            timeline=context.timeline, timings=TIMINGS)
