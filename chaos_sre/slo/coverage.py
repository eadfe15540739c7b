"""Did the samples cover the run? The evidence a verdict needs before it can pass.

The sampler schedules request *i* at ``start + i / rate`` and writes every one
when it ends (:mod:`chaos_sre.slo.sampler`), so between its start and its stop
the schedule says how many samples there must be. Fewer means requests were lost
(the sampler died, was stopped or lost lines); a long stretch without a request
*sent* means nothing looked at the service then (the sampler stalled, or it was
killed), even if late requests were later sent for those slots.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chaos_sre.slo.samples import Sample

MIN_COVERAGE = 0.99
"""The share of the schedule the samples must hold."""
GAP_INTERVALS = 5
"""A gap between requests sent longer than this many sample intervals ..."""
GAP_FLOOR_SECONDS = 0.5
"""... and than this (a loaded runner pauses a process for a few hundred ms) is a blind spot."""


@dataclass(frozen=True)
class Coverage:
    """How completely the samples cover the sampler's schedule from its start to its stop."""

    expected: int
    recorded: int
    largest_gap_seconds: float
    largest_gap_at: float | None
    """When the largest gap began (epoch seconds)."""

    @property
    def fraction(self) -> float:
        return 1.0 if self.expected <= 0 else min(1.0, self.recorded / self.expected)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fraction": self.fraction}


def largest_gap_allowed(rate: float) -> float:
    """The longest stretch without a request sent that still counts as observed."""
    return max(GAP_INTERVALS / rate, GAP_FLOOR_SECONDS)


def coverage(samples: Sequence[Sample], rate: float, started_at: float,
             stopped_at: float) -> Coverage:
    """The samples' coverage of the schedule from the first scheduled request (or, with no
    sample, ``started_at``) up to ``stopped_at``, when the sampler was told to stop."""
    if not samples:
        return Coverage(expected=max(1, int((stopped_at - started_at) * rate)), recorded=0,
                        largest_gap_seconds=max(0.0, stopped_at - started_at),
                        largest_gap_at=started_at)
    origin = min(s.scheduled for s in samples)
    expected = int((stopped_at - origin) * rate) + 1
    recorded = len({round((s.scheduled - origin) * rate) for s in samples})
    sent = sorted(s.sent for s in samples)
    gap, gap_at = 0.0, None
    for before, after in zip([*sent], [*sent[1:], stopped_at], strict=True):
        if after - before > gap:
            gap, gap_at = after - before, before
    return Coverage(expected=expected, recorded=recorded, largest_gap_seconds=gap,
                    largest_gap_at=gap_at)


def coverage_problems(found: Coverage, rate: float) -> list[str]:
    """Why ``found`` is not enough evidence to judge the run (empty when it is)."""
    problems = []
    if found.fraction < MIN_COVERAGE:
        problems.append(f"the samples cover {found.fraction * 100:.1f} % of the sampler's schedule "
                        f"({found.recorded} of {found.expected}), less than "
                        f"{MIN_COVERAGE * 100:g} %: requests were lost")
    allowed = largest_gap_allowed(rate)
    if found.largest_gap_seconds > allowed:
        problems.append(f"no request was sent for {found.largest_gap_seconds:.2f} s (longer than "
                        f"{allowed:g} s): the service was not observed then")
    return problems
