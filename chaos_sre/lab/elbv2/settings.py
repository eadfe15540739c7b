"""Elastic Load Balancing's AWS timings in the lab (docs/lab.md gives each source). Health-check
intervals and thresholds are the target groups' own, as the sample application configures them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadBalancerTimings:
    """Delays of an Application Load Balancer answering clients (wall seconds: HTTP is not played
    at the time scale)."""

    alb_target_connect_timeout_seconds: float = 10.0
    """An ALB waits this long for an unreachable target, then answers 504 (not scaled)."""
    base_latency_seconds: float = 0.003
    """Latency of a healthy target's answer (not scaled)."""


TIMINGS = LoadBalancerTimings()
