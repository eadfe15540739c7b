"""Bookkeeping per activity: a dry run's plan, failed method actions, what rollbacks report."""

import re
import time
from typing import Any

from chaoslib import substitute

from chaos_sre import interrupts
from chaos_sre.control.state import ControlRun
from chaos_sre.faults import foreign  # noqa: F401  (registers the other extensions' checks)
from chaos_sre.faults.effects import LIVE, missing_effects, missing_output_effects
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.faults.registry import is_fault_module
from chaos_sre.safety.ledger import current_ledger, run_ledger

_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+(?:Error|Failed|Exception|Violation): )+")


def plan_dry_run(run: ControlRun, context: dict[str, Any], configuration: dict[str, Any] | None,
                 secrets: dict[str, Any] | None) -> None:
    """Under `chaos run --dry=actions|activities`, resolve and print a chaos-sre fault's targets;
    the plan goes into the verdict. Another extension's action is named without a plan."""
    run.record.dry_run = True
    provider = context.get("provider") or {}
    fault = find_fault(str(provider.get("module", "")), str(provider.get("func", "")))
    name = str(context.get("name"))
    if fault is None:
        run.record.dry_run_plan.append({"activity": name, "plan": "not planned: not a chaos-sre "
                                        "fault, so chaos-sre cannot resolve its targets"})
        return
    arguments = substitute(dict(provider.get("arguments") or {}), configuration, secrets)
    arguments.update(dry_run=True, configuration=configuration, secrets=secrets)
    run.record.dry_run_plan.append({"activity": name, "plan": fault.function(**arguments)})


def fault_started(run: ControlRun, context: dict[str, Any]) -> None:
    """The method's first action starts the fault's clock and the stop condition."""
    if run.record.fault_started_at is None and context.get("type") == "action":
        run.record.fault_started_at = time.time()
        run.clock_activity = str(context.get("name"))
        interrupts.arm_stop()
        if run.monitor is not None:
            run.monitor.fault_started(run.record.fault_started_at)


def failure_message(context: dict[str, Any], state: dict[str, Any]) -> str:
    """``<activity name>: <error>``, without the exception class names chaoslib puts first."""
    trace = state.get("exception") or ["failed"]
    return f"{context.get('name')}: {_EXCEPTION_PREFIX.sub('', str(trace[-1]).strip())}"


def method_activity_ended(run: ControlRun, context: dict[str, Any], state: dict[str, Any]) -> None:
    """Record a failed method action (or chaos-sre probe), or what a successful action says."""
    if state.get("status") == "failed":
        _method_activity_failed(run, context, state)
    elif context.get("type") == "action":
        _method_action_succeeded(run, context, state.get("output"))


def _method_activity_failed(run: ControlRun, context: dict[str, Any],
                            state: dict[str, Any]) -> None:
    """A failed action (or chaos-sre probe) fails the verdict; a failed fault that changed
    nothing withdraws the fault's start."""
    module = str((context.get("provider") or {}).get("module", ""))
    if context.get("type") != "action" and not module.startswith("chaos_sre."):
        return
    run.record.failed_actions.append(failure_message(context, state))
    if injected_nothing(context):
        _withdraw_fault_start(run)


def _method_action_succeeded(run: ControlRun, context: dict[str, Any], output: Any) -> None:
    """A chaos-sre fault that ran as a dry run (its ``dry_run`` argument) makes the run a dry
    run with its plan, and withdraws the fault's start if it started it and nothing was
    injected; another extension's action is kept for its effect check."""
    provider = context.get("provider") or {}
    module, name = str(provider.get("module", "")), str(context.get("name"))
    if not is_fault_module(module):
        run.other_faults.append((module, str(provider.get("func", "")), name, output))
    elif isinstance(output, dict) and output.get("dry_run") is True:
        run.record.dry_run = True
        run.record.dry_run_plan.append({"activity": name, "plan": output})
        ledger = run_ledger()
        if run.clock_activity == name and (ledger is None or not ledger.injected()):
            _withdraw_fault_start(run)
    elif run.clock_activity == name:
        _clock_from_injection(run, output)


def _clock_from_injection(run: ControlRun, output: Any) -> None:
    """The fault's clock runs from its injection, its first change to the service, not from the
    start of the action that made it: time to detect and to recover are measured from fault
    injection (docs/slo.md), and a fault reads, plans and checks its permissions for seconds
    first (more when AWS throttles). The injection is the one the action's output names
    (``injected_at``: FIS's first action's start, :mod:`chaos_sre.fis.engine`), else the run
    ledger's first change."""
    ledger = run_ledger()
    named = output.get("injected_at") if isinstance(output, dict) else None
    injected_at = float(named) if isinstance(named, (int, float)) else (
        None if ledger is None else ledger.injected_at())
    started = run.record.fault_started_at
    if injected_at is not None and started is not None and injected_at > started:
        run.record.fault_started_at = injected_at
        if run.monitor is not None:
            run.monitor.fault_started(injected_at)


def _withdraw_fault_start(run: ControlRun) -> None:
    run.record.fault_started_at = None
    run.clock_activity = None
    if run.monitor is not None:
        run.monitor.fault_withdrawn()


def rollback_ended(run: ControlRun, context: dict[str, Any], state: dict[str, Any]) -> None:
    """A failed rollback fails the verdict; a reported restore-to-healthy time is kept."""
    if state.get("status") == "failed":
        run.record.failed_rollbacks.append(failure_message(context, state))
        return
    output = state.get("output")
    if isinstance(output, dict) and output.get("restore_to_healthy_seconds") is not None:
        seconds = float(output["restore_to_healthy_seconds"])
        previous = run.record.restore_to_healthy_seconds
        run.record.restore_to_healthy_seconds = seconds if previous is None else max(previous, seconds)


def injected_nothing(context: dict[str, Any]) -> bool:
    """True when a failed chaos-sre fault action changed nothing that acts on the service: no
    intent, or only ones AWS refused, or only preparations (the ledger's ``injected``)."""
    module = str((context.get("provider") or {}).get("module", ""))
    if not is_fault_module(module):
        return False
    return not current_ledger().injected()


def verify_effect(run: ControlRun, phase: str = LIVE) -> None:
    """Ask each fault family whether what it changed took effect
    (:mod:`chaos_sre.faults.effects`): with the method over and the fault still live, then
    (``phase`` settled) once the service settled. A run whose fault had no effect is
    INCONCLUSIVE. Not after a stop, a failed action or in a dry run: nothing to verify."""
    record = run.record
    if record.fault_started_at is None or record.stopped or record.dry_run or record.failed_actions:
        return
    missing, checked = missing_effects(run_ledger(), run.configuration, run.secrets, phase)
    if phase == LIVE:
        others, counted = missing_output_effects(run.other_faults, run.configuration, run.secrets)
        missing, checked = missing + others, checked + counted
    record.no_effect.extend(missing)
    record.effects_checked = (record.effects_checked or 0) + checked
