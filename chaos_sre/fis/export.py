"""``chaos-sre fis export EXPERIMENT``: an experiment as an AWS FIS CreateExperimentTemplate input.

The experiment is validated as ``chaos-sre validate`` does (offline), then each action of its
method is turned into FIS targets and actions by its fault's mapping (``@fault(..., fis=...)``,
or :data:`chaos_sre.fis.third_party.MAPPINGS` for another library's action); an action without
one, or an argument FIS cannot express, is refused in one line naming it. A fault lasts, in FIS
as under ``chaos run``, from its action to the rollbacks: the pauses after it
(:func:`fault_seconds`), in AWS seconds.

The template carries, beside the targets and actions: the experiment's title as description,
the role FIS acts as (``--role-arn``, default ``chaos-sre-fis-NAME`` in the account),
``experimentOptions`` (single account; ``emptyTargetResolutionMode`` ``fail``: an experiment
whose targets resolve to nothing fails instead of passing empty), a CloudWatch Logs
``logConfiguration`` and a ``clientToken`` derived from the content, so creating it twice is
idempotent. Every action is checked against :mod:`chaos_sre.fis.actions`, and the whole input
against botocore's CreateExperimentTemplate input shape. Export makes no AWS call but STS
GetCallerIdentity (only when ``--account-id`` is not given) and the read-only dry run of a fault
whose mapping needs its values (one that runs as a generated SSM Automation document,
:mod:`chaos_sre.fis.automation`).
"""

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from chaos_sre.aws import aws_client, call
from chaos_sre.control.settings import control_settings
from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.fis.accounts import Accounts, role_account
from chaos_sre.fis.actions import ACTIONS, check_action
from chaos_sre.fis.alarms import BurnAlarms, burn_alarms
from chaos_sre.fis.dashboard import Dashboard
from chaos_sre.fis.mapping import FisContext, FisMapping, FisPart, SsmDocument
from chaos_sre.fis.role import orchestrator_role_policy, role_policy, target_role_policy
from chaos_sre.fis.third_party import MAPPINGS
from chaos_sre.iam import Needs, policy
from chaos_sre.probes.cloudwatch import load_balancer_dimension
from chaos_sre.safety.validate import resolved_configuration, validate_experiment
from chaos_sre.values import resolved
from chaos_sre.verdicts import CONTROL_MODULE

DESCRIPTION_LONGEST = 512
NAME_LONGEST = 64
LOG_GROUP = "/chaos-sre/fis"
EXPERIMENT_TAG = "chaos-sre:experiment"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class Export:
    """An exported experiment: the template, and what comes with it."""

    template: dict[str, Any]
    """The CreateExperimentTemplate input."""
    documents: list[SsmDocument] = field(default_factory=list)
    """SSM Automation documents its actions start (created by ``fis run``)."""
    notes: list[str] = field(default_factory=list)
    """Where FIS differs from ``chaos run`` for this experiment."""
    automation_role: dict[str, Any] | None = None
    """The IAM policy the documents' role needs (what their faults declare), if any."""
    alarms: BurnAlarms | None = None
    """The stop condition's alarms (None: the experiment has no SLO on a load balancer)."""
    configuration: dict[str, Any] = field(default_factory=dict)
    dashboard: Dashboard | None = None
    """The SLI's CloudWatch dashboard (with the alarms), which an experiment report shows."""
    accounts: Accounts | None = None
    """The orchestrator and target accounts (:mod:`chaos_sre.fis.accounts`)."""
    target_role_arn: str | None = None
    """A multi-account experiment's role in the target account, which FIS assumes."""
    source: str = ""
    """The experiment file it was exported from."""
    method: list[Any] = field(default_factory=list)
    """The experiment's method, its ``${}`` values resolved (what the guardrails plan)."""

    @property
    def region(self) -> str:
        arn = str(self.template["logConfiguration"]["cloudWatchLogsConfiguration"]["logGroupArn"])
        return arn.split(":")[3]

    def role_policy(self) -> dict[str, Any]:
        """The least-privilege policy of the role that acts on the resources
        (:mod:`chaos_sre.fis.role`): the template's own, or a multi-account experiment's target
        role, without the orchestrator's logs and report."""
        arn = str(self.template["logConfiguration"]["cloudWatchLogsConfiguration"]["logGroupArn"])
        _, _, _, region, account, _ = arn.split(":", 5)
        if self.accounts is None or not self.accounts.multi:
            return role_policy(self.template, region, account)
        return target_role_policy(self.template, region, self.accounts.target)

    def orchestrator_policy(self) -> dict[str, Any] | None:
        """A multi-account experiment's orchestrator role policy (None: single-account)."""
        if self.target_role_arn is None:
            return None
        return orchestrator_role_policy(self.template, self.target_role_arn)

    def target_account_configurations(self) -> list[dict[str, str]]:
        """CreateTargetAccountConfiguration inputs (without the template id) of a
        multi-account experiment; none for a single-account one."""
        if self.accounts is None or self.target_role_arn is None:
            return []
        return [{"accountId": self.accounts.target, "roleArn": self.target_role_arn,
                 "description": f"chaos-sre: the resources of {self.template['tags'][EXPERIMENT_TAG]}"}]

    def alarm_requests(self) -> list[tuple[str, dict[str, Any]]]:
        """The CloudWatch calls that create the stop condition's alarms (reads the load
        balancer's dimension: one DescribeLoadBalancers)."""
        if self.alarms is None:
            return []
        dimension = load_balancer_dimension(self.alarms.load_balancer, self.configuration)
        return self.alarms.requests(dimension)

    def dashboard_request(self) -> dict[str, Any] | None:
        """The PutDashboard input of the SLI's dashboard (one DescribeLoadBalancers), if any."""
        if self.dashboard is None:
            return None
        dimension = load_balancer_dimension(self.dashboard.alarms.load_balancer, self.configuration)
        return self.dashboard.request(dimension)


