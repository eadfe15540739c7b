"""AWS FIS as the engine: start an experiment's FIS experiment, and end it.

``chaos-sre fis run EXPERIMENT`` runs the experiment with its steady state and its chaos-sre
control, as ``chaos run`` does, but with its faults replaced by one action of this module,
:func:`start_experiment`, and its rollbacks by ``chaos_sre.safety.rollback.restore_run``
(:mod:`chaos_sre.fis.run` writes that experiment). So the sampler runs from the start, the
budget stop and the verdict are the control's, and the journal and reports are those of
``chaos run`` plus the FIS experiment's id and its actions' states.

* :func:`start_experiment` exports the experiment (:mod:`chaos_sre.fis.export`), enforces its
  faults' guardrails on their plans (:mod:`chaos_sre.fis.guardrails`), checks the account and
  creates or updates what the template needs (:mod:`chaos_sre.fis.provision`), records in the
  run ledger that it stops the experiment, starts it and returns once FIS reports its actions
  started (``running`` or already ``completed``). Its ``injected_at`` - the first action's
  ``startTime`` - starts the fault's clock, as a chaos-sre fault's first change does.
* The ledger's inverse, ``stop_fis_experiment``, ends it: StopExperiment while it still runs,
  then a bounded wait for a state FIS calls final; it names every action's state and reason.
  A budget stop goes through it; so does ``chaos-sre rollback --last`` after the runner died -
  and FIS ends each action at its own duration if no one does.
* The effect check asks FIS: the fault took effect when every action ran (``running`` or
  ``completed``), and for instance actions when the resolved instances no longer run.
"""

import functools
import time
from datetime import datetime
from typing import Any

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.errors import AWSError
from chaos_sre.faults.effects import effect_check
from chaos_sre.fis.accounts import orchestrator_configuration
from chaos_sre.fis.export import export
from chaos_sre.fis.guardrails import guard_faults, planned_line
from chaos_sre.fis.provision import provision
from chaos_sre.permissions import Permission, requires
from chaos_sre.safety.ledger import Inverse, Restored, Settings, current_ledger, inverse
from chaos_sre.services.ec2 import still_running
from chaos_sre.waiting import poll

__all__ = ["start_experiment"]

START_OP, STOP_OP = "start_fis_experiment", "stop_fis_experiment"
RUN_TAG = "chaos-sre:run"
"""The tag of a started experiment naming the run (its ledger) that started it."""
FINAL = ("completed", "stopped", "failed", "cancelled")
"""Experiment states FIS moves on from no more ("Experiment states")."""
ACTION_STARTED = ("running", "completed")
STARTED_WITHIN_SECONDS = 300.0
"""How long (AWS seconds) FIS may take to resolve targets and start the actions."""
STOPPED_WITHIN_SECONDS = 900.0
"""How long (AWS seconds) a stop may take: an automation's onCancel steps restore first."""
POLL_SECONDS = 1.0
AFTER_METHOD_SECONDS = 120.0
"""How much longer (AWS seconds) than the method's pauses each fault holds, FIS side: the
steady-state hypothesis after the method runs while the fault still holds, as under ``chaos
run``; the rollback then stops the experiment, so this only lengthens the fault of a runner
that died."""
INSTANCE_ACTIONS = {"aws:ec2:terminate-instances": ACTION_STARTED, "aws:ec2:stop-instances": ("running",)}
"""Instance actions, and the action states in which their instances must not run (stopped
instances start again once the action completes: ``startInstancesAfterDuration``)."""


TEMPLATES, EXPERIMENTS = "arn:aws:fis:*:*:experiment-template/*", "arn:aws:fis:*:*:experiment/*"
FIS_ROLES = "arn:aws:iam::*:role/chaos-sre-fis-*"
"""The experiment roles `fis export` names by default (``--role-arn`` names another: grant
``iam:PassRole`` of that one instead)."""
CHAOS_SRE_NAMED = {"ssm": "arn:aws:ssm:*:*:document/chaos-sre-*",
                   "alarm": "arn:aws:cloudwatch:*:*:alarm:chaos-sre-*",
                   "dashboard": "arn:aws:cloudwatch::*:dashboard/chaos-sre-*"}
