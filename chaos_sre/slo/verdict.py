"""The verdict of one run: did the service survive the fault within its SLO?

Pure: it takes the samples, the SLO, the run's settings and what happened
(phase times, the Chaos Toolkit journal's own outcome) and returns the
``chaos_sre`` journal extension. The verdict passes only if the steady state
held before the fault, the budget spent is within the allowance, the service
recovered (and held), recovery took no longer than the RTO, and the steady
state held after (DESIGN.md section 3).
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.slo import math as slo_math
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.samples import Sample


@dataclass(frozen=True)
class RunSettings:
    """What an experiment adds to its SLO (the control's arguments)."""

    budget_allowance: float
    rto_seconds: float
    rate: float
    baseline_seconds: float
    hold_seconds: float
    recovery_window_seconds: float
    burn_rate_stop: float | None
    burn_window_seconds: float
    restore_rto_seconds: float | None = None
    """Longest allowed time from a rollback's restore to the restored resource being healthy."""


@dataclass
class RunRecord:
    """What the control saw during the run (epoch seconds)."""

    sampler_started_at: float | None = None
    fault_started_at: float | None = None
    method_ended_at: float | None = None
    rollbacks_started_at: float | None = None
    ended_at: float | None = None
    steady_state_before: bool | None = None
    steady_state_after: bool | None = None
    failed_actions: list[str] = field(default_factory=list)
    failed_rollbacks: list[str] = field(default_factory=list)
    restore_to_healthy_seconds: float | None = None
    """Reported by a rollback (e.g. ECS restore_service): restore call -> healthy again."""
    refused: str | None = None
    interrupted: bool = False
    """Ctrl-C or SIGTERM ended the run (not chaos-sre's own stop condition)."""
    stopped: dict[str, Any] | None = None
    dry_run: bool = False


def _pct(value: float) -> str:
    return f"{value * 100:.3g} %"


def _summary(samples: Sequence[Sample], points: Sequence[slo_math.Point]) -> dict[str, Any]:
    latencies = [p[2] for p in points if p[2] is not None]
    return {
        "samples": len(points),
        "good": sum(1 for p in points if p[1]),
        "sli": slo_math.sli(points),
        "outcomes": dict(Counter(s.outcome for s in samples)),
        "latency_p50_seconds": slo_math.percentile(latencies, 50),
        "latency_p99_seconds": slo_math.percentile(latencies, 99),
    }


def judge(samples: Sequence[Sample], slo: SLODefinition, settings: RunSettings,
          record: RunRecord, samples_path: str) -> dict[str, Any]:
    """Compute the ``chaos_sre`` journal extension for a finished run."""
    ordered = sorted(samples, key=lambda s: s.scheduled)
    points = [(s.scheduled, s.good(slo.latency_threshold_seconds), s.latency) for s in ordered]
    fault_at = record.fault_started_at
    target = slo.target
    failures: list[str] = []
    passes: list[str] = []

    before = [p for p in points if fault_at is None or p[0] < fault_at]
    baseline_sli = slo_math.sli(before)
    if record.refused:
        failures.append(record.refused)
    if record.steady_state_before is False:
        failures.append("the steady-state hypothesis did not hold before the fault")
    elif baseline_sli is not None and baseline_sli < target and not record.refused:
        failures.append(f"the SLI before the fault was {_pct(baseline_sli)}, below the {_pct(target)} objective")
    elif baseline_sli is not None:
        passes.append(f"steady state held before the fault (SLI {_pct(baseline_sli)})")
    failures.extend(f"method activity failed: {a}" for a in record.failed_actions)
    if record.stopped:
        failures.append(f"stopped during the method: {record.stopped['reason']}")
    if record.interrupted:
        failures.append("the run was interrupted (Ctrl-C or SIGTERM) before it finished; if its "
                        "rollbacks did not complete, restore with: chaos-sre rollback --last")

    detect = recover = None
    consumed = 0.0
    span: list[slo_math.Point] = []
    if fault_at is not None and points:
        span = [p for p in points if p[0] >= fault_at]
        consumed = slo_math.spent_since_fault(
            sum(1 for p in span if not p[1]), len(span), fault_at,
            span[-1][0] if span else fault_at, settings.rate, slo.window_seconds, target)
        detect = slo_math.time_to_detect(points, fault_at)
        recover = slo_math.time_to_recover(points, fault_at, target,
                                           settings.recovery_window_seconds, settings.hold_seconds)
        if consumed > settings.budget_allowance:
            failures.append(f"spent {_pct(consumed)} of the error budget, more than the "
                            f"{_pct(settings.budget_allowance)} allowed")
        else:
            passes.append(f"spent {_pct(consumed)} of the error budget "
                          f"(allowed {_pct(settings.budget_allowance)})")
        if record.interrupted:
            pass  # the run did not wait for the recovery: there is nothing to judge
        elif recover is None:
            failures.append(f"the service did not recover: the rolling SLI was not back at "
                            f"{_pct(target)} for the {settings.hold_seconds:g} s hold before the end")
        elif recover > settings.rto_seconds:
            failures.append(f"recovery took {recover:.2f} s, more than the RTO of "
                            f"{settings.rto_seconds:g} s")
        else:
            passes.append(f"recovered in {recover:.2f} s (RTO {settings.rto_seconds:g} s)"
                          if detect is not None else
                          "no bad sample after the fault: the SLI never dropped")
    elif record.dry_run:
        passes.append("dry run: targets resolved, no fault was injected")
    elif not record.refused and record.steady_state_before is not False \
            and not record.failed_actions:
        failures.append("no fault was injected: the method ran no action")
    if record.steady_state_after is False:
        failures.append("the steady-state hypothesis did not hold after the fault")
    failures.extend(f"rollback failed, the fault may not be fully undone: {a}"
                    for a in record.failed_rollbacks)
    restored = record.restore_to_healthy_seconds
    if restored is not None and settings.restore_rto_seconds is not None \
            and restored > settings.restore_rto_seconds:
        failures.append(f"the restored service took {restored:.2f} s to be healthy again, more "
                        f"than the restore RTO of {settings.restore_rto_seconds:g} s")
    elif restored is not None:
        passes.append(f"healthy again {restored:.2f} s after the restore"
                      + ("" if settings.restore_rto_seconds is None
                         else f" (restore RTO {settings.restore_rto_seconds:g} s)"))

    short_window = settings.burn_window_seconds
    worst = slo_math.worst_error_rate(span, short_window) if span else 0.0
    return {
        "name": "chaos_sre",
        "verdict": {"passed": not failures, "reasons": failures or passes},
        "slo": {"name": slo.name, "source": slo.source, "target": target,
                "window_seconds": slo.window_seconds,
                "latency_threshold_seconds": slo.latency_threshold_seconds},
        "recovery": {"detect_seconds": detect, "recover_seconds": recover,
                     "rto_seconds": settings.rto_seconds,
                     "restore_to_healthy_seconds": restored,
                     "restore_rto_seconds": settings.restore_rto_seconds},
        "budget": {"allowed_fraction": settings.budget_allowance, "consumed_fraction": consumed},
        "burn_rate": {
            "experiment": slo_math.burn_rate(slo_math.error_ratio(span) or 0.0, target) if span else 0.0,
            "worst_short_window": slo_math.burn_rate(worst, target),
            "short_window_seconds": short_window,
        },
        "worst_error_rate": worst,
        "fault_started_at": fault_at,
        "samples_path": samples_path,
        "sampling": {"rate": settings.rate, "started_at": record.sampler_started_at},
        "sli": {"whole_run": _summary(ordered, points),
                "before_fault": {"samples": len(before), "sli": baseline_sli},
                "after_fault": _summary([s for s in ordered if fault_at is not None
                                         and s.scheduled >= fault_at], span)},
        "stopped": record.stopped,
        "phases": {"method_ended_at": record.method_ended_at,
                   "rollbacks_started_at": record.rollbacks_started_at,
                   "ended_at": record.ended_at},
    }
