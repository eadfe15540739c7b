"""The chaos-sre Chaos Toolkit control: judge an experiment by its SLO.

Declare it in an experiment's ``controls``; a plain ``chaos run`` then gets
the whole SLO engine::

    "controls": [{
      "name": "chaos-sre",
      "provider": {
        "type": "python", "module": "chaos_sre.control",
        "arguments": {"slo": "probes/web.yaml", "target_url": "${target_url}",
                      "budget_allowance": 0.005, "rto_seconds": 30, "rate": 50}
      }
    }]

What it does, in order:

1. before the steady-state check, start the open-loop sampler
   (:mod:`chaos_sre.slo.sampler`) against ``target_url``;
2. before the method, refuse to inject unless the steady state held over a
   baseline of ``baseline_seconds`` (and, when the SLO names a load balancer
   with CloudWatch metrics, unless the window's remaining budget covers the
   allowance);
3. mark the fault's start at the method's first action and watch the samples:
   when the budget spent exceeds ``budget_allowance`` or the burn rate over
   ``burn_window_seconds`` exceeds ``burn_rate_stop``, interrupt the run so
   the rollbacks play (experiments use rollback strategy ``always``);
4. after the rollbacks, keep sampling until the service has recovered and held
   (at most until fault start + 2 x RTO + recovery window + hold), stop the
   sampler, write the verdict to the journal's ``extensions`` (``name:
   chaos_sre``) and mark the run failed when the verdict fails, so ``chaos
   run`` exits non-zero - also when the steady state failed before the method
   or a method action (or chaos-sre probe) failed;
5. append the run's key figures to the local run history
   (:mod:`chaos_sre.history`, ``chaos-sre history``).

Raw samples are written beside the journal as ``<journal>.samples.jsonl``.
"""

import logging
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from chaoslib import substitute
from chaoslib.exceptions import InterruptExecution
from chaoslib.exit import exit_gracefully
from chaoslib.types import Dry

from chaos_sre import history, interrupts
from chaos_sre.control_settings import control_settings
from chaos_sre.errors import AWSError, ChaosSreError, ValidationError
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.faults.registry import is_fault_module
from chaos_sre.permissions import declared, requires
from chaos_sre.probes.cloudwatch import error_budget_remaining
from chaos_sre.safety.ledger import current_ledger, run_ledger
from chaos_sre.safety.secrets import redact_secrets
from chaos_sre.safety.validate import activities, check_activity
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.monitor import Monitor
from chaos_sre.slo.samples import read_samples
from chaos_sre.slo.verdict import RunRecord, RunSettings, judge

logger = logging.getLogger("chaostoolkit")
_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+(?:Error|Failed|Exception|Violation): )+")
SAMPLER_STOP_GRACE_SECONDS = 5.0


@dataclass
class _Run:
    slo: SLODefinition
    settings: RunSettings
    target_url: str
    samples_path: Path
    record: RunRecord = field(default_factory=RunRecord)
    sampler: subprocess.Popen[bytes] | None = None
    monitor: Monitor | None = None
    budget_gate: bool = True
    configuration: dict[str, Any] | None = None
    secrets: dict[str, Any] | None = None
    in_method: bool = False
    method_done: bool = False


_run: _Run | None = None
_config_error: str | None = None


