"""The web tier's profile part and AWS timings (AWS seconds; docs/lab.md gives each source)."""

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
    """Seconds after launch during which the ASG ignores ELB health."""
    app_boot_seconds: float
    """From EC2 ``running`` until the application answers health checks."""


@dataclass(frozen=True)
class WebTimings:
    """AWS-side delays of EC2, Auto Scaling and the load balancer that do not depend on the profile."""

    ec2_pending_seconds: float = 20.0
    """RunInstances until the instance is ``running``."""
    asg_health_sweep_seconds: float = 10.0
    """Mean time between the ASG's looks at its instances (each gap is 0.5x-1.5x of it)."""
    asg_state_detection_seconds: float = 5.0
    """How long an instance must have left ``running`` before the ASG's EC2 health check sees it."""
    new_network_acl_not_found_seconds: float = 2.0
    """A network ACL just created answers ``InvalidNetworkAclID.NotFound`` to calls naming it
    this long (EC2 eventual consistency; a lab assumption for the length)."""
    alb_target_connect_timeout_seconds: float = 10.0
    """An ALB waits this long for an unreachable target, then answers 504 (not scaled)."""
    base_latency_seconds: float = 0.003
    """Latency of a healthy target's answer (not scaled)."""


TIMINGS = WebTimings()
PROFILES = {
    "resilient": WebTierProfile(instance_zones=AVAILABILITY_ZONES, asg_health_check_type="ELB",
                                asg_health_check_grace_period=60, app_boot_seconds=40.0),
    "fragile": WebTierProfile(instance_zones=AVAILABILITY_ZONES[:1], asg_health_check_type="EC2",
                              asg_health_check_grace_period=300, app_boot_seconds=180.0),
}
