"""The verdict of one run: did the service survive the fault within its SLO?

Pure: it takes the samples, the SLO, the run's settings and what happened
(phase times, the Chaos Toolkit journal's own outcome) and returns the
``chaos_sre`` journal extension. The verdict fails closed (DESIGN.md section 3):

* **failed** when the evidence shows a failure: the steady state did not hold
  before the fault, the budget spent exceeds the allowance, the service did not
  recover (and hold) or took longer than the RTO, the steady state did not hold
  after, an action or rollback failed, the sampler died, or the control itself
  failed;
* **inconclusive** when evidence is missing: no sample, samples that do not cover
  the run, unreadable sample lines, a fault that had no effect or whose effect nothing
  verified, a method that was partly a dry run;
* **dry-run** when the method was a dry run (``chaos run --dry=actions|activities`` or a
  fault's ``dry_run``): the plan is in the verdict, nothing was injected;
* **passed** only when none applies.

The verdict object is :class:`chaos_sre.verdicts.Verdict`; ``verdict.passed`` is true only
for ``passed``, and ``chaos run`` fails otherwise.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.extension import NAME as EXTENSION_NAME
from chaos_sre.extension import Extension, SamplingFields, SliSummary
from chaos_sre.slo import math as slo_math
from chaos_sre.slo.budget import TrafficModel
from chaos_sre.slo.coverage import coverage, coverage_problems
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.samples import Sample
from chaos_sre.verdicts import Status, Verdict


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
    window_traffic_rate: float | None = None
    """The service's average req/s over the SLO window, when known (budget model)."""
    run_traffic_rate: float | None = None
    """The users' req/s during the run (default: the window's average)."""
    adjustments: tuple[str, ...] = ()
    """What the control changed in the arguments it was given, and why (a widened window)."""
    time_scale: float = 1.0
    """Wall seconds per AWS second (chaos_sre.timescale): every duration above is in AWS
    seconds, the samples' clock is the wall clock, and the rates are per wall second."""

    def wall(self, aws: float) -> float:
        """``aws`` AWS seconds on the samples' clock."""
        return aws * self.time_scale

    def aws(self, wall: float) -> float:
        """A span measured on the samples' clock, in AWS seconds."""
        return wall / self.time_scale


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
    steady_state_failures: list[str] = field(default_factory=list)
    """``<probe>: <error>`` of each steady-state probe that failed (an error, not a tolerance
    missed) before the fault: an AccessDenied there is named in the verdict."""
    failed_actions: list[str] = field(default_factory=list)
    failed_rollbacks: list[str] = field(default_factory=list)
    restore_to_healthy_seconds: float | None = None
    """Reported by a rollback (e.g. ECS restore_service): restore call -> healthy again, in AWS
    seconds (a span the rollback measured, converted by it)."""
    refused: str | None = None
    interrupted: bool = False
    """Ctrl-C or SIGTERM ended the run (not chaos-sre's own stop condition)."""
    stopped: dict[str, Any] | None = None
    dry_run: bool = False
    """The method was a dry run (``chaos run --dry=actions|activities`` or a fault's dry_run)."""
    dry_run_plan: list[dict[str, Any]] = field(default_factory=list)
    """``{"activity": name, "plan": what the fault would do}`` of each fault a dry run planned."""
    chaos_status: str | None = None
    """The journal's status when the control judged the run (Chaos Toolkit's own outcome)."""
    rollbacks_ended_at: float | None = None
    sampler_stopped_at: float | None = None
    """When the control told the sampler to stop (the end of its schedule)."""
    sampler_exit_code: int | None = None
    sampler_died: bool = False
    """The sampler had exited before the control stopped it."""
    sample_problems: list[str] = field(default_factory=list)
    """Sample lines that could not be read, a missing samples file."""
    control_errors: list[str] = field(default_factory=list)
    """Errors inside the chaos-sre control itself (each fails the verdict)."""
    no_effect: list[str] = field(default_factory=list)
    """Faults whose family found no effect on the service (the verdict is inconclusive)."""
    effects_checked: int | None = None
    """How many of the run's changes a fault family verified (None: not checked)."""
    window_traffic_rate: float | None = None
    """The window's average req/s read at run time (CloudWatch), overriding the settings'."""


