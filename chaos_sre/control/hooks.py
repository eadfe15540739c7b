"""The Chaos Toolkit control hooks: each one hands its moment of the run to the module whose
job it is (settings, sampling, gate, activities, settle, verdict, outcome).

Every hook fails closed (:mod:`chaos_sre.control.failsafe`): an error in one is
recorded and FAILS the verdict; the hooks before the fault interrupt the run
instead of letting a fault be injected unwatched.
"""

import logging
import time
from pathlib import Path
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.exit import exit_gracefully
from chaoslib.settings import get_loaded_settings
from chaoslib.types import Dry

from chaos_sre import interrupts
from chaos_sre.activities import activities as experiment_activities
from chaos_sre.activities import check_activity
from chaos_sre.aws import call_counts
from chaos_sre.control import activities, gate, invocation, outcome
from chaos_sre.control.failsafe import describe, guarded
from chaos_sre.control.flags import check_flags, effective_flags
from chaos_sre.control.pauses import play_pauses, restore_pauses
from chaos_sre.control.sampling import start_sampling, stop_sampling
from chaos_sre.control.settings import control_settings
from chaos_sre.control.settle import settle
from chaos_sre.control.state import ControlRun
from chaos_sre.errors import ChaosSreError
from chaos_sre.extension import Extension, RunTargets
from chaos_sre.faults.effects import SETTLED
from chaos_sre.permissions import declared, requires
from chaos_sre.probes.cloudwatch import error_budget_remaining
from chaos_sre.safety.secrets import redact_secrets
from chaos_sre.slo.samples import Sample, read_sample_file
from chaos_sre.slo.verdict import judge, traffic_model
from chaos_sre.verdicts import exit_code, parse

logger = logging.getLogger("chaostoolkit")

_run: ControlRun | None = None
_config_error: str | None = None


def _record_error(message: str) -> None:
    """An error inside the control: the verdict fails naming it."""
    if _run is not None:
        _run.record.control_errors.append(message)


before_the_fault = guarded(_record_error, interrupt=True)
"""Hooks before (and at) the fault: an error interrupts the run, nothing is injected unwatched."""
after_the_fault = guarded(_record_error, interrupt=False)
"""Hooks once the fault may be live: an error is recorded (the rollbacks must still play)."""