def fault_seconds(method: list[Any], index: int) -> float:
    """How long the fault of ``method[index]`` lasts before the rollbacks, in AWS seconds: its
    own pause after, and every later step's pauses (probes' run time is not known ahead)."""
    total = float((method[index].get("pauses") or {}).get("after") or 0)
    for step in method[index + 1:]:
        pauses = step.get("pauses") or {}
        total += float(pauses.get("before") or 0) + float(pauses.get("after") or 0)
    return total


def export(path: str | Path, *, account_id: str | None = None, role_arn: str | None = None,
           region: str | None = None, automation_role_arn: str | None = None,
           configuration: dict[str, Any] | None = None, report_bucket: str | None = None,
           after_method_seconds: float = 0.0, orchestrator_role_arn: str | None = None,
           target_role_arn: str | None = None) -> Export:
    """The CreateExperimentTemplate input for experiment ``path`` (the module doc says how);
    ``configuration``: values over the experiment's own (a run's ``--var-file``);
    ``report_bucket``: where FIS writes the experiment's report (:mod:`chaos_sre.fis.dashboard`);
    ``after_method_seconds``: how much longer than its pauses each fault holds (``fis run``: for
    the steady-state hypothesis after the method, before its rollback stops the experiment);
    ``orchestrator_role_arn``: a role in another account makes the experiment multi-account,
    owned there and acting here through ``target_role_arn`` (default
    ``chaos-sre-fis-target-NAME`` here; :mod:`chaos_sre.fis.accounts`)."""
    source = str(path)
    document = read_document(path)
    validate_experiment(document, source)
    configuration = {**resolved_configuration(document.get("configuration"), source),
                     **(configuration or {})}
    region = region or str(configuration.get("aws_region") or "")
    if not region:
        raise ValidationError(f"{source}: no Region: set aws_region in its configuration or pass --region")
    name = _name(Path(path).stem)
    account = account_id or _account_of(configuration)
    accounts = Accounts(account, role_account(orchestrator_role_arn) if orchestrator_role_arn else None)
    method = resolved_method(document, configuration, source)
    parts: list[tuple[str, FisPart]] = []
    needs = Needs()
    automation_role = automation_role_arn or f"arn:aws:iam::{account}:role/{_name(f'chaos-sre-ssm-{name}')}"
    for index, step in enumerate(method):
        if step.get("type") != "action":
            continue
        where = f"{source}: method[{index}] ({step.get('name', '?')})"
        context = FisContext(fault_seconds(method, index) + after_method_seconds, region, account, name,
                             automation_role_arn=automation_role)
        part = _part(step, context, configuration, where, needs, accounts)
        if part.documents and accounts.multi:
            raise ValidationError(f"{where}: {_automation_across_accounts(accounts)}")
        parts.append((_name(str(step.get("name") or f"action-{index}")), part))
    if not parts:
        raise ValidationError(f"{source}: its method has no action for FIS to run")
    notes = [note for _, part in parts for note in part.notes]
    alarms, latency = _stop_alarms(document, configuration, Path(path), name, region, accounts, method, notes)
    stop = {"source": "aws:cloudwatch:alarm", "value": alarms.arn} if alarms else {"source": "none"}
    dashboard = Dashboard(alarms, latency) if alarms else None
    report = None
    if report_bucket and dashboard is None:
        raise ValidationError(f"{source}: --report-bucket needs the SLO's dashboard, and its SLO names "
                              "no load balancer")
    if report_bucket and dashboard is not None:
        report = dashboard.report_configuration(report_bucket)
    elif dashboard is not None:
        notes.append("no experiment report: pass --report-bucket for FIS to write one with the "
                     f"dashboard {dashboard.name}")
    template = _template(document, name, parts, accounts, region, role_arn, stop, report)
    _check(template, source)
    if len(parts) > 1:
        notes.append("FIS starts every action at once, where chaos run injects them one after another")
    documents = [d for _, part in parts for d in part.documents]
    target_role = (target_role_arn or accounts.target_role_arn(_name(f"chaos-sre-fis-target-{name}"))) \
        if accounts.multi else None
    if target_role:
        notes.append(f"multi-account: the experiment runs in account {accounts.home} and acts in "
                     f"account {accounts.target} through its role {target_role}")
    return Export(template, documents, notes, policy(needs) if documents else None, alarms,
                  configuration, dashboard, accounts, target_role, source, method)


