"""What ``chaos-sre fis run`` creates before it starts an experiment, and the checks before it.

In order, each an idempotent create-or-update, so running an experiment again changes only what
its export changed:

1. the account's FIS safety lever must be disengaged (GetSafetyLever: while it is engaged FIS
   refuses every start, "Safety lever for AWS FIS"), and every action of the template must be one
   FIS lists in the Region (ListActions) - checked before anything is created;
2. the SSM Automation documents its actions start (CreateDocument; one that exists gets a new
   version, made its default: UpdateDocument, UpdateDocumentDefaultVersion);
3. the SLI's CloudWatch dashboard (PutDashboard, :mod:`chaos_sre.fis.dashboard`) and the stop
   condition's alarms (PutMetricAlarm, PutCompositeAlarm): a put replaces one of the same name;
4. the experiment template, found by its ``chaos-sre:experiment`` tag (UpdateExperimentTemplate),
   else created (CreateExperimentTemplate); one whose account targeting differs (FIS cannot
   update it) is deleted and created again;
5. a multi-account template's target account configuration (Create/Update
   TargetAccountConfiguration): the target account and the role FIS assumes there.

Everything but the load balancer's dimension (read in the target account) is made in the
account that owns the experiment: the orchestrator's for a multi-account experiment, reached
through ``orchestrator_role_arn`` (:mod:`chaos_sre.fis.accounts`).

Nothing here starts an experiment (:mod:`chaos_sre.fis.engine` does).
"""

import json
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.fis.accounts import orchestrator_configuration
from chaos_sre.fis.export import EXPERIMENT_TAG, Export
from chaos_sre.fis.mapping import SsmDocument

SAFETY_LEVER_ID = "default"
"""The id of an account's (one per Region) FIS safety lever."""
UPDATABLE = ("description", "stopConditions", "targets", "actions", "roleArn", "logConfiguration",
             "experimentReportConfiguration")
"""The template fields UpdateExperimentTemplate takes that an export sets (``experimentOptions``
only in part: its ``emptyTargetResolutionMode``)."""


@dataclass(frozen=True)
class Provisioned:
    """What :func:`provision` made ready: the template and what it said about each part."""

    template_id: str
    lines: tuple[str, ...]


def check_account(fis: Any, exported: Export) -> None:
    """Refuse (one line) while the safety lever is engaged or an action is not in ListActions."""
    lever = call(fis, "get_safety_lever", id=SAFETY_LEVER_ID)["safetyLever"]["state"]
    if lever.get("status") != "disengaged":
        raise ValidationError(f"the account's FIS safety lever is {lever.get('status')} "
                              f"({lever.get('reason') or 'no reason given'}): FIS starts no "
                              "experiment until it is disengaged")
    listed = {action["id"] for action in paginate(fis, "list_actions", "actions")}
    missing = sorted({a["actionId"] for a in exported.template["actions"].values()} - listed)
    if missing:
        raise ValidationError(f"FIS does not list {', '.join(missing)} in this Region "
                              "(ListActions): the experiment cannot run here")


def provision(exported: Export, configuration: dict[str, Any] | None = None,
              secrets: dict[str, Any] | None = None, orchestrator_role_arn: str | None = None) -> Provisioned:
    """Check the account, then create or update the documents, alarms and template."""
    configuration = orchestrator_configuration(configuration, orchestrator_role_arn)
    fis = aws_client("fis", configuration, secrets)
    check_account(fis, exported)
    lines: list[str] = []
    if exported.documents:
        ssm = aws_client("ssm", configuration, secrets)
        lines += [_document(ssm, document) for document in exported.documents]
    requests = exported.alarm_requests()
    cloudwatch = aws_client("cloudwatch", configuration, secrets)
    dashboard = exported.dashboard_request()
    if dashboard is not None:
        call(cloudwatch, "put_dashboard", **dashboard)
        lines.append(f"dashboard {dashboard['DashboardName']} put")
    if requests:
        for operation, given in requests:
            call(cloudwatch, xform_name(operation), **given)
        lines.append(f"alarms {', '.join(str(r['AlarmName']) for _, r in requests)} put "
                     f"(the stop condition is {exported.alarms.name if exported.alarms else '-'})")
    template_id, line = put_template(fis, exported.template)
    lines.append(line)
    lines += [_target_account(fis, template_id, target) for target in exported.target_account_configurations()]
    return Provisioned(template_id, tuple(lines))


def _target_account(fis: Any, template_id: str, target: dict[str, str]) -> str:
    """The template's configuration of one target account, created or brought up to date."""
    account = target["accountId"]
    try:
        found = call(fis, "get_target_account_configuration", experimentTemplateId=template_id,
                     accountId=account)["targetAccountConfiguration"]
    except AWSError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        call(fis, "create_target_account_configuration", experimentTemplateId=template_id, **target)
        return f"target account {account} added (FIS acts there as {target['roleArn']})"
    if found.get("roleArn") == target["roleArn"]:
        return f"target account {account} unchanged"
    call(fis, "update_target_account_configuration", experimentTemplateId=template_id, **target)
    return f"target account {account} updated (FIS acts there as {target['roleArn']})"


def _document(ssm: Any, document: SsmDocument) -> str:
    content = json.dumps(document.content)
    try:
        call(ssm, "create_document", Name=document.name, Content=content,
             DocumentType="Automation", DocumentFormat="JSON")
        return f"SSM document {document.name} created"
    except AWSError as exc:
        if exc.code != "DocumentAlreadyExists":
            raise
    try:
        version = call(ssm, "update_document", Name=document.name, Content=content,
                       DocumentVersion="$LATEST", DocumentFormat="JSON")["DocumentDescription"][
                           "DocumentVersion"]
    except AWSError as exc:
        if exc.code != "DuplicateDocumentContent":
            raise
        return f"SSM document {document.name} unchanged"
    call(ssm, "update_document_default_version", Name=document.name, DocumentVersion=version)
    return f"SSM document {document.name} updated to version {version}"


def put_template(fis: Any, template: dict[str, Any]) -> tuple[str, str]:
    """(template id, what was done): the template tagged with this experiment's name is updated,
    else one is created."""
    name = template["tags"][EXPERIMENT_TAG]
    found = [t for t in paginate(fis, "list_experiment_templates", "experimentTemplates")
             if (t.get("tags") or {}).get(EXPERIMENT_TAG) == name]
    if not found:
        created = call(fis, "create_experiment_template", **template)["experimentTemplate"]
        return str(created["id"]), f"experiment template {created['id']} created"
    template_id = str(found[0]["id"])
    targeting = template["experimentOptions"]["accountTargeting"]
    existing = call(fis, "get_experiment_template", id=template_id)["experimentTemplate"]
    if (existing.get("experimentOptions") or {}).get("accountTargeting", "single-account") != targeting:
        call(fis, "delete_experiment_template", id=template_id)
        created = call(fis, "create_experiment_template", **template)["experimentTemplate"]
        return str(created["id"]), (f"experiment template {created['id']} created {targeting} "
                                    f"(in place of {template_id}, which FIS cannot change to it)")
    update = {key: template[key] for key in UPDATABLE if key in template}
    update["experimentOptions"] = {"emptyTargetResolutionMode": template["experimentOptions"][
        "emptyTargetResolutionMode"]}
    call(fis, "update_experiment_template", id=template_id, **update)
    return template_id, f"experiment template {template_id} updated"
