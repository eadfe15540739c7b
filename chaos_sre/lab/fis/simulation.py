"""FIS experiments in the lab, run as FIS runs them ("Experiments for AWS FIS": experiment and
action states).

* StartExperiment: ``initiating``; the targets are resolved (:mod:`chaos_sre.lab.fis.targets`,
  through the lab's API with the experiment's role, in a thread of its own: the experiment is
  ``initiating`` until the calls have answered).
  A target that resolves to nothing fails the experiment under ``emptyTargetResolutionMode``
  ``fail`` ("Target resolution returned empty set"); ``actionsMode`` ``skip-all`` resolves the
  targets and skips every action (a preview).
* ``running``: each action starts once the actions it ``startAfter`` have completed, and runs as
  :mod:`chaos_sre.lab.fis.actions` says (``pending`` -> ``running`` -> ``completed``); one that
  fails fails the experiment, and the others are stopped.
* StopExperiment: ``stopping``; running actions are ended (what they hold is given back) and
  ``stopped``, pending ones ``cancelled``; then the experiment is ``stopped``.
* When every action has completed: ``completed``.
* Order: the lab ends the actions it runs on its models (a capacity error, a zonal autoshift)
  after the actions that call APIs have given back what they changed, when both end together
  (their durations, or a stop). FIS ends them in parallel; on AWS the end of a zonal shift
  reaches clients through DNS, later than FIS's own restore calls (a lab assumption), so a
  network cut is lifted before traffic returns to its AZ.
* The safety lever engaged (UpdateSafetyLeverState): every running experiment stops, and
  StartExperiment is refused until it is disengaged (:mod:`chaos_sre.lab.fis.api`).

Every state change is a timeline event (``fis-experiment-*``, ``fis-action-*``). Durations are
AWS seconds at the lab's time scale; the random selections are seeded by the experiment's id.
"""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.utils import unix_time
from werkzeug.exceptions import HTTPException

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.fis.actions import CALL_ERRORS, ActionFailed, Clock, Running, start
from chaos_sre.lab.fis.caller import FisCaller
from chaos_sre.lab.fis.roles import FIS_SERVICE, RoleRefused, check_trust, find
from chaos_sre.lab.fis.targets import Clients, TargetError, resolve

TICK_ORDER = 5
"""First: what an action changes is seen by the other services' ticks of the same round."""
EMPTY_TARGET = "Target resolution returned empty set"
ORDER_SLACK_SECONDS = 1.0
REFUSED = (HTTPException, ServiceException)
"""How moto refuses a call (an action's, made on the lab's models)."""


@dataclass
class ExperimentRun:
    """The lab's run of one experiment."""

    experiment: Any
    resolved: dict[str, list[str]] = field(default_factory=dict)
    running: dict[str, Running] = field(default_factory=dict)
    winding: dict[str, Running] = field(default_factory=dict)
    """Stopped actions still undoing what they did (an automation's onCancel steps)."""
    deferred: dict[str, Running] = field(default_factory=dict)
    """Stopped actions on the lab's models, ended once the winding ones have (the module doc, "Order")."""
    final: tuple[str, str] | None = None
    """The status and reason the experiment ends with once nothing is winding down."""
    caller: FisCaller | None = None
    """FIS's calls for this experiment (its role, counted)."""
    resolution: "Resolution | None" = None


@dataclass
class Resolution:
    """The targets being resolved, in a thread of its own: the ARNs per target, or why not."""

    done: threading.Event = field(default_factory=threading.Event)
    resolved: dict[str, list[str]] = field(default_factory=dict)
    failure: str = ""

    def run(self, targets: dict[str, Any], seed: str, accounts: list[Clients]) -> None:
        rng = random.Random(seed)
        try:
            for name, target in sorted(targets.items()):
                self.resolved[name] = resolve(target, rng, accounts)
        except TargetError as exc:
            self.failure = str(exc)
        except CALL_ERRORS as exc:
            self.failure = f"Target resolution failed: {exc}"
        finally:
            self.done.set()