def _automation_across_accounts(accounts: Accounts) -> str:
    """Why a fault that runs as an SSM Automation document cannot run multi-account here: the
    automation would run in the orchestrator account, where its service is not."""
    return (f"it runs as an SSM Automation document, which FIS would start in the orchestrator "
            f"account {accounts.home}, not in account {accounts.target} where its resources are: run "
            "this experiment single-account (without --orchestrator-role-arn)")


def _stop_alarms(document: dict[str, Any], configuration: dict[str, Any], path: Path, name: str,
                 region: str, accounts: Accounts, method: list[Any],
                 notes: list[str]) -> tuple[BurnAlarms | None, float | None]:
    """The burn-rate alarms of the experiment's chaos-sre control's SLO, over the fault's span:
    its longest hold and the control's recovery hold (None, with a note, when there is no
    control or its SLO names no load balancer), and the SLO's latency threshold."""
    control = next((c.get("provider") or {} for c in document.get("controls") or []
                    if isinstance(c, dict) and (c.get("provider") or {}).get("module") == CONTROL_MODULE),
                   None)
    if control is None:
        notes.append("no stop condition: the experiment has no chaos-sre control, so no SLO")
        return None, None
    settings = control_settings(control.get("arguments") or {}, configuration,
                                experiment_file=path if path.is_file() else None)
    if not settings.slo.load_balancer:
        notes.append(f"no stop condition: SLO {settings.slo.name} names no load balancer whose "
                     "CloudWatch metrics an alarm could watch")
        return None, None
    span = max(fault_seconds(method, i) for i, step in enumerate(method)
               if isinstance(step, dict) and step.get("type") == "action") + settings.run.hold_seconds
    return burn_alarms(experiment=name, region=region, account_id=accounts.home,
                       metrics_account=accounts.target if accounts.multi else None,
                       load_balancer=settings.slo.load_balancer, target=settings.slo.target,
                       window_seconds=settings.slo.window_seconds,
                       allowance=settings.run.budget_allowance,
                       span_seconds=span), settings.slo.latency_threshold_seconds


def _client_token(name: str, template: dict[str, Any]) -> str:
    content = json.dumps(template, sort_keys=True).encode()
    return f"chaos-sre-{name}-{hashlib.sha256(content).hexdigest()[:16]}"


def _name(text: str) -> str:
    return _NOT_NAME.sub("-", text).strip("-")[:NAME_LONGEST] or "chaos-sre"


def _account_of(configuration: dict[str, Any]) -> str:
    sts = aws_client("sts", configuration)
    return str(call(sts, "get_caller_identity")["Account"])


def resolved_method(document: dict[str, Any], configuration: dict[str, Any],
                    source: str) -> list[dict[str, Any]]:
    """The method's steps with ``${name}`` values resolved from ``configuration``."""
    method = document.get("method") or []
    return [resolved(step, configuration, f"{source}: method[{index}]")
            if isinstance(step, dict) else step for index, step in enumerate(method)]


def _mapping_of(module: str, function: str) -> tuple[FisMapping | None, Any]:
    found = find_fault(module, function)
    if found is not None:
        return found.fis, found
    return MAPPINGS.get((module, function)), None


