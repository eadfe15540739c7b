"""The database tier's profile part and AWS timings (AWS seconds; docs/lab.md gives each source)."""

from dataclasses import dataclass

from chaos_sre.lab.core.settings import AVAILABILITY_ZONES


@dataclass(frozen=True)
class DatabaseTierProfile:
    """How the database tier is built and how the application uses it."""

    aurora_reader_zone: str | None
    """AZ of the Aurora cluster's reader (the writer is in us-east-1a); None: no reader."""
    instance_multi_az: bool
    """Whether the RDS instance has a standby in another AZ (Multi-AZ)."""
    app_dns_cache_seconds: float
    """How long the application keeps using a database endpoint's old address after it moves."""
    rds_proxy: bool = False
    """Whether the application reaches the Aurora cluster through an RDS Proxy."""


@dataclass(frozen=True)
class RdsTimings:
    """AWS-side delays of RDS and Aurora that do not depend on the profile."""

    aurora_failover_seconds: float = 30.0
    """FailoverDBCluster: the Aurora writer is unavailable this long, then the reader is writer."""
    multi_az_failover_seconds: float = 60.0
    """RebootDBInstance with ForceFailover: the Multi-AZ instance is unavailable this long."""
    db_reboot_seconds: float = 120.0
    """RebootDBInstance without failover: the instance is down for its engine restart."""
    status_lag_seconds: float = 3.0
    """After FailoverDBCluster or RebootDBInstance is accepted, Describe calls still answer
    ``available`` (and the old writer) this long: RDS status is eventually consistent."""
    rds_proxy_failover_fraction: float = 0.34
    """Share of a failover that an application behind RDS Proxy waits out (up to 66 % less)."""


TIMINGS = RdsTimings()
PROFILES = {
    "resilient": DatabaseTierProfile(aurora_reader_zone=AVAILABILITY_ZONES[1], instance_multi_az=True,
                                     app_dns_cache_seconds=5.0),
    "fragile": DatabaseTierProfile(aurora_reader_zone=None, instance_multi_az=False,
                                   app_dns_cache_seconds=30.0),
}
