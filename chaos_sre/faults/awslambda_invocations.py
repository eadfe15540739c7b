"""Lambda invocation faults with AWS FIS's semantics: a share of a function's invocations fail
(``aws:lambda:invocation-error``) or start late (``aws:lambda:invocation-add-delay``).

Only FIS's Lambda extension can do this: a layer the function runs with, which reads the faults
FIS writes to an S3 location the function names ("Use the AWS FIS aws:lambda:function actions";
the function needs the extension layer, ``AWS_LAMBDA_EXEC_WRAPPER`` ``/opt/aws-fis/bootstrap``
and ``AWS_FIS_CONFIGURATION_LOCATION``). So both engines inject through FIS:
``chaos-sre fis run`` puts the action in the experiment's template (:mod:`chaos_sre.fis.mapping`);
``chaos run`` starts a FIS experiment of this one action itself (its template tagged
``chaos-sre:experiment`` ``lambda-NAME-error`` or ``-delay``, with the experiment role
``fis_role_arn``), records in the run ledger that it stops it, and its effect check asks FIS
whether the action runs (:mod:`chaos_sre.fis.engine`: ``stop_fis_experiment``).

Refused before anything starts: a function without the extension's configuration (FIS would
refuse the experiment). The extension reads its configuration about once a minute, so the
faults start within a minute of the action, and end with it.
"""

import logging
from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client, call
from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Share, Target, fault
from chaos_sre.fis.actions import iso_duration
from chaos_sre.fis.engine import EXPERIMENTS, FIS_ROLES, RUN_TAG, START_OP, STOP_OP, TEMPLATES
from chaos_sre.fis.export import EXPERIMENT_TAG
from chaos_sre.fis.mapping import FisContext, FisPart, FisStep, FisTarget
from chaos_sre.fis.provision import put_template
from chaos_sre.safety.ledger import Ledger
from chaos_sre.services.awslambda import (
    FIS_LOCATION_VARIABLE,
    FIS_WRAPPER,
    FIS_WRAPPER_VARIABLE,
    describe_function,
)

__all__ = ["add_invocation_delay", "fail_invocations"]

logger = logging.getLogger("chaostoolkit")
ERROR_ACTION, DELAY_ACTION = "aws:lambda:invocation-error", "aws:lambda:invocation-add-delay"
EXTENSION_LAYER = ":layer:aws-fis-extension-"
Percentage = Annotated[int, pydantic.Field(ge=1, le=100)]
DelayMilliseconds = Annotated[int, pydantic.Field(ge=0, le=900_000)]
HoldSeconds = Annotated[float, pydantic.Field(ge=60, le=12 * 3600)]
PERMISSIONS = [
    Permission("fis:CreateExperimentTemplate", TEMPLATES),
    Permission("fis:CreateExperimentTemplate", "arn:aws:fis:*:*:action/*"),
    Permission("fis:UpdateExperimentTemplate", TEMPLATES),
    Permission("fis:TagResource", TEMPLATES),
    Permission("fis:StartExperiment", TEMPLATES),
    Permission("fis:StartExperiment", EXPERIMENTS),
    Permission("fis:StopExperiment", EXPERIMENTS),
    Permission("iam:PassRole", FIS_ROLES, (("StringEquals", "iam:PassedToService", "fis.amazonaws.com"),)),
]
READS = [Permission("lambda:GetFunction"), Permission("fis:ListExperimentTemplates"),
         Permission("fis:GetExperimentTemplate"), Permission("fis:GetExperiment"),
         Permission("fis:ListExperiments")]


def _extension_problem(configuration: dict[str, Any]) -> str | None:
    """Why FIS's extension cannot act on the function (GetFunction's Configuration), or None."""
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    layers = [str(layer.get("Arn", "")) for layer in configuration.get("Layers") or []]
    if not any(EXTENSION_LAYER in arn for arn in layers):
        return "has no AWS FIS extension layer (aws-fis-extension-x86_64 or -arm64)"
    if variables.get(FIS_WRAPPER_VARIABLE) != FIS_WRAPPER:
        return f"does not set {FIS_WRAPPER_VARIABLE} to {FIS_WRAPPER}"
    if not str(variables.get(FIS_LOCATION_VARIABLE, "")).startswith("arn:aws:s3:::"):
        return f"does not name the S3 location of its faults in {FIS_LOCATION_VARIABLE} (arn:aws:s3:::BUCKET/PREFIX/)"
    return None