"""What `fis run` creates besides the template: its documents, alarms and dashboard, all named
``chaos-sre-EXPERIMENT...``."""
RUNNER_PERMISSIONS: tuple[str | Permission, ...] = (
    "fis:GetSafetyLever", "fis:ListActions", "fis:ListExperimentTemplates", "fis:GetExperiment",
    "fis:ListExperiments", "fis:ListExperimentResolvedTargets", "fis:GetExperimentTemplate",
    "fis:GetTargetAccountConfiguration", "elasticloadbalancing:DescribeLoadBalancers",
    "ec2:DescribeInstances", "sts:GetCallerIdentity",
    Permission("fis:CreateExperimentTemplate", "arn:aws:fis:*:*:action/*"),
    *(Permission(action, TEMPLATES) for action in (
        "fis:CreateExperimentTemplate", "fis:UpdateExperimentTemplate", "fis:DeleteExperimentTemplate",
        "fis:TagResource", "fis:StartExperiment", "fis:CreateTargetAccountConfiguration",
        "fis:UpdateTargetAccountConfiguration")),
    Permission("fis:StartExperiment", EXPERIMENTS), Permission("fis:StopExperiment", EXPERIMENTS),
    Permission("iam:PassRole", FIS_ROLES, (("StringEquals", "iam:PassedToService", "fis.amazonaws.com"),)),
    Permission("sts:AssumeRole", "arn:aws:iam::*:role/*", when="orchestrator_role_arn"),
    *(Permission(action, CHAOS_SRE_NAMED["ssm"]) for action in (
        "ssm:CreateDocument", "ssm:UpdateDocument", "ssm:UpdateDocumentDefaultVersion")),
    Permission("cloudwatch:PutMetricAlarm", CHAOS_SRE_NAMED["alarm"]),
    Permission("cloudwatch:PutCompositeAlarm", CHAOS_SRE_NAMED["alarm"]),
    Permission("cloudwatch:PutDashboard", CHAOS_SRE_NAMED["dashboard"]),
)
"""What the runner of `chaos-sre fis run` calls for FIS (``chaos-sre iam policy --engine fis``):
reads on ``*``; the templates and experiments it makes and stops; ``iam:PassRole`` of the
experiment role to FIS only; its own SSM documents, alarms and dashboard; ``sts:AssumeRole`` of
the orchestrator role only with ``--orchestrator-role-arn``. The faults' changes are FIS's, made
with the experiment role (:mod:`chaos_sre.fis.role`): the runner holds none of them."""


