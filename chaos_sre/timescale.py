"""Times in AWS seconds, played at the lab's time scale.

Every duration an experiment states - the control's baseline, hold, windows and RTOs, a pause,
a fault's hold, a probe's or a restore's timeout, a CloudWatch window - is in **AWS seconds**: how
long it must be against AWS. The lab plays one AWS second in ``time scale`` wall seconds (0.1 by
default: an AWS minute in six seconds) and publishes that factor as ``CHAOS_SRE_TIME_SCALE`` in
the environment ``chaos-sre lab up`` prints and ``lab exec`` sets; against AWS it is absent, and 1.
chaos-sre converts at the point of use (:func:`wall_seconds` before it sleeps, waits or compares
with a clock; :func:`aws_seconds` for a measured span it reports), so one experiment file serves
the lab and staging unchanged, with the same verdict.

Two things are not scaled: request latencies and timeouts of the SLI sampler (the lab answers
HTTP in real time, as AWS does) and request rates (requests per wall second, the sampler's and
the lab's traffic alike); poll intervals, how often chaos-sre asks, are not AWS durations either.
"""

import math
import os
from collections.abc import Mapping

from chaos_sre.errors import ValidationError

ENVIRONMENT_VARIABLE = "CHAOS_SRE_TIME_SCALE"
MAX_TIME_SCALE = 10.0


def parse_time_scale(value: str | float) -> float:
    """A time scale: a finite number in (0, 10] (a one-line ValidationError otherwise)."""
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"time scale must be a number, got {value!r}") from None
    if not math.isfinite(scale) or scale <= 0 or scale > MAX_TIME_SCALE:
        raise ValidationError(
            f"time scale must be greater than 0 and at most {MAX_TIME_SCALE:g}, got {value!r}")
    return scale


def time_scale(environ: Mapping[str, str] | None = None) -> float:
    """The wall seconds one AWS second takes here: ``CHAOS_SRE_TIME_SCALE``, else 1 (AWS)."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return 1.0
    try:
        return parse_time_scale(value)
    except ValidationError as exc:
        raise ValidationError(f"{ENVIRONMENT_VARIABLE}: {exc}") from None


def wall_seconds(aws: float, scale: float | None = None) -> float:
    """How long ``aws`` AWS seconds take on this clock (the lab's, else AWS's own)."""
    return float(aws) * (time_scale() if scale is None else scale)


def aws_seconds(wall: float, scale: float | None = None) -> float:
    """The AWS seconds a measured span of ``wall`` seconds stands for."""
    return float(wall) / (time_scale() if scale is None else scale)