def _pct(value: float) -> str:
    return f"{value * 100:.3g} %"


def _summary(samples: Sequence[Sample], points: Sequence[slo_math.Point]) -> SliSummary:
    latencies = [p[2] for p in points if p[2] is not None]
    return {
        "samples": len(points),
        "good": sum(1 for p in points if p[1]),
        "sli": slo_math.sli(points),
        "outcomes": dict(Counter(s.outcome for s in samples)),
        "latency_p50_seconds": slo_math.percentile(latencies, 50),
        "latency_p99_seconds": slo_math.percentile(latencies, 99),
    }


@dataclass
class _Findings:
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def verdict(self) -> Verdict:
        if self.failures or self.missing:
            status = Status.FAILED if self.failures else Status.INCONCLUSIVE
            return Verdict(status, tuple(self.failures + self.missing))
        return Verdict(Status.DRY_RUN if self.dry_run else Status.PASSED, tuple(self.passes))


def completed_before(sample: Sample, moment: float, timeout: float) -> bool:
    """Whether ``sample``'s request had surely ended before ``moment``: a good answer by its
    latency; a bad one (whose end may be a timeout or a refused connection) only if even a
    full timeout ended before it - else the fault may have broken it."""
    if sample.latency is not None:
        return sample.sent + sample.latency < moment
    return sample.sent + timeout < moment