@requires(*RUNNER_PERMISSIONS)
def start_experiment(experiment: str, account_id: str | None = None, role_arn: str | None = None,
                     automation_role_arn: str | None = None, report_bucket: str | None = None,
                     orchestrator_role_arn: str | None = None, target_role_arn: str | None = None,
                     configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run experiment file `experiment`'s faults as one AWS FIS experiment and return once its
    actions have started.

    Plans each chaos-sre fault as `chaos run` would and enforces the same guardrails (a
    refusal changes nothing), checks the account's FIS safety lever and that FIS lists every
    action, creates or updates the template (tagged `chaos-sre:experiment`), its SSM
    Automation documents, its SLI dashboard and its stop-condition alarms (with
    `report_bucket`, FIS writes an experiment report there), starts the experiment and waits
    (at most 300 AWS s) until its actions run. Each fault holds 120 AWS s past the method's
    pauses, so the steady-state hypothesis after the method still meets it, and the run ledger
    gets the pre-states the faults record for their probes (the writer before a failover).
    Returns the experiment's id, every action's state and `injected_at`, the first action's
    start (the fault's clock starts there). Its rollback is
    `chaos_sre.safety.rollback.restore_run`, which stops the experiment if it still runs.

    With `orchestrator_role_arn` (a role in another account, assumed from the runner's
    credentials) the experiment is multi-account: its template, alarms and dashboard are made
    in that account, and FIS acts in this one - the account the experiment's configuration
    reaches, where the guardrails are enforced - as `target_role_arn` (default
    chaos-sre-fis-target-NAME).
    """
    exported = export(experiment, account_id=account_id, role_arn=role_arn,
                      automation_role_arn=automation_role_arn, configuration=configuration,
                      report_bucket=report_bucket, after_method_seconds=AFTER_METHOD_SECONDS,
                      orchestrator_role_arn=orchestrator_role_arn, target_role_arn=target_role_arn)
    guarded = guard_faults(exported, configuration, secrets)
    provisioned = provision(exported, configuration, secrets, orchestrator_role_arn)
    fis = aws_client("fis", orchestrator_configuration(configuration, orchestrator_role_arn), secrets)
    ledger = current_ledger(configuration or {})
    run = ledger.path.stem
    resource = f"fis:experiment-template/{provisioned.template_id}"
    stop = {"op": STOP_OP, "template_id": provisioned.template_id, "run": run,
            **({"orchestrator_role_arn": orchestrator_role_arn} if orchestrator_role_arn else {})}
    with ledger.mutation(resource, START_OP, None, stop) as mutation:
        started = call(fis, "start_experiment", experimentTemplateId=provisioned.template_id,
                       clientToken=f"{run}-{provisioned.template_id}", tags={RUN_TAG: run})
        mutation.applied()
        experiment_id = str(started["experiment"]["id"])
        mutation.outcome = experiment_id
    for _, plan in guarded:  # what FIS is about to change, as the faults would have recorded it
        for pre in plan.pre_states:
            ledger.record(pre.resource, f"{pre.operation} ({experiment_id})", dict(pre.state), None,
                          effect=False)
    found = poll(lambda: _started(fis, experiment_id), what=f"FIS experiment {experiment_id}'s actions "
                 "started", timeout_seconds=STARTED_WITHIN_SECONDS, interval_seconds=POLL_SECONDS,
                 describe=_state_line)
    status = found["state"]["status"]
    if status in FINAL and status != "completed":
        raise AWSError(f"FIS experiment {experiment_id} {status} before its actions ran: "
                       f"{found['state'].get('reason', '')}", operation="StartExperiment")
    starts = [_epoch(a["startTime"]) for a in found["actions"].values() if a.get("startTime")]
    return {"experiment_id": experiment_id, "template_id": provisioned.template_id,
            "planned": [planned_line(name, plan) for name, plan in guarded],
            "prepared": list(provisioned.lines), "state": found["state"],
            "actions": action_states(found), "notes": list(exported.notes),
            "injected_at": min(starts) if starts else time.time()}


def _started(fis: Any, experiment_id: str) -> tuple[bool, dict[str, Any]]:
    """(whether the experiment ended or every action of it started, GetExperiment's answer)."""
    done, found = ended(fis, experiment_id)
    actions = (found.get("actions") or {}).values()
    return done or all(a["state"]["status"] in ACTION_STARTED for a in actions), found


def action_states(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each action's ID, state, reason and start and end times (epoch seconds) from GetExperiment."""
    return {name: {"actionId": action.get("actionId"), "status": action["state"]["status"],
                   "reason": action["state"].get("reason", ""),
                   **{key: _epoch(action[key]) for key in ("startTime", "endTime") if action.get(key)}}
            for name, action in sorted((found.get("actions") or {}).items())}


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _state_line(found: dict[str, Any]) -> str:
    actions = ", ".join(f"{name} {state['status']}" for name, state in action_states(found).items())
    return f"{found['state']['status']}; actions: {actions or 'none'}"


class StopFisExperiment(Inverse):
    """The run's FIS experiments of a template, stopped if they still run."""

    template_id: str
    run: str
    orchestrator_role_arn: str | None = None
    """The role that reaches the account the experiment runs in, when it is not the run's."""


@inverse(STOP_OP, StopFisExperiment)
def _stop(op: StopFisExperiment, configuration: Settings, secrets: Settings) -> Restored:
    fis = aws_client("fis", orchestrator_configuration(configuration, op.orchestrator_role_arn), secrets)
    ours = [e for e in paginate(fis, "list_experiments", "experiments",
                                experimentTemplateId=op.template_id)
            if (e.get("tags") or {}).get(RUN_TAG) == op.run]
    if not ours:
        return Restored(f"no FIS experiment of template {op.template_id} was started by run {op.run}")
    lines = []
    for summary in ours:
        experiment_id = str(summary["id"])
        state = call(fis, "get_experiment", id=experiment_id)["experiment"]["state"]["status"]
        verb = "had ended"
        if state not in FINAL:
            try:
                call(fis, "stop_experiment", id=experiment_id)
                verb = "stopped"
            except AWSError as exc:
                if exc.code != "ValidationException":  # it ended in between
                    raise
        found = poll(functools.partial(ended, fis, experiment_id),
                     what=f"FIS experiment {experiment_id} ended", timeout_seconds=STOPPED_WITHIN_SECONDS,
                     interval_seconds=POLL_SECONDS, describe=_state_line)
        lines.append(f"FIS experiment {experiment_id} {verb}: {_state_line(found)}")
    return Restored("; ".join(lines))


def ended(fis: Any, experiment_id: str) -> tuple[bool, dict[str, Any]]:
    """(whether experiment ``experiment_id`` is in a final state, GetExperiment's answer)."""
    found = call(fis, "get_experiment", id=experiment_id)["experiment"]
    return found["state"]["status"] in FINAL, found


@effect_check(START_OP)
def _took_effect(intent: dict[str, Any], outcome: Any, configuration: dict[str, Any] | None,
                 secrets: dict[str, Any] | None) -> str | None:
    """Every action of the FIS experiment ran, and instance actions left no instance running."""
    orchestrator_role_arn = (intent.get("inverse") or {}).get("orchestrator_role_arn")
    fis = aws_client("fis", orchestrator_configuration(configuration, orchestrator_role_arn), secrets)
    experiment_id = str(outcome)
    found = call(fis, "get_experiment", id=experiment_id)["experiment"]
    idle = [f"{name} {state['status']}" for name, state in action_states(found).items()
            if state["status"] not in ACTION_STARTED]
    if idle:
        return f"FIS experiment {experiment_id}: not every action ran ({', '.join(idle)})"
    instances = _resolved_instances(fis, experiment_id, found)
    if instances:
        running = still_running(aws_client("ec2", configuration, secrets), instances)
        if running:
            return (f"FIS experiment {experiment_id}: {len(running)} of its {len(instances)} "
                    f"instances still run ({', '.join(running)})")
    return None


def _resolved_instances(fis: Any, experiment_id: str, found: dict[str, Any]) -> list[str]:
    """The instance ids of the experiment's instance actions that must not run now."""
    targets = {target for action in (found.get("actions") or {}).values()
               if action["state"]["status"] in INSTANCE_ACTIONS.get(str(action.get("actionId")), ())
               for target in (action.get("targets") or {}).values()}
    if not targets:
        return []
    return sorted(str(t["targetInformation"]["arn"]).rsplit("/", 1)[-1]
                  for t in paginate(fis, "list_experiment_resolved_targets", "resolvedTargets",
                                    experimentId=experiment_id)
                  if t.get("targetName") in targets)
