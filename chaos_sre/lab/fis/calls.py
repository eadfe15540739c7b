"""What the mutating FIS calls - and the SSM documents its automations run - act on, as IAM sees
them (``IAM_RESOURCES``, :mod:`chaos_sre.lab.core.iam_requests`; Service Authorization Reference,
"Actions defined by AWS Fault Injection Service" and "... AWS Systems Manager"):

* CreateExperimentTemplate: each of its actions (``action/ID``) and the new template;
  UpdateExperimentTemplate, DeleteExperimentTemplate, TagResource and the target account
  configuration calls: the template; StartExperiment: the template and the new experiment;
  StopExperiment: the experiment;
* a template created or updated with a ``roleArn`` is also an ``iam:PassRole`` request of that
  role, with ``iam:PassedToService`` ``fis.amazonaws.com`` ("Grant a user permissions to pass a
  role to an AWS service", IAM User Guide);
* CreateDocument, UpdateDocument, UpdateDocumentDefaultVersion: the document (``document/NAME``).

A new template's or experiment's ID is not known before it exists: its ARN ends in ``*``.
"""

from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

FIS_SERVICE = "fis.amazonaws.com"
PASSES_ROLE = ("fis:CreateExperimentTemplate", "fis:UpdateExperimentTemplate")


def _arn(region: str, resource: str) -> str:
    return f"arn:aws:fis:{region}:{ACCOUNT_ID}:{resource}"


def _template(key: str) -> ResourcesOf:
    return lambda region, params: [Resource(_arn(region, f"experiment-template/{one(params, key) or '*'}"))]


def _new_template(region: str, params: Params) -> list[Resource]:
    actions = params.get("actions") or {}
    action_ids = sorted({str(a.get("actionId")) for a in actions.values() if isinstance(a, dict)}) \
        if isinstance(actions, dict) else []
    return [*(Resource(_arn(region, f"action/{a}")) for a in action_ids),
            Resource(_arn(region, "experiment-template/*"))]


def _tagged(region: str, params: Params) -> list[Resource]:
    return [Resource(one(params, "resourceArn") or _arn(region, "experiment-template/*"))]


def _document(region: str, params: Params) -> list[Resource]:
    return [Resource(f"arn:aws:ssm:{region}:{ACCOUNT_ID}:document/{one(params, 'Name')}")]


IAM_RESOURCES: dict[str, ResourcesOf] = {
    "fis:CreateExperimentTemplate": _new_template,
    "fis:UpdateExperimentTemplate": _template("id"),
    "fis:DeleteExperimentTemplate": _template("id"),
    "fis:CreateTargetAccountConfiguration": _template("experimentTemplateId"),
    "fis:UpdateTargetAccountConfiguration": _template("experimentTemplateId"),
    "fis:TagResource": _tagged,
    "fis:StartExperiment": lambda region, params: [
        *_template("experimentTemplateId")(region, params), Resource(_arn(region, "experiment/*"))],
    "fis:StopExperiment": lambda region, params: [Resource(_arn(region, f"experiment/{one(params, 'id')}"))],
    "ssm:CreateDocument": _document,
    "ssm:UpdateDocument": _document,
    "ssm:UpdateDocumentDefaultVersion": _document,
}


def iam_requests(action: str, params: Params, region: str,
                 resources: list[Resource]) -> list[Request] | None:
    """A template with a role is also an iam:PassRole request of the role, to FIS."""
    role = one(params, "roleArn")
    if action not in PASSES_ROLE or not role:
        return None
    return [Request(action, region, resources),
            Request("iam:PassRole", region, (Resource(role),), context={"iam:PassedToService": FIS_SERVICE})]
