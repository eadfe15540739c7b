"""Amazon EC2 Auto Scaling's AWS timings in the lab (AWS seconds; docs/lab.md gives each source).
A group's health check type and grace period are the sample application's profile part."""

from dataclasses import dataclass


@dataclass(frozen=True)
class AutoScalingTimings:
    """AWS-side delays of EC2 Auto Scaling."""

    asg_health_sweep_seconds: float = 10.0
    """Mean time between the ASG's looks at its instances (each gap is 0.5x-1.5x of it)."""
    asg_state_detection_seconds: float = 5.0
    """How long an instance must have left ``running`` before the ASG's EC2 health check sees it."""


TIMINGS = AutoScalingTimings()
