"""The SLI timeline of a run, binned for plotting: availability, p99 latency, budget burn.

Pure functions over the samples: time is in AWS seconds relative to the fault
injection (negative before it), or to the first sample when no fault was
injected; a lab run's wall-clock samples are divided by its time scale. The
budget spent up to each sample after the fault is the verdict's own formula
(:func:`chaos_sre.slo.math.spent_since_fault`) over the samples so far, so the
plot ends at the figure the verdict reports.
"""

from dataclasses import dataclass

from chaos_sre.slo import math as slo_math
from chaos_sre.slo.samples import Sample

MAX_BINS = 400


@dataclass(frozen=True)
class Timeline:
    """Per-bin series, all the same length; ``None`` where a bin had no data."""

    origin: float
    """Epoch seconds of time 0 (the fault injection, else the first sample)."""
    time_scale: float
    """Wall seconds per AWS second of the samples' clock."""
    bin_seconds: float
    starts: list[float]
    availability: list[float | None]
    p99_latency_seconds: list[float | None]
    budget_times: list[float]
    budget_spent: list[float]
    """Cumulative fraction of the window's error budget spent since the fault."""

    def position(self, at: float) -> float:
        """Where the epoch second ``at`` lies on the timeline (AWS seconds from time 0)."""
        return (at - self.origin) / self.time_scale


def bin_width(span_seconds: float) -> float:
    """1 s bins, wider for long runs so that a plot has at most MAX_BINS points."""
    return max(1.0, span_seconds / MAX_BINS)


def build(samples: list[Sample], *, fault_at: float | None, rate: float, target: float,
          window_seconds: float, latency_threshold: float | None = None,
          time_scale: float = 1.0) -> Timeline:
    """Bin ``samples`` (any order) into a :class:`Timeline` (``window_seconds`` and the bins in
    wall seconds of the samples' clock, the timeline's times in AWS seconds)."""
    ordered = sorted(samples, key=lambda s: s.scheduled)
    if not ordered:
        return Timeline(fault_at or 0.0, time_scale, 1.0 / time_scale, [], [], [], [], [])
    origin = fault_at if fault_at is not None else ordered[0].scheduled
    width = bin_width(ordered[-1].scheduled - ordered[0].scheduled)
    first = ordered[0].scheduled - origin
    count = int((ordered[-1].scheduled - origin - first) // width) + 1
    good = [0] * count
    total = [0] * count
    latencies: list[list[float]] = [[] for _ in range(count)]
    for sample in ordered:
        index = min(int((sample.scheduled - origin - first) // width), count - 1)
        total[index] += 1
        good[index] += sample.good(latency_threshold)
        if sample.latency is not None:
            latencies[index].append(sample.latency)
    budget_times: list[float] = []
    budget_spent: list[float] = []
    if fault_at is not None and target < 1:
        bad = seen = 0
        for sample in ordered:
            if sample.scheduled < fault_at:
                continue
            bad += not sample.good(latency_threshold)
            seen += 1
            budget_times.append((sample.scheduled - origin) / time_scale)
            budget_spent.append(slo_math.spent_since_fault(bad, seen, fault_at, sample.scheduled,
                                                           rate, window_seconds, target))
    return Timeline(
        origin=origin,
        time_scale=time_scale,
        bin_seconds=width / time_scale,
        starts=[(first + i * width) / time_scale for i in range(count)],
        availability=[g / t if t else None for g, t in zip(good, total)],
        p99_latency_seconds=[slo_math.percentile(values, 99) if values else None
                             for values in latencies],
        budget_times=budget_times,
        budget_spent=budget_spent,
    )