def _plan(kind: str, action_id: str, parameters: dict[str, str], function_name: str, hold_seconds: float,
          fis_role_arn: str | None, configuration: dict[str, Any] | None,
          secrets: dict[str, Any] | None) -> Plan:
    """Both faults: check the function, then start one FIS experiment of ``action_id``."""
    function = describe_function(aws_client("lambda", configuration, secrets), function_name)
    details = dict(function["Configuration"])
    name, arn = str(details["FunctionName"]), str(details["FunctionArn"])
    problem = _extension_problem(details)
    if problem:
        raise ValidationError(f"Lambda function {name} {problem}: FIS injects invocation faults only "
                              "through its extension (\"Use the AWS FIS aws:lambda:function actions\")")
    account = arn.split(":")[4]
    role = fis_role_arn or f"arn:aws:iam::{account}:role/chaos-sre-fis-lambda"
    template_name = f"lambda-{name}-{kind}"
    template = {
        "description": f"chaos-sre: {action_id} on Lambda function {name}",
        "targets": {"functions": {"resourceType": "aws:lambda:function", "resourceArns": [arn],
                                  "selectionMode": "ALL"}},
        "actions": {kind: {"actionId": action_id, "targets": {"Functions": "functions"},
                           "parameters": {**parameters, "duration": iso_duration(hold_seconds)}}},
        "stopConditions": [{"source": "none"}], "roleArn": role, "tags": {EXPERIMENT_TAG: template_name},
        "experimentOptions": {"accountTargeting": "single-account", "emptyTargetResolutionMode": "fail"},
    }
    resource = f"lambda:function/{name}"

    def apply(ledger: Ledger) -> dict[str, Any]:
        fis = aws_client("fis", configuration, secrets)
        template_id, _ = put_template(fis, {**template, "clientToken": f"{ledger.path.stem}-{kind}"})
        run = ledger.path.stem
        with ledger.mutation(resource, START_OP, None,
                             {"op": STOP_OP, "template_id": template_id, "run": run}) as mutation:
            started = call(fis, "start_experiment", experimentTemplateId=template_id,
                           clientToken=f"{run}-{template_id}", tags={RUN_TAG: run})
            mutation.applied()
            mutation.outcome = str(started["experiment"]["id"])
        logger.info(f"chaos-sre: FIS experiment {started['experiment']['id']} runs {action_id} on "
                    f"Lambda function {name}")
        return {"experiment_id": str(started["experiment"]["id"]), "template_id": template_id}

    return Plan(
        targets=[Target(resource, dict(function.get("Tags") or {}))],
        shares=[Share(f"invocations of Lambda function {name}", int(parameters["invocationPercentage"]), 100)],
        summary={"function_name": name, "function_arn": arn, "action": action_id,
                 "parameters": parameters, "fis_role_arn": role},
        apply=apply,
        calls=[PlannedCall("fis:StartExperiment", EXPERIMENTS),
               PlannedCall("iam:PassRole", role, context={"iam:PassedToService": "fis.amazonaws.com"})],
        action=f"start a FIS experiment of {action_id} on Lambda function {name} ({parameters})")


def _in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """Either fault in `chaos-sre fis run`'s template: FIS's own action on the function."""
    planned = context.planned()
    parameters = {**planned["parameters"], "duration": iso_duration(context.fault_seconds)}
    return FisPart(targets={"functions": FisTarget("aws:lambda:function",
                                                   resource_arns=[str(planned["function_arn"])])},
                   actions={"invocations": FisStep(str(planned["action"]), "functions", parameters,
                                                   description=f"{planned['action']} on {planned['function_name']}")},
                   notes=["the function's FIS extension reads its faults about once a minute: they "
                          "start within a minute of the action"])


@fault(reads=READS, permissions=PERMISSIONS, inverses=[STOP_OP], effects=[START_OP], fis=_in_fis)
def fail_invocations(
    function_name: str,
    invocation_percentage: Percentage = 100,
    prevent_execution: bool = False,
    hold_seconds: HoldSeconds = 300,
    fis_role_arn: str | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Fail `invocation_percentage` % of a Lambda function's invocations for `hold_seconds` (at
    most; the rollback ends it sooner) with AWS FIS's aws:lambda:invocation-error - with
    `prevent_execution`, without running the function's code.

    Needs FIS's Lambda extension on the function (refused otherwise). Under `chaos run` it starts
    a FIS experiment of this one action as `fis_role_arn` (default role chaos-sre-fis-lambda of
    the function's account) and the rollback stops it; under `chaos-sre fis run` the action is in
    the experiment's template. With `dry_run` the plan is printed and nothing starts.
    """
    return _plan("error", ERROR_ACTION, {"invocationPercentage": str(invocation_percentage),
                                         "preventExecution": str(bool(prevent_execution)).lower()},
                 function_name, hold_seconds, fis_role_arn, configuration, secrets)


@fault(reads=READS, permissions=PERMISSIONS, inverses=[STOP_OP], effects=[START_OP], fis=_in_fis)
def add_invocation_delay(
    function_name: str,
    startup_delay_milliseconds: DelayMilliseconds = 1000,
    invocation_percentage: Percentage = 100,
    hold_seconds: HoldSeconds = 300,
    fis_role_arn: str | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Delay the start of `invocation_percentage` % of a Lambda function's invocations by
    `startup_delay_milliseconds` for `hold_seconds` (at most; the rollback ends it sooner) with
    AWS FIS's aws:lambda:invocation-add-delay.

    Needs FIS's Lambda extension on the function (refused otherwise); runs as
    `fail_invocations` does (a FIS experiment of this one action under `chaos run`).
    """
    return _plan("delay", DELAY_ACTION, {"invocationPercentage": str(invocation_percentage),
                                         "startupDelayMilliseconds": str(startup_delay_milliseconds)},
                 function_name, hold_seconds, fis_role_arn, configuration, secrets)