def _plan_text(plan: Any, limit: int = 240) -> str:
    """A fault's dry-run plan on one line (its ``dry_run`` flag left out), cut at ``limit``."""
    shown = {k: v for k, v in plan.items() if k != "dry_run"} if isinstance(plan, dict) else plan
    text = json.dumps(shown, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _in_aws(settings: RunSettings, wall: float | None) -> float | None:
    return None if wall is None else settings.aws(wall)


def traffic_model(slo: SLODefinition, settings: RunSettings, record: RunRecord) -> TrafficModel:
    """The budget's traffic model for this run (docs/slo.md, "Budget spent")."""
    window_rate = (record.window_traffic_rate if record.window_traffic_rate is not None
                   else settings.window_traffic_rate)
    return TrafficModel(slo.window_seconds, slo.target, settings.rate, window_rate,
                        settings.run_traffic_rate, time_scale=settings.time_scale)


def _evidence(found: _Findings, samples: Sequence[Sample], settings: RunSettings,
              record: RunRecord) -> SamplingFields:
    """The sampler's exit and the samples' coverage: failures and missing evidence."""
    found.failures.extend(f"the chaos-sre control failed: {e}" for e in record.control_errors)
    if record.sampler_died:
        found.failures.append(f"the sampler exited (code {record.sampler_exit_code}) before the "
                              "run ended: the rest of the run was not observed")
    found.missing.extend(record.sample_problems)
    sampling: SamplingFields = {"rate": settings.rate, "started_at": record.sampler_started_at,
                                "stopped_at": record.sampler_stopped_at,
                                "exit_code": record.sampler_exit_code, "coverage": None}
    if record.dry_run:
        return sampling
    if not samples:
        found.missing.append("no SLI sample was recorded: nothing observed the service "
                             "(is the target URL reachable, did the sampler start?)")
        return sampling
    if record.sampler_started_at is not None and record.sampler_stopped_at is not None:
        found_coverage = coverage(samples, settings.rate, record.sampler_started_at,
                                  record.sampler_stopped_at)
        sampling["coverage"] = found_coverage.as_dict()
        found.missing.extend(coverage_problems(found_coverage, settings.rate))
    return sampling


def judge(samples: Sequence[Sample], slo: SLODefinition, settings: RunSettings,
          record: RunRecord, samples_path: str) -> Extension:
    """Compute the ``chaos_sre`` journal extension for a finished run."""
    ordered = sorted(samples, key=lambda s: s.scheduled)
    points = [(s.scheduled, s.good(slo.latency_threshold_seconds), s.latency) for s in ordered]
    fault_at = record.fault_started_at
    target = slo.target
    found = _Findings()
    sampling = _evidence(found, ordered, settings, record)

    in_baseline = [fault_at is None or completed_before(s, fault_at, slo.timeout_seconds)
                   for s in ordered]
    before = [p for p, kept in zip(points, in_baseline, strict=True) if kept]
    baseline_sli = slo_math.sli(before)
    if record.refused:
        found.failures.append(record.refused)
    if record.steady_state_before is False:
        found.failures.append("the steady-state hypothesis did not hold before the fault"
                              + "".join(f"; probe {f}" for f in record.steady_state_failures))
    elif baseline_sli is not None and baseline_sli < target and not record.refused:
        found.failures.append(f"the SLI before the fault was {_pct(baseline_sli)}, below the "
                              f"{_pct(target)} objective")
    elif baseline_sli is not None:
        found.passes.append(f"steady state held before the fault (SLI {_pct(baseline_sli)})")
    found.failures.extend(f"method activity failed: {a}" for a in record.failed_actions)
    if record.stopped:
        during = record.stopped.get("during", "the method")
        found.failures.append(f"stopped during {during}: {record.stopped['reason']}")
    if record.interrupted:
        found.failures.append("the run was interrupted (Ctrl-C or SIGTERM) before it finished; if "
                              "its rollbacks did not complete, restore with: chaos-sre rollback --last")
    found.missing.extend(f"the fault had no effect: {n}" for n in record.no_effect)
    if record.dry_run and fault_at is not None:
        found.missing.append("part of the method was a dry run and part of it really ran: the "
                             "verdict cannot say which fault the service met")
    elif fault_at is not None and not record.effects_checked and not record.no_effect \
            and not (record.stopped or record.failed_actions or record.interrupted):
        found.missing.append("nothing verified that the fault took effect: no fault of the method "
                             "reported a change whose effect a chaos-sre check covers")

    model = traffic_model(slo, settings, record)
    detect = recover = None
    consumed = assumed = 0.0
    weighted = sampler_share = None
    span_samples = [s for s, kept in zip(ordered, in_baseline, strict=True) if not kept]
    span = [p for p, kept in zip(points, in_baseline, strict=True) if not kept]
    if fault_at is not None and points:
        bad = sum(1 for p in span if not p[1])
        last_at = span[-1][0] if span else fault_at
        assumed = model.assumed(bad, len(span), fault_at, last_at)
        weighted = model.weighted(bad, len(span), fault_at, last_at)
        sampler_share = model.sampler_share(bad)
        consumed = model.spent(bad, len(span), fault_at, last_at)
        detect = _in_aws(settings, slo_math.time_to_detect(span, fault_at))
        recover = _in_aws(settings, slo_math.time_to_recover(
            span, fault_at, target, settings.wall(settings.recovery_window_seconds),
            settings.wall(settings.hold_seconds)))
        if consumed > settings.budget_allowance:
            found.failures.append(f"spent {_pct(consumed)} of the error budget, more than the "
                                  f"{_pct(settings.budget_allowance)} allowed")
        else:
            found.passes.append(f"spent {_pct(consumed)} of the error budget "
                                f"(allowed {_pct(settings.budget_allowance)})")
        if record.interrupted:
            pass  # the run did not wait for the recovery: there is nothing to judge
        elif recover is None:
            found.failures.append(
                f"the service did not recover: the SLI over a {settings.recovery_window_seconds:g} s "
                f"window was not back at {_pct(target)} for the "
                f"{max(settings.hold_seconds, settings.recovery_window_seconds):g} s it must hold "
                "before the end")
        elif recover > settings.rto_seconds:
            found.failures.append(f"recovery took {recover:.2f} s, more than the RTO of "
                                  f"{settings.rto_seconds:g} s")
        else:
            found.passes.append(f"recovered in {recover:.2f} s (RTO {settings.rto_seconds:g} s)"
                                if detect is not None else
                                "no bad sample after the fault: the SLI never dropped")
    elif record.dry_run:
        found.dry_run = True
        found.passes.append("dry run: targets resolved, no fault was injected")
        found.passes.extend(f"{step['activity']} would: {_plan_text(step['plan'])}"
                            for step in record.dry_run_plan)
    elif points and not record.refused and record.steady_state_before is not False \
            and not record.failed_actions:
        found.failures.append("no fault was injected: the method ran no action")
    if record.steady_state_after is False:
        found.failures.append("the steady-state hypothesis did not hold after the fault")
    found.failures.extend(f"rollback failed, the fault may not be fully undone: {a}"
                          for a in record.failed_rollbacks)
    restored = record.restore_to_healthy_seconds
    if restored is not None and settings.restore_rto_seconds is not None \
            and restored > settings.restore_rto_seconds:
        found.failures.append(f"the restored service took {restored:.2f} s to be healthy again, "
                              f"more than the restore RTO of {settings.restore_rto_seconds:g} s")
    elif restored is not None:
        found.passes.append(f"healthy again {restored:.2f} s after the restore"
                            + ("" if settings.restore_rto_seconds is None
                               else f" (restore RTO {settings.restore_rto_seconds:g} s)"))

    if record.chaos_status not in (None, "completed") and not found.failures:
        found.failures.append(f"Chaos Toolkit ended the run with status {record.chaos_status}")

    short_window = settings.burn_window_seconds
    worst = slo_math.worst_error_rate(span, settings.wall(short_window)) if span else 0.0
    return {
        "name": EXTENSION_NAME,
        "verdict": found.verdict().as_dict(),
        "slo": {"name": slo.name, "source": slo.source, "target": target,
                "window_seconds": slo.window_seconds,
                "latency_threshold_seconds": slo.latency_threshold_seconds},
        "recovery": {"detect_seconds": detect, "recover_seconds": recover,
                     "rto_seconds": settings.rto_seconds,
                     "window_seconds": settings.recovery_window_seconds,
                     "hold_seconds": settings.hold_seconds,
                     "restore_to_healthy_seconds": restored,
                     "restore_rto_seconds": settings.restore_rto_seconds},
        "budget": {"allowed_fraction": settings.budget_allowance, "consumed_fraction": consumed,
                   "model": model.describe(), "assumed_fraction": assumed,
                   "weighted_fraction": weighted, "sampler_fraction": sampler_share,
                   "window_traffic_rate": model.window_rate,
                   "run_traffic_rate": model.run_rate},
        "burn_rate": {
            "experiment": slo_math.burn_rate(slo_math.error_ratio(span) or 0.0, target) if span else 0.0,
            "worst_short_window": slo_math.burn_rate(worst, target),
            "short_window_seconds": short_window,
        },
        "worst_error_rate": worst,
        "time_scale": settings.time_scale,
        "fault_started_at": fault_at,
        "samples_path": samples_path,
        "sampling": sampling,
        "adjustments": list(settings.adjustments),
        "sli": {"whole_run": _summary(ordered, points),
                "before_fault": {"samples": len(before), "sli": baseline_sli},
                "after_fault": _summary(span_samples, span)},
        "stopped": record.stopped,
        "fault_effect": {"checked": record.effects_checked, "missing": list(record.no_effect),
                         "verified": bool(record.effects_checked) and not record.no_effect},
        "control_errors": list(record.control_errors),
        "dry_run": {"plan": list(record.dry_run_plan)} if record.dry_run else None,
        "phases": {"method_ended_at": record.method_ended_at,
                   "rollbacks_started_at": record.rollbacks_started_at,
                   "rollbacks_ended_at": record.rollbacks_ended_at,
                   "ended_at": record.ended_at},
    }
