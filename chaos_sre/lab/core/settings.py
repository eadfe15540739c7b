"""Lab profiles and the AWS-like timings of its control-plane dynamics.

Every duration here is in *AWS seconds*: how long the thing takes on AWS (or
the value the lab's topology configures, as a staging account would). The lab
multiplies each by the time scale, so ``--time-scale 0.1`` plays an AWS minute
in six seconds. docs/lab.md lists each value with its source.
"""

import math
from dataclasses import dataclass, replace

from chaos_sre.errors import ValidationError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
AVAILABILITY_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
DEFAULT_TIME_SCALE = 0.1
MAX_TIME_SCALE = 10.0


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
class DynamoDBProfile:
    """How the sessions table is provisioned and how the application's SDK treats throttling."""

    sessions_capacity_units: int
    """Read and write capacity of table ``sessions`` and of its GSI ``by-user``."""
    sdk_max_attempts: int
    """Attempts per DynamoDB call (3, as the SDKs' standard retry mode); 1 means no retries."""


@dataclass(frozen=True)
class EcsProfile:
    """How ECS service ``api`` is built and how the web tier copes when it is down."""

    api_task_count: int
    """Desired count of service ``api`` (its tasks are spread over the three AZs)."""
    image_pull_seconds: float
    """A new task's ``PENDING`` time: pulling the container image."""
    app_start_seconds: float
    """From the container's start (task ``RUNNING``) until the application answers."""
    web_fallback: bool
    """Whether web pages serve a fallback (200) when ``api`` cannot answer; else they fail (500)."""
    scalable_target: tuple[int, int] | None
    """Application Auto Scaling (min, max) of the service's desired count; None: not registered."""


@dataclass(frozen=True)
class Profile:
    """A named lab profile: the same resource names, different weaknesses."""

    name: str
    description: str
    web: WebTierProfile
    database: DatabaseTierProfile
    dynamodb: DynamoDBProfile
    ecs: EcsProfile
    api_fault_rate: float = 0.0
    """Share of AWS API calls the lab answers with a throttling or server error."""

    def with_api_fault_rate(self, rate: float) -> "Profile":
        """This profile with ``rate`` of the API calls failing (see chaos_sre.lab.core.api_faults)."""
        return replace(self, api_fault_rate=rate)

    def with_rds_proxy(self, enabled: bool) -> "Profile":
        """This profile with the RDS Proxy in front of the Aurora cluster switched on or off."""
        return replace(self, database=replace(self.database, rds_proxy=enabled))


PROFILES: dict[str, Profile] = {
    "resilient": Profile(
        name="resilient",
        description="web tier spread 2/2/2 over three AZs, ELB health checks, baked AMI; "
                    "Aurora reader and RDS standby in other AZs; DynamoDB at 2x load, SDK retries; "
                    "ECS api 3 tasks with auto scaling 3-9, web pages fall back when it is down",
        web=WebTierProfile(
            instance_zones=AVAILABILITY_ZONES,
            asg_health_check_type="ELB",
            asg_health_check_grace_period=60,
            app_boot_seconds=40.0,
        ),
        database=DatabaseTierProfile(
            aurora_reader_zone=AVAILABILITY_ZONES[1],
            instance_multi_az=True,
            app_dns_cache_seconds=5.0,
        ),
        dynamodb=DynamoDBProfile(sessions_capacity_units=100, sdk_max_attempts=3),
        ecs=EcsProfile(api_task_count=3, image_pull_seconds=10.0, app_start_seconds=10.0,
                       web_fallback=True, scalable_target=(3, 9)),
    ),
    "fragile": Profile(
        name="fragile",
        description="web tier in one AZ, EC2-only health checks, slow boot; "
                    "single-instance Aurora, single-AZ RDS, long DNS caching; DynamoDB at 1.1x load, "
                    "no retries; ECS api 1 slow-starting task, web pages fail when it is down",
        web=WebTierProfile(
            instance_zones=AVAILABILITY_ZONES[:1],
            asg_health_check_type="EC2",
            asg_health_check_grace_period=300,
            app_boot_seconds=180.0,
        ),
        database=DatabaseTierProfile(
            aurora_reader_zone=None,
            instance_multi_az=False,
            app_dns_cache_seconds=30.0,
        ),
        dynamodb=DynamoDBProfile(sessions_capacity_units=55, sdk_max_attempts=1),
        ecs=EcsProfile(api_task_count=1, image_pull_seconds=30.0, app_start_seconds=90.0,
                       web_fallback=False, scalable_target=None),
    ),
}