def _chaos_run_parameter(name: str) -> Any:
    """A parameter of the running ``chaos run`` command (from its click context), None when the
    experiment runs some other way (chaoslib's API)."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.params.get(name)


def _journal_path() -> Path:
    """The journal path of the running `chaos run` (its --journal-path, or ./journal.json)."""
    return Path(_chaos_run_parameter("journal_path") or "journal.json")


def _experiment_file() -> Path | None:
    """The experiment file `chaos run` was given (None for a URL or outside `chaos run`)."""
    source = _chaos_run_parameter("source")
    return Path(source) if isinstance(source, str) and Path(source).is_file() else None


def samples_path_for(journal: Path) -> Path:
    """Where the raw samples of a journal live: beside it, ``<stem>.samples.jsonl``."""
    return journal.with_name(f"{journal.stem}.samples.jsonl")


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
        checked = control_settings(
            {"slo": slo, "target_url": target_url, "budget_allowance": budget_allowance,
             "rto_seconds": rto_seconds, **options}, configuration,
            experiment_file=_experiment_file())
        if experiment is not None:
            for where, activity in activities(experiment):
                check_activity(activity, configuration or {}, where)
    except ChaosSreError as exc:
        _config_error = str(exc)
        logger.error(f"chaos-sre: {exc}")
        return
    path = Path(checked.samples_path) if checked.samples_path else samples_path_for(_journal_path())
    _run = _Run(checked.slo, checked.run, checked.target_url, path, budget_gate=checked.budget_gate,
                configuration=configuration, secrets=secrets)


def _require_run() -> _Run:
    if _run is None:
        raise InterruptExecution(f"chaos-sre: {_config_error or 'the control is not configured'}")
    return _run


def before_experiment_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Start the open-loop sampler before anything else happens."""
    run = _require_run()
    interrupts.watch()
    run.samples_path.parent.mkdir(parents=True, exist_ok=True)
    run.samples_path.write_text("")
    paths = ",".join(f"{p}:{w}" for p, w in run.slo.paths)
    run.sampler = subprocess.Popen(
        [sys.executable, "-m", "chaos_sre.slo.sampler", "--url", run.target_url,
         "--rate", repr(run.settings.rate), "--timeout", repr(run.slo.timeout_seconds),
         "--paths", paths, "--out", str(run.samples_path)],
        stdin=subprocess.DEVNULL,
    )
    run.record.sampler_started_at = time.time()
    run.monitor = Monitor(
        samples_path=run.samples_path, slo=run.slo, rate=run.settings.rate,
        budget_allowance=run.settings.budget_allowance,
        burn_rate_stop=run.settings.burn_rate_stop,
        burn_window_seconds=run.settings.burn_window_seconds,
        on_stop=_stop_run,
    )
    run.monitor.start()
    logger.info(f"chaos-sre: sampling {run.target_url} at {run.settings.rate:g} req/s "
                f"against SLO {run.slo.name} ({run.slo.target * 100:g} % over "
                f"{run.slo.window_seconds / 86400:g} d); samples: {run.samples_path}")


def _stop_run(reason: str) -> None:
    run = _require_run()
    run.record.stopped = {"at": time.time(), "reason": reason}
    logger.error(f"chaos-sre: stopping the experiment: {reason}")
    exit_gracefully()


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


def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    """The pre-flight gate: no fault unless the steady state held over the baseline."""
    run = _require_run()
    waited_from = run.record.sampler_started_at or time.time()
    remaining = run.settings.baseline_seconds + run.slo.timeout_seconds - (time.time() - waited_from)
    if remaining > 0:
        time.sleep(remaining)
    samples = read_samples(run.samples_path)
    good = sum(1 for s in samples if s.good(run.slo.latency_threshold_seconds))
    if not samples:
        run.record.refused = "no SLI samples before the fault: is the target URL reachable?"
    elif good / len(samples) < run.slo.target:
        run.record.refused = (f"the steady state did not hold over the baseline: SLI "
                              f"{good / len(samples) * 100:.3f} % < {run.slo.target * 100:g} % "
                              f"({len(samples)} samples); no fault injected")
    if not run.record.refused and run.budget_gate and run.slo.load_balancer:
        run.record.refused = _budget_gate(run)
    if run.record.refused:
        logger.error(f"chaos-sre: {run.record.refused}")
        raise InterruptExecution(f"chaos-sre: {run.record.refused}")
    run.in_method = True


def _budget_gate(run: _Run) -> str | None:
    """Refusal reason when the window's remaining budget cannot cover the allowance."""
    balancer = str(run.slo.load_balancer)
    try:
        remaining = error_budget_remaining(balancer, run.slo.target, run.slo.window_seconds,
                                           run.configuration, run.secrets)
    except AWSError as exc:
        return (f"cannot read the CloudWatch metrics of load balancer {balancer} ({exc}); "
                "set budget_gate to false to run without the budget check; no fault injected")
    if remaining is None:
        logger.warning(f"chaos-sre: no CloudWatch request metrics for load balancer {balancer}; "
                       "skipping the error-budget gate")
        return None
    days = run.slo.window_seconds / 86400
    logger.info(f"chaos-sre: {max(remaining, 0) * 100:.3g} % of the error budget remains over "
                f"the last {days:g} d (CloudWatch, load balancer {balancer})")
    if remaining < run.settings.budget_allowance:
        return (f"only {max(remaining, 0) * 100:.3g} % of the error budget remains over the last "
                f"{days:g} d, less than this experiment's allowance of "
                f"{run.settings.budget_allowance * 100:.3g} %; no fault injected")
    return None