@dataclass
class FisExperiments:
    """Every FIS experiment of the lab's account, run over time."""

    context: SimulationContext
    _runs: dict[str, ExperimentRun] = field(default_factory=dict)
    lever: dict[str, str] = field(default_factory=lambda: {"status": "disengaged", "reason": ""})
    """The account's safety lever (:mod:`chaos_sre.lab.fis.api`)."""

    def set_lever(self, status: str, reason: str) -> None:
        """Engage (every running experiment stops) or disengage the safety lever."""
        self.lever = {"status": status, "reason": reason}
        self.context.timeline.event(f"fis-safety-lever-{status}", "default", reason=reason)
        if status == "engaged":
            for run in self._runs.values():
                if str(run.experiment._status) in ("initiating", "running"):
                    self._stop(run, "stopped", f"Experiment stopped by the safety lever: {reason}")

    # -- hooks from the patches -----------------------------------------------------
    def started(self, experiment: Any) -> None:
        """A new experiment: ``initiating`` until the next tick resolves its targets."""
        experiment.lab_run = True
        self._set(experiment, "initiating", "Experiment is initiating")
        self._runs[experiment.id] = ExperimentRun(
            experiment, caller=FisCaller(self.context.api_url, f"FIS-{experiment.id}",
                                         self.context.attach_policy))

    def resolved(self, experiment: Any) -> list[tuple[str, str, str]]:
        run = self._runs.get(experiment.id)
        if run is None:
            return []
        return [(str(experiment.targets[name].get("resourceType", "")), name, arn)
                for name, arns in sorted(run.resolved.items()) for arn in arns]

    # -- time -------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        for run in list(self._runs.values()):
            status = str(run.experiment._status)
            if status in ("initiating", "running") and self._stop_condition_met(run):
                continue
            if status == "initiating":
                self._initiate(run)
            elif status == "running":
                self._advance(run, now)
            elif status == "stopping":
                if run.final is None:
                    self._stop(run, "stopped", "Experiment stopped")
                else:
                    self._wind_down(run)

    def _stop_condition_met(self, run: ExperimentRun) -> bool:
        """Stop the experiment when an alarm of its stop conditions is in ALARM ("Stop
        conditions for AWS FIS"); True when it did."""
        alarms = self.context.services.find_service("cloudwatch")
        if alarms is None:
            return False
        for condition in run.experiment.stop_conditions or []:
            if condition.get("source") == "aws:cloudwatch:alarm" and alarms.state(condition.get("value")) == "ALARM":
                self._stop(run, "stopped", f"Experiment stopped by its stop condition: alarm "
                           f"{condition['value']} is in ALARM")
                return True
        return False

    def status(self) -> dict[str, Any]:
        return {"fis_experiments": [
            {"id": run.experiment.id, "status": str(run.experiment._status),
             "actions": {name: action["state"]["status"]
                         for name, action in sorted(run.experiment.actions.items())},
             "api_calls": run.caller.calls() if run.caller else {}}
            for run in self._runs.values()]}

    # -- the state machine -------------------------------------------------------------
    def _set(self, experiment: Any, status: str, reason: str) -> None:
        experiment._status, experiment.lab_reason = status, reason
        self.context.timeline.event(f"fis-experiment-{status}", experiment.id, reason=reason)

    def _set_action(self, run: ExperimentRun, name: str, status: str, reason: str,
                    started_at: float | None = None) -> None:
        action = run.experiment.actions[name]
        action["state"] = {"status": status, "reason": reason}
        if status == "running":
            action["startTime"] = unix_time() if started_at is None else started_at
        if status in ("completed", "stopped", "failed", "cancelled", "skipped"):
            action["endTime"] = unix_time()
        self.context.timeline.event(f"fis-action-{status}", f"{run.experiment.id}/{name}",
                                    action_id=action.get("actionId", ""), reason=reason)

    def _roles(self, experiment: Any) -> dict[str, str] | None:
        """The role FIS acts as in each account it resolves and acts in (None: a multi-account
        experiment without target accounts)."""
        options = experiment.experiment_options or {}
        if options.get("accountTargeting") != "multi-account":
            return {experiment.account_id: experiment.role_arn}
        configurations = experiment.target_account_configurations
        if not configurations:
            return None
        return {account: configurations[account].role_arn for account in sorted(configurations)}

    def _hold_to_roles(self, run: ExperimentRun, roles: dict[str, str]) -> None:
        """Check the trust of every role FIS assumes that the lab's IAM holds - the
        experiment's by the FIS service, a target account's by the experiment's role - and hold
        FIS's sessions to their policies (:mod:`chaos_sre.lab.fis.roles`)."""
        experiment, caller = run.experiment, run.caller
        assert caller is not None
        own = find(experiment.role_arn)
        if own is not None:
            check_trust(own, FIS_SERVICE)
        for role_arn in roles.values():
            role = own if role_arn == experiment.role_arn else find(role_arn)
            if role is None:
                continue
            if role is not own:
                check_trust(role, experiment.role_arn)
            caller.policies[role_arn] = role.policy

    def _clients(self, run: ExperimentRun) -> Callable[[str, str], Any]:
        roles, caller = self._roles(run.experiment) or {}, run.caller
        assert caller is not None

        def client(service: str, account: str) -> Any:
            if account not in roles:
                raise ActionFailed(f"account {account} is not a target account of the experiment")
            return caller.client(service, roles[account])
        return client

    def _initiate(self, run: ExperimentRun) -> None:
        experiment = run.experiment
        options = experiment.experiment_options or {}
        if run.resolution is None:
            roles = self._roles(experiment)
            if roles is None:
                self._fail(run, "A multi-account experiment needs at least one target account configuration")
                return
            try:
                self._hold_to_roles(run, roles)
            except RoleRefused as exc:
                self._fail(run, str(exc))
                return
            clients = self._clients(run)
            run.resolution = Resolution()
            threading.Thread(target=run.resolution.run, name="lab-fis-targets", daemon=True, args=(
                dict(experiment.targets or {}), experiment.id,
                [lambda service, account=account: clients(service, account) for account in roles])).start()
            return
        if not run.resolution.done.is_set():
            return
        if run.resolution.failure:
            self._fail(run, run.resolution.failure)
            return
        run.resolved = run.resolution.resolved
        empty = [name for name, arns in run.resolved.items() if not arns]
        if empty and options.get("emptyTargetResolutionMode", "fail") == "fail":
            self._fail(run, f"{EMPTY_TARGET}: {', '.join(empty)}")
            return
        if options.get("actionsMode") == "skip-all":
            for name in experiment.actions:
                self._set_action(run, name, "skipped", "Action was skipped (actionsMode skip-all)")
            self._set(experiment, "completed", "Experiment completed")
            return
        self._set(experiment, "running", "Experiment is running")

    def _advance(self, run: ExperimentRun, now: float) -> None:
        actions = run.experiment.actions
        for name, action in sorted(actions.items()):
            state = action["state"]["status"]
            if state == "running" and name in run.running and run.running[name].ended is not None:
                if self._ended_by_itself(run, name, now):
                    return
            elif state == "running" and name in run.running:
                ends_at = run.running[name].ends_at
                if ends_at is not None and now >= ends_at and not self._restoring(run, now):
                    try:
                        run.running.pop(name).finish()
                    except REFUSED as exc:
                        self._set_action(run, name, "failed", f"Ending the action failed: {exc}")
                        self._fail(run, f"Action {name} failed: {exc}")
                        return
                    self._set_action(run, name, "completed", "Action completed")
            elif state == "pending" and all(actions[a]["state"]["status"] == "completed"
                                            for a in action.get("startAfter") or []):
                self._start(run, name, action, now)
                if str(run.experiment._status) != "running":
                    return
        if all(a["state"]["status"] in ("completed", "skipped") for a in actions.values()):
            self._set(run.experiment, "completed", "Experiment completed")

    @staticmethod
    def _restoring(run: ExperimentRun, now: float) -> bool:
        """Whether an action calling APIs is giving back, or is due to give back, what it
        changed (the actions on the lab's models wait for it: the module doc, "Order")."""
        return any(r.holds_until is not None and r.holds_until <= now + ORDER_SLACK_SECONDS
                   and r.ended is not None and not r.ended() for r in run.running.values())

    def _ended_by_itself(self, run: ExperimentRun, name: str, now: float) -> bool:
        """Complete or fail an action that ends by itself once it has; past its longest time,
        cancel it and fail. True when the experiment failed."""
        running = run.running[name]
        assert running.ended is not None
        if running.ended():
            run.running.pop(name)
            failure = running.failure()
            if not failure:
                self._set_action(run, name, "completed", "Action completed")
                return False
            self._set_action(run, name, "failed", failure)
            self._fail(run, f"Action {name} failed: {failure}")
            return True
        if running.ends_at is not None and now >= running.ends_at:
            self._fail(run, f"Action {name} failed: it ran past its maxDuration")
            return True
        return False

    def _start(self, run: ExperimentRun, name: str, action: dict[str, Any], now: float) -> None:
        target = next(iter((action.get("targets") or {}).values()), None)
        resources = run.resolved.get(target, []) if target else []
        began = unix_time()  # FIS's startTime: when the action began, before its first call
        try:
            running = start(str(action["actionId"]), resources, action.get("parameters") or {},
                            Clock(now, self.context.scaled, self.context.api_url, self._clients(run)))
        except (ActionFailed, *REFUSED, KeyError, ValueError) as exc:
            self._set_action(run, name, "failed", str(exc))
            self._fail(run, f"Action {name} failed: {exc}")
            return
        self._set_action(run, name, "running", "Action is running", started_at=began)
        if running.ends_at is None and running.ended is None:
            self._set_action(run, name, "completed", "Action completed")
        else:
            run.running[name] = running

    def _fail(self, run: ExperimentRun, reason: str) -> None:
        self._stop(run, "failed", reason)

    def _stop(self, run: ExperimentRun, status: str, reason: str) -> None:
        """End every running action (what it holds is given back; an automation winds down
        through its onCancel steps first, and the actions on the lab's models wait for the
        winding ones: the module doc, "Order"), cancel the pending ones; the experiment ends with
        ``status`` once nothing is winding down."""
        on_models = sorted(name for name, r in run.running.items() if r.ended is None)
        for name in sorted(set(run.running) - set(on_models)):
            running = run.running.pop(name)
            running.finish()
            if running.ended is not None and not running.ended():
                run.winding[name] = running
                self._set_action(run, name, "stopping", "Action is stopping")
            else:
                self._set_action(run, name, "stopped", "Action was stopped")
        for name in on_models:
            running = run.running.pop(name)
            if run.winding:
                run.deferred[name] = running
                self._set_action(run, name, "stopping", "Action is stopping")
            else:
                self._end_stopped(run, name, running)
        for name, action in sorted(run.experiment.actions.items()):
            if action["state"]["status"] == "pending":
                self._set_action(run, name, "cancelled", "Action was cancelled")
        run.final = (status, reason)
        if run.winding or run.deferred:
            self._set(run.experiment, "stopping", "Experiment is stopping")
        else:
            self._set(run.experiment, status, reason)

    def _end_stopped(self, run: ExperimentRun, name: str, running: Running) -> None:
        try:
            running.finish()
        except REFUSED as exc:
            self._set_action(run, name, "failed", f"Ending the action failed: {exc}")
            return
        self._set_action(run, name, "stopped", "Action was stopped")

    def _wind_down(self, run: ExperimentRun) -> None:
        for name in sorted(run.winding):
            running = run.winding[name]
            if running.ended is None or running.ended():
                del run.winding[name]
                self._set_action(run, name, "stopped", "Action was stopped")
        if not run.winding:
            for name in sorted(run.deferred):
                self._end_stopped(run, name, run.deferred.pop(name))
        if not run.winding and run.final is not None:
            self._set(run.experiment, *run.final)


def create(context: SimulationContext) -> FisExperiments:
    """FIS's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return FisExperiments(context)

