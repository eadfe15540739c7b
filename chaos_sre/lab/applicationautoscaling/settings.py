"""Application Auto Scaling's AWS timings in the lab (AWS seconds; docs/lab.md gives each source)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingTimings:
    """AWS-side delays of Application Auto Scaling."""

    evaluation_seconds: float = 60.0
    """How often a target tracking policy's alarm evaluates (its one-minute metric period)."""


TIMINGS = ScalingTimings()
