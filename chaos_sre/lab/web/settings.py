"""The sample application's profile part: how its web tier is built (AWS seconds; docs/lab.md gives
each source). EC2's, Auto Scaling's and the load balancer's own timings are in their packages."""

from dataclasses import dataclass

from chaos_sre.lab.core.settings import AVAILABILITY_ZONES


@dataclass(frozen=True)
class WebTierProfile:
    """How the web tier is built and how it behaves in one lab profile."""

    instance_zones: tuple[str, ...]
    """AZs of the ASG's subnets; 6 instances are spread evenly across them."""
    asg_health_check_type: str
    """``ELB``: the ASG also replaces instances the load balancer finds unhealthy."""
    asg_health_check_grace_period: int
    """Seconds after launch during which the ASG ignores ELB health. The resilient profile sets it
    as AWS advises, past the time a new instance takes to pass its health checks: boot, two
    failing checks and three passing ones at 10 s intervals come to about 70 s."""
    app_boot_seconds: float
    """From EC2 ``running`` until the application answers health checks."""
    zonal_autoshift: bool
    """The load balancer has ARC zonal autoshift enabled (with the practice run configuration
    ARC requires, its outcome alarm on the load balancer's 5xx answers), so AWS - or FIS's
    ``aws:arc:start-zonal-autoshift`` - moves its traffic out of an impaired AZ
    ("Zonal autoshift in ARC"). Every load balancer is registered for zonal shifts."""


PROFILES = {
    "resilient": WebTierProfile(instance_zones=AVAILABILITY_ZONES, asg_health_check_type="ELB",
                                asg_health_check_grace_period=90, app_boot_seconds=40.0,
                                zonal_autoshift=True),
    "fragile": WebTierProfile(instance_zones=AVAILABILITY_ZONES[:1], asg_health_check_type="EC2",
                              asg_health_check_grace_period=300, app_boot_seconds=180.0,
                              zonal_autoshift=False),
}