@requires(*declared(error_budget_remaining) or ())  # the budget gate's CloudWatch reads
def configure_control(
    slo: str,
    target_url: str,
    budget_allowance: float,
    rto_seconds: float,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    experiment: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Validate the control's arguments, the SLO and the experiment's chaos-sre activities.

    ``options`` are the optional arguments of docs/slo.md (rate, baseline_seconds,
    hold_seconds, recovery_window_seconds, burn_rate_stop, burn_window_seconds,
    samples_path, budget_gate, restore_rto_seconds). Nothing runs yet; a
    problem makes the run stop before anything is sampled or injected.
    """
    global _run, _config_error
    _run, _config_error = None, None
    try:
        _run = _configured(
            {"slo": slo, "target_url": target_url, "budget_allowance": budget_allowance,
             "rto_seconds": rto_seconds, **options}, configuration, secrets, experiment)
    except ChaosSreError as exc:
        _config_error = str(exc)
    except Exception as exc:  # Chaos Toolkit would drop the control and run unjudged (failsafe)
        _config_error = f"the control failed: {describe('configure_control', exc)}"
    if _config_error is not None:
        logger.error(f"chaos-sre: {_config_error}")
        return
    assert _run is not None
    for note in _run.settings.adjustments:
        logger.warning(f"chaos-sre: {note}")


def _configured(arguments: dict[str, Any], configuration: dict[str, Any] | None,
                secrets: dict[str, Any] | None,
                experiment: dict[str, Any] | None) -> ControlRun:
    """The run the control's checked ``arguments`` describe; Chaos Toolkit's flags and the
    experiment's chaos-sre activities checked (:mod:`chaos_sre.control.flags`)."""
    checked = control_settings(arguments, configuration,
                               experiment_file=invocation.experiment_file())
    dry_run = False
    if experiment is not None:
        flags = effective_flags(experiment, invocation.chaos_run_parameters(),
                                get_loaded_settings())
        check_flags(flags)
        dry_run = flags.dry_run
        for where, activity in experiment_activities(experiment):
            check_activity(activity, configuration or {}, where)
    path = Path(checked.samples_path) if checked.samples_path \
        else invocation.samples_path_for(invocation.journal_path())
    run = ControlRun(checked.slo, checked.run, checked.target_url, path,
                     budget_gate=checked.budget_gate,
                     window_traffic_from_cloudwatch=checked.window_traffic_from_cloudwatch,
                     configuration=configuration, secrets=secrets)
    run.record.dry_run = dry_run
    return run


def _require_run() -> ControlRun:
    if _run is None:
        raise InterruptExecution(f"chaos-sre: {_config_error or 'the control is not configured'}")
    return _run


@before_the_fault
def before_experiment_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Start the open-loop sampler before anything else happens."""
    run = _require_run()
    interrupts.watch()
    start_sampling(run, on_stop=_stop_run)


def _stop_run(reason: str) -> None:
    """The monitor's stop (its thread, under its lock): interrupt the method so rollbacks play."""
    run = _require_run()
    during = "the steady-state check after the method" if run.method_done else "the method"
    run.record.stopped = {"at": time.time(), "reason": reason, "during": during}
    logger.error(f"chaos-sre: stopping the experiment: {reason}")
    exit_gracefully()


@after_the_fault
def after_hypothesis_control(context: dict[str, Any], state: dict[str, Any] | None = None,
                             **kwargs: Any) -> None:
    """Note whether the steady state held before and after the method."""
    run = _run
    if run is None or state is None:
        return
    met = bool(state.get("steady_state_met"))
    if run.method_done:
        run.record.steady_state_after = met
    elif not run.in_method:
        run.record.steady_state_before = met
        run.record.steady_state_failures = [
            activities.failure_message(probe.get("activity") or {}, probe)
            for probe in state.get("probes") or []
            if isinstance(probe, dict) and probe.get("status") == "failed"]


@before_the_fault
def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    """The pre-flight gate: no fault unless the steady state held over the baseline."""
    run = _require_run()
    run.record.refused = gate.refusal(run)
    if run.record.refused:
        logger.error(f"chaos-sre: {run.record.refused}")
        raise InterruptExecution(f"chaos-sre: {run.record.refused}")
    if run.monitor is not None:  # the gate may have read the window's traffic from CloudWatch
        run.monitor.use_traffic(traffic_model(run.slo, run.settings, run.record))
    run.in_method = True


@before_the_fault
def before_activity_control(context: dict[str, Any], experiment: dict[str, Any] | None = None,
                            configuration: dict[str, Any] | None = None,
                            secrets: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Play the activity's pauses at the lab's time scale; mark the fault's start at the
    method's first action (and plan it in a dry run)."""
    run = _run
    if run is None:
        return
    play_pauses(context, run.settings.time_scale, configuration, secrets)
    if not run.in_method:
        return
    dry = (experiment or {}).get("dry")
    if context.get("type") == "action" and dry in (Dry.ACTIONS, Dry.ACTIVITIES):
        activities.plan_dry_run(run, context, configuration, secrets)
        return
    activities.fault_started(run, context)


@after_the_fault
def after_activity_control(context: dict[str, Any], state: dict[str, Any] | None = None,
                           **kwargs: Any) -> None:
    """Put back the pauses the activity stated; record failed method actions and chaos-sre
    probes, and what rollbacks report."""
    restore_pauses(context, state)
    run = _run
    if run is None or state is None:
        return
    if run.record.rollbacks_started_at is not None:
        activities.rollback_ended(run, context, state)
    elif run.in_method:
        activities.method_activity_ended(run, context, state)


@after_the_fault
def after_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    """The method is over; what follows is the after-method steady-state check, with the fault
    still in place, so the stop condition still interrupts it (until the rollbacks start)."""
    run = _run
    if run is None:
        return
    run.in_method = False
    run.method_done = True
    run.record.method_ended_at = time.time()
    activities.verify_effect(run)


@after_the_fault
def before_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Rollbacks start: the stop condition no longer applies."""
    run = _run
    if run is None:
        return
    interrupts.rollbacks_started()
    run.in_method = False
    run.record.rollbacks_started_at = time.time()
    if run.monitor is not None:
        run.monitor.rollbacks_started()


def after_experiment_control(context: dict[str, Any], state: dict[str, Any] | None = None,
                             **kwargs: Any) -> None:
    """Let the service settle, stop sampling, judge the run, fail the run unless it passed.

    Whatever happened, inline secret values are blanked in the journal's copy of the
    experiment, the sampler is stopped and a verdict is written: an error on the way - also
    in what follows the verdict (the targets, the history row) - is recorded and fails it.
    A run the control refused before it started gets an INCONCLUSIVE verdict naming why.
    """
    if state is not None:
        after_the_fault(redact_secrets)(state.get("experiment"))
    run = _run
    if state is None:
        return
    if run is None:
        state.setdefault("extensions", []).append(outcome.not_judged(
            _config_error or "the control is not configured"))
        return
    run.record.rollbacks_ended_at = time.time()
    run.record.chaos_status = state.get("status")
    run.record.interrupted = state.get("status") == "interrupted" and not run.record.stopped
    try:
        if not run.record.interrupted:
            after_the_fault(settle)(run)
            after_the_fault(activities.verify_effect)(run, SETTLED)
    finally:
        after_the_fault(stop_sampling)(run)
    run.record.ended_at = time.time()
    targets = after_the_fault(outcome.run_targets)() or RunTargets()
    targets["aws_calls"] = call_counts.since(run.aws_calls_at_start)
    samples = after_the_fault(observed_samples)(run) or []
    extension: Extension = {**_judged(run, samples), **targets}
    if not run.record.dry_run:
        errors = len(run.record.control_errors)
        after_the_fault(outcome.record_history)(state, extension, invocation.journal_path())
        if len(run.record.control_errors) > errors:  # the row was not written: judge again
            extension = {**_judged(run, samples), **targets}
    state.setdefault("extensions", []).append(extension)
    outcome.log_verdict(extension)
    if exit_code(parse(extension["verdict"])) and state.get("status") == "completed":
        state["status"] = "failed"  # chaos run exits 1 for every verdict but PASSED


def _judged(run: ControlRun, samples: list[Sample]) -> Extension:
    """The run's verdict by ``samples``; if judging fails, a FAILED one naming why."""
    extension = after_the_fault(judge)(samples, run.slo, run.settings, run.record,
                                       str(run.samples_path))
    if extension is None:
        return judge([], run.slo, run.settings, run.record, str(run.samples_path))
    return extension


def observed_samples(run: ControlRun) -> list[Sample]:
    """Read the samples file (once) and note what in it is not evidence."""
    found = read_sample_file(run.samples_path)
    run.record.sample_problems.extend(found.problems())
    if run.monitor is not None and run.monitor.malformed and not found.malformed:
        run.record.sample_problems.append(f"the monitor read a line that is not a sample: "
                                          f"{run.monitor.malformed[0]}")
    return found.samples


def cleanup_control() -> None:
    """Never leave a sampler behind, whatever happened."""
    global _run
    interrupts.release()
    if _run is not None:
        stop_sampling(_run)
    _run = None