@dataclass(frozen=True)
class Timings:
    """AWS-side delays that do not depend on the profile (AWS seconds)."""

    ec2_pending_seconds: float = 20.0
    """RunInstances until the instance is ``running``."""
    asg_health_sweep_seconds: float = 10.0
    """Mean time between the ASG's looks at its instances (each gap is 0.5x-1.5x of it)."""
    asg_state_detection_seconds: float = 5.0
    """How long an instance must have left ``running`` before the ASG's EC2 health check sees it."""
    alb_target_connect_timeout_seconds: float = 10.0
    """An ALB waits this long for an unreachable target, then answers 504 (not scaled)."""
    base_latency_seconds: float = 0.003
    """Latency of a healthy target's answer (not scaled)."""
    aurora_failover_seconds: float = 30.0
    """FailoverDBCluster: the Aurora writer is unavailable this long, then the reader is writer."""
    multi_az_failover_seconds: float = 60.0
    """RebootDBInstance with ForceFailover: the Multi-AZ instance is unavailable this long."""
    db_reboot_seconds: float = 120.0
    """RebootDBInstance without failover: the instance is down for its engine restart."""
    rds_proxy_failover_fraction: float = 0.34
    """Share of a failover that an application behind RDS Proxy waits out (up to 66 % less)."""
    dynamodb_burst_seconds: float = 300.0
    """DynamoDB keeps up to this many seconds of unused provisioned capacity as burst."""
    dynamodb_update_seconds: float = 20.0
    """UpdateTable: the table is ``UPDATING`` this long; the new capacity applies after."""
    dynamodb_sdk_base_backoff_seconds: float = 0.05
    """First retry delay of the application's SDK after a throttle (doubles, full jitter; not scaled)."""
    ecs_scheduler_seconds: float = 2.0
    """Mean time between the ECS service scheduler's looks at a service (each gap 0.5x-1.5x)."""
    ecs_provisioning_seconds: float = 10.0
    """A new Fargate task's ``PROVISIONING`` time (capacity and its network interface)."""
    ecs_activating_seconds: float = 2.0
    """``ACTIVATING``: ECS registers the task with its target group, then it is ``RUNNING``."""
    ecs_stopping_seconds: float = 5.0
    """``STOPPING``: the container gets SIGTERM and exits (after draining)."""
    ecs_deprovisioning_seconds: float = 5.0
    """``DEPROVISIONING``: the task's network interface is detached and deleted."""
    app_autoscaling_evaluation_seconds: float = 60.0
    """How often a target tracking policy's alarm evaluates (one-minute metric period)."""


TIMINGS = Timings()


def profile_named(name: str) -> Profile:
    """Return the profile called ``name`` or raise a one-line ValidationError."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValidationError(f"unknown lab profile {name!r} (choose one of: {known})") from None


def parse_api_fault_rate(value: str | float) -> float:
    """Parse an ``--api-fault-rate`` value: a number in [0, 1)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"api fault rate must be a number, got {value!r}") from None
    if not 0 <= rate < 1:
        raise ValidationError(f"api fault rate must be at least 0 and below 1, got {value!r}")
    return rate


def parse_time_scale(value: str | float) -> float:
    """Parse a ``--time-scale`` value: a finite number in (0, 10]."""
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"time scale must be a number, got {value!r}") from None
    if not math.isfinite(scale) or scale <= 0 or scale > MAX_TIME_SCALE:
        raise ValidationError(
            f"time scale must be greater than 0 and at most {MAX_TIME_SCALE:g}, got {value!r}"
        )
    return scale
