"""Pure SLO arithmetic over samples (DESIGN.md section 3; docs/slo.md has worked examples).

* SLI over a span = good samples / samples.
* Error budget of the SLO window = 1 - target.
* Burn rate over a span = error ratio / (1 - target).
* Budget spent by an experiment = error ratio x (duration / window) / (1 - target),
  a fraction of the window's whole budget.
* Time to detect = fault injection -> first bad sample.
* Time to recover = fault injection -> start of the first period from which the
  rolling SLI stays at or above the target until the end, provided that period
  lasts at least the hold time.

Samples are ``(time, good, latency)`` triples sorted by time; times are the
samples' *scheduled* times, so an outage is counted where it happened, however
long the requests then hung.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, bool, float | None]


def error_ratio(points: Sequence[Point]) -> float | None:
    """Share of bad samples, or None with no samples."""
    if not points:
        return None
    return sum(1 for _, good, _ in points if not good) / len(points)


def sli(points: Sequence[Point]) -> float | None:
    """Share of good samples, or None with no samples."""
    ratio = error_ratio(points)
    return None if ratio is None else 1.0 - ratio


def burn_rate(ratio: float, target: float) -> float:
    """How many times faster than sustainable the budget burns at ``ratio`` errors."""
    return ratio / (1.0 - target)


def budget_spent(ratio: float, duration_seconds: float, window_seconds: float,
                 target: float) -> float:
    """Fraction of the SLO window's error budget spent by ``duration_seconds`` at ``ratio``."""
    return ratio * (duration_seconds / window_seconds) / (1.0 - target)


def spent_since_fault(bad: int, total: int, fault_at: float, last_at: float, rate: float,
                      window_seconds: float, target: float) -> float:
    """THE budget spent by a run: ``total`` samples (``bad`` of them bad) scheduled from the
    fault at ``fault_at`` to ``last_at``, sampled at ``rate`` per second.

    The error ratio is ``bad / total``; the duration runs from the fault to the end of the last
    sample's slot (``last_at - fault_at + 1 / rate``), so a missing sample shortens nothing.
    The stop condition, the verdict and the report's budget plot all call this function.
    """
    if total <= 0:
        return 0.0
    return budget_spent(bad / total, run_duration(fault_at, last_at, rate), window_seconds, target)


def run_duration(fault_at: float, last_at: float, rate: float) -> float:
    """A run's span from the fault to the end of the last sample's slot (scheduled at ``last_at``)."""
    return max(0.0, last_at - fault_at) + 1.0 / rate


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, nearest rank) of ``values``, or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class WindowStats:
    """SLI and latency of the samples in ``[start, start + width)``."""

    start: float
    total: int
    good: int
    sli: float | None
    p50: float | None
    p99: float | None


def windows(points: Sequence[Point], width: float, start: float | None = None,
            end: float | None = None) -> list[WindowStats]:
    """Consecutive fixed windows of ``width`` seconds from ``start`` to ``end``."""
    if width <= 0:
        raise ValueError("window width must be positive")
    if not points and (start is None or end is None):
        return []
    begin = points[0][0] if start is None else start
    finish = points[-1][0] if end is None else end
    count = max(1, math.ceil((finish - begin) / width)) if finish > begin else 1
    buckets: list[list[Point]] = [[] for _ in range(count)]
    for point in points:
        index = int((point[0] - begin) // width)
        if 0 <= index < count:
            buckets[index].append(point)
    result = []
    for index, bucket in enumerate(buckets):
        latencies = [lat for _, _, lat in bucket if lat is not None]
        good = sum(1 for _, ok, _ in bucket if ok)
        result.append(WindowStats(
            start=begin + index * width, total=len(bucket), good=good,
            sli=good / len(bucket) if bucket else None,
            p50=percentile(latencies, 50), p99=percentile(latencies, 99),
        ))
    return result


def worst_error_rate(points: Sequence[Point], width: float) -> float:
    """The highest error ratio of any fixed ``width``-second window (0 with no samples)."""
    rates = [1.0 - w.sli for w in windows(points, width) if w.sli is not None]
    return max(rates, default=0.0)


def time_to_detect(points: Sequence[Point], fault_at: float) -> float | None:
    """Seconds from ``fault_at`` to the first bad sample at or after it (None if none)."""
    for at, good, _ in points:
        if at >= fault_at and not good:
            return at - fault_at
    return None


def meets(good: int, total: int, target: float) -> bool:
    """Whether ``good`` of ``total`` samples meet ``target`` (exactly: 999 of 1000 meet 0.999)."""
    return total > 0 and good >= target * total - 1e-9


def samples_to_express(target: float) -> int:
    """The fewest samples in which one bad sample still meets ``target``: 1 / (1 - target).

    Fewer samples cannot express the objective: at 99.9 %, 100 samples can only say 100 %
    or 99 %, so "at or above the objective" there means "no error at all" (docs/slo.md).
    """
    return math.ceil(1.0 / (1.0 - target) - 1e-9)


def recovery_start(points: Sequence[Point], fault_at: float, target: float,
                   window: float) -> float | None:
    """Start of the first period from which every full rolling window keeps SLI >= target.

    A rolling window starts at each sample at or after ``fault_at`` and covers the
    ``window`` seconds from it (both ends included); it is full when the samples go
    on to its end. The answer is the first sample after the start of the last full
    window whose SLI is below ``target`` - or the first sample after ``fault_at``
    when none is. None when no full window starts there: the samples after it are
    too short to show the objective holds (never recovered, or not observed).
    """
    after = [p for p in points if p[0] >= fault_at]
    if not after:
        return None
    times = [p[0] for p in after]
    last = times[-1]
    bad_prefix = [0]
    for _, good, _ in after:
        bad_prefix.append(bad_prefix[-1] + (0 if good else 1))
    last_violation = -1
    last_full = -1
    end_index = 0
    for index, start in enumerate(times):
        if start + window > last + 1e-9:
            break
        last_full = index
        end_index = max(end_index, index)
        while end_index < len(times) and times[end_index] <= start + window + 1e-9:
            end_index += 1
        total = end_index - index
        bad = bad_prefix[end_index] - bad_prefix[index]
        if not meets(total - bad, total, target):
            last_violation = index
    if last_violation + 1 > last_full:
        return None
    return times[last_violation + 1]


def time_to_recover(points: Sequence[Point], fault_at: float, target: float,
                    window: float, hold: float) -> float | None:
    """Seconds from ``fault_at`` to recovery, or None if not recovered and held.

    Recovery is :func:`recovery_start`; it counts only when the samples go on
    for at least ``hold`` seconds after it and the SLI over all of them meets
    ``target``.
    """
    start = recovery_start(points, fault_at, target, window)
    if start is None or points[-1][0] - start < hold:
        return None
    stretch = [p for p in points if p[0] >= start]
    if not meets(sum(1 for p in stretch if p[1]), len(stretch), target):
        return None
    return start - fault_at