SETTLE_POLL_SECONDS = 0.1
SETTLE_RTO_FACTOR = 2.0


def _dry_run_plan(context: dict[str, Any], configuration: dict[str, Any] | None,
                  secrets: dict[str, Any] | None) -> None:
    """Under `chaos run --dry=actions`, resolve and print a chaos-sre fault's targets."""
    provider = context.get("provider") or {}
    fault = find_fault(str(provider.get("module", "")), str(provider.get("func", "")))
    if fault is None or "dry_run" not in fault.model.model_fields:
        return
    arguments = substitute(dict(provider.get("arguments") or {}), configuration, secrets)
    arguments.update(dry_run=True, configuration=configuration, secrets=secrets)
    fault.function(**arguments)


def before_activity_control(context: dict[str, Any], experiment: dict[str, Any] | None = None,
                            configuration: dict[str, Any] | None = None,
                            secrets: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Mark the fault's start at the method's first action (and plan it in a dry run)."""
    run = _run
    if run is None or not run.in_method:
        return
    dry = (experiment or {}).get("dry")
    if context.get("type") == "action" and dry in (Dry.ACTIONS, Dry.ACTIVITIES):
        run.record.dry_run = True
        _dry_run_plan(context, configuration, secrets)
        return
    if run.record.fault_started_at is not None:
        return
    if context.get("type") == "action":
        run.record.fault_started_at = time.time()
        if run.monitor is not None:
            run.monitor.fault_started(run.record.fault_started_at)


def after_activity_control(context: dict[str, Any], state: dict[str, Any] | None = None,
                           **kwargs: Any) -> None:
    """Record failed method actions and chaos-sre probes, and what rollbacks report."""
    run = _run
    if run is None or state is None:
        return
    if run.record.rollbacks_started_at is not None:
        _after_rollback(run, context, state)
        return
    if not run.in_method:
        return
    module = str((context.get("provider") or {}).get("module", ""))
    counted = context.get("type") == "action" or module.startswith("chaos_sre.")
    if counted and state.get("status") == "failed":
        trace = state.get("exception") or ["failed"]
        message = _EXCEPTION_PREFIX.sub("", str(trace[-1]).strip())
        run.record.failed_actions.append(f"{context.get('name')}: {message}")
        if _injected_nothing(context):
            run.record.fault_started_at = None
            if run.monitor is not None:
                run.monitor.fault_at = None
                run.monitor.watching = False


def _after_rollback(run: _Run, context: dict[str, Any], state: dict[str, Any]) -> None:
    """A failed rollback fails the verdict; a reported restore-to-healthy time is kept."""
    if state.get("status") == "failed":
        trace = state.get("exception") or ["failed"]
        message = _EXCEPTION_PREFIX.sub("", str(trace[-1]).strip())
        run.record.failed_rollbacks.append(f"{context.get('name')}: {message}")
        return
    output = state.get("output")
    if isinstance(output, dict) and output.get("restore_to_healthy_seconds") is not None:
        seconds = float(output["restore_to_healthy_seconds"])
        previous = run.record.restore_to_healthy_seconds
        run.record.restore_to_healthy_seconds = seconds if previous is None else max(previous, seconds)


def _injected_nothing(context: dict[str, Any]) -> bool:
    """True when a failed chaos-sre fault action changed nothing that acts on the service: no
    intent, or only ones AWS refused, or only preparations (the ledger's ``injected``)."""
    module = str((context.get("provider") or {}).get("module", ""))
    if not is_fault_module(module):
        return False
    return not current_ledger().injected()


def after_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    """The method is over; what follows is the after-method steady-state check."""
    run = _run
    if run is None:
        return
    run.in_method = False
    run.method_done = True
    run.record.method_ended_at = time.time()


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


def _stop_sampler(run: _Run) -> None:
    if run.sampler is None or run.sampler.poll() is not None:
        return
    run.sampler.send_signal(signal.SIGTERM)
    try:
        run.sampler.wait(timeout=run.slo.timeout_seconds + SAMPLER_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        run.sampler.kill()
        run.sampler.wait()


def _settle(run: _Run) -> None:
    """Keep sampling after the rollbacks until the service recovered and held, within the RTO.

    The wait ends when the last ``recovery_window_seconds + hold_seconds`` of
    samples were all good, or at fault start + 2 x RTO + window + hold,
    whichever comes first: a run observes every recovery within its RTO, and
    a late one up to twice the RTO, so the verdict can say how late it was.
    """
    fault_at = run.record.fault_started_at
    if run.monitor is None or fault_at is None or run.record.dry_run or run.record.stopped:
        return
    settings = run.settings
    clean = settings.recovery_window_seconds + settings.hold_seconds
    deadline = fault_at + SETTLE_RTO_FACTOR * settings.rto_seconds + clean
    if time.time() >= deadline or run.monitor.clean_for(clean):
        return
    logger.info(f"chaos-sre: waiting up to {deadline - time.time():.1f} s for the service to "
                f"recover and hold {settings.hold_seconds:g} s")
    while time.time() < deadline and not run.monitor.clean_for(clean):
        if run.sampler is not None and run.sampler.poll() is not None:
            return
        time.sleep(SETTLE_POLL_SECONDS)


def after_experiment_control(context: dict[str, Any], state: dict[str, Any] | None = None,
                             **kwargs: Any) -> None:
    """Let the service settle, stop sampling, judge the run, fail the run if the verdict fails.

    Whatever happened, inline secret values are blanked in the journal's copy of the experiment.
    """
    if state is not None:
        redact_secrets(state.get("experiment"))
    run = _run
    if run is None or state is None:
        return
    run.record.interrupted = state.get("status") == "interrupted" and not run.record.stopped
    if not run.record.interrupted:
        _settle(run)
    _stop_sampler(run)
    if run.monitor is not None:
        run.monitor.stop()
    run.record.ended_at = time.time()
    extension = judge(read_samples(run.samples_path), run.slo, run.settings, run.record,
                      str(run.samples_path))
    _note_targets(extension)
    state.setdefault("extensions", []).append(extension)
    verdict = extension["verdict"]
    for reason in verdict["reasons"]:
        (logger.info if verdict["passed"] else logger.error)(f"chaos-sre: {reason}")
    recovery = extension["recovery"]
    logger.info(
        "chaos-sre: verdict %s - budget spent %.3g %% of %.3g %% allowed, detect %s, recover %s",
        "PASSED" if verdict["passed"] else "FAILED",
        extension["budget"]["consumed_fraction"] * 100,
        extension["budget"]["allowed_fraction"] * 100,
        "-" if recovery["detect_seconds"] is None else f"{recovery['detect_seconds']:.2f} s",
        "-" if recovery["recover_seconds"] is None else f"{recovery['recover_seconds']:.2f} s",
    )
    if not verdict["passed"] and state.get("status") == "completed":
        state["status"] = "failed"
    if not run.record.dry_run:
        _record_history(state, extension)


def _record_history(state: dict[str, Any], extension: dict[str, Any]) -> None:
    """Append the run's key figures to the local history (a problem there never fails the run)."""
    title = str((state.get("experiment") or {}).get("title") or "(untitled)")
    try:
        path = history.append(history.run_of(title, extension, str(_journal_path().resolve())))
    except ValidationError as exc:
        logger.error(f"chaos-sre: the run was not added to the history: {exc}")
        return
    logger.info(f"chaos-sre: added to the run history {path} (chaos-sre history)")


def _note_targets(extension: dict[str, Any]) -> None:
    """Add the run's ledger and the resources its faults changed to the journal extension."""
    ledger = run_ledger()
    if ledger is None:
        return
    extension["ledger_path"] = str(ledger.path)
    try:
        extension["targets"] = ledger.targets()
    except ValidationError as exc:
        logger.error(f"chaos-sre: {exc}")


def cleanup_control() -> None:
    """Never leave a sampler behind, whatever happened."""
    global _run
    interrupts.release()
    if _run is not None:
        _stop_sampler(_run)
        if _run.monitor is not None:
            _run.monitor.stop()
    _run = None