def _part(step: dict[str, Any], context: FisContext, configuration: dict[str, Any], where: str,
          needs: Needs, accounts: Accounts) -> FisPart:
    """The step's FIS part; its fault's dry run is made only if its mapping asks for it (an SSM
    Automation's, refused multi-account before any call)."""
    provider = step.get("provider") or {}
    module, function = str(provider.get("module", "")), str(provider.get("func", ""))
    mapping, found = _mapping_of(module, function)
    if mapping is None:
        raise ValidationError(f"{where}: {module}.{function} has no FIS mapping, so FIS cannot run "
                              "it; run this experiment with chaos run")
    arguments = dict(provider.get("arguments") or {})
    if found is not None:
        arguments = found.arguments(arguments)
        if arguments.pop("dry_run", False):
            raise ValidationError(f"{where}: dry_run is true; preview a FIS experiment with "
                                  "`chaos-sre fis run --preview` instead")
        given = dict(provider.get("arguments") or {})

        def planned() -> Any:
            """The fault's dry run as FIS needs it: its plan under the guardrails, without the
            check of the runner's own permissions - the automation's role makes the calls."""
            if accounts.multi:
                raise ValidationError(_automation_across_accounts(accounts))
            return {"dry_run": True, **found.guard(given, configuration, None).summary}
        context = replace(context, planned=planned)
    try:
        part = mapping(arguments, context)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None
    if part.documents and found is not None:
        needs.add(found.name, found.reads, found.permissions)
    return part


def _template(document: dict[str, Any], name: str, parts: list[tuple[str, FisPart]],
              accounts: Accounts, region: str, role_arn: str | None,
              stop: dict[str, str], report: dict[str, Any] | None = None) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    for prefix, part in parts:
        def named(local: str, prefix: str = prefix) -> str:
            return _name(f"{prefix}-{local}")
        for local, target in part.targets.items():
            targets[named(local)] = target.template()
        for local, step in part.actions.items():
            action: dict[str, Any] = {"actionId": step.action_id, "parameters": dict(step.parameters)}
            if step.description:
                action["description"] = step.description[:DESCRIPTION_LONGEST]
            if step.target:
                action["targets"] = {_target_key(step.action_id): named(step.target)}
            if step.start_after:
                action["startAfter"] = [named(after) for after in step.start_after]
            actions[named(local)] = action
    title = str(document.get("title") or name)
    template: dict[str, Any] = {
        "description": f"chaos-sre: {title}"[:DESCRIPTION_LONGEST],
        "targets": targets,
        "actions": actions,
        "stopConditions": [stop],
        "roleArn": role_arn or f"arn:aws:iam::{accounts.home}:role/{_name(f'chaos-sre-fis-{name}')}",
        "tags": {EXPERIMENT_TAG: name},
        "experimentOptions": {"accountTargeting": "multi-account" if accounts.multi else "single-account",
                              "emptyTargetResolutionMode": "fail"},
        "logConfiguration": {
            "cloudWatchLogsConfiguration": {
                "logGroupArn": f"arn:aws:logs:{region}:{accounts.home}:log-group:{LOG_GROUP}:*"},
            "logSchemaVersion": 2},
    }
    if report is not None:
        template["experimentReportConfiguration"] = report
    template["clientToken"] = _client_token(name, template)
    return template


def _target_key(action_id: str) -> str:
    action = ACTIONS.get(action_id)
    if action is None or action.target_key is None:
        raise ValidationError(f"{action_id} takes no target (chaos-sre's FIS action table)")
    return action.target_key


def _check(template: dict[str, Any], source: str) -> None:
    """Every action against the FIS action table, every target an action names present, the
    whole input against botocore's CreateExperimentTemplate shape."""
    for action_name, action in template["actions"].items():
        try:
            check_action(action_name, action["actionId"], action.get("parameters") or {},
                         action.get("targets") or {})
        except ValidationError as exc:
            raise ValidationError(f"{source}: {exc}") from None
        for target in (action.get("targets") or {}).values():
            if target not in template["targets"]:
                raise ValidationError(f"{source}: action {action_name} names target {target}, "
                                      "which the template does not define")
    shape = botocore.session.get_session().get_service_model("fis").operation_model(
        "CreateExperimentTemplate").input_shape
    try:
        validate_parameters(template, shape)
    except ParamValidationError as exc:
        raise ValidationError(f"{source}: the template is not a valid CreateExperimentTemplate "
                              f"input: {' '.join(str(exc).split())}") from None
