"""DynamoDB's profile part and AWS timings (AWS seconds; docs/lab.md gives each source)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DynamoDBProfile:
    """How the sessions table is provisioned and how the application's SDK treats throttling."""

    sessions_capacity_units: int
    """Read and write capacity of table ``sessions`` and of its GSI ``by-user``."""
    sdk_max_attempts: int
    """Attempts per DynamoDB call (3, as the SDKs' standard retry mode); 1 means no retries."""
    stale_session_share: float
    """Share of requests whose session the application still holds in its cache: when DynamoDB
    throttles a call beyond the retries, those are served with the cached copy (the write queued
    for later) instead of failing - graceful degradation of a soft dependency (AWS
    Well-Architected, REL05-BP01). 0: every throttled request fails."""
    autoscaling_max_units: int | None = None
    """With a number: table ``sessions`` and its GSI are under DynamoDB auto scaling (scalable
    targets for read and write, min = the provisioned capacity, max this; target tracking at
    :data:`AUTOSCALING_TARGET_UTILIZATION` %). None: no auto scaling."""


@dataclass(frozen=True)
class DynamoDBTimings:
    """AWS-side delays of DynamoDB that do not depend on the profile."""

    dynamodb_burst_seconds: float = 300.0
    """DynamoDB keeps up to this many seconds of unused provisioned capacity as burst."""
    dynamodb_update_seconds: float = 20.0
    """UpdateTable: the table is ``UPDATING`` this long; the new capacity applies after."""
    dynamodb_sdk_base_backoff_seconds: float = 0.05
    """First retry delay of the application's SDK after a throttle (doubles, full jitter; not scaled)."""


AUTOSCALING_TARGET_UTILIZATION = 70.0
"""Target tracking value of the lab's DynamoDB auto scaling policies (the console's default)."""
TIMINGS = DynamoDBTimings()
PROFILES = {
    "resilient": DynamoDBProfile(sessions_capacity_units=100, sdk_max_attempts=3, stale_session_share=0.8,
                                 autoscaling_max_units=400),
    "fragile": DynamoDBProfile(sessions_capacity_units=55, sdk_max_attempts=1, stale_session_share=0.0),
}
