"""The role FIS acts as for an exported experiment: least privilege from its template.

Each action's permissions come from the FIS action table (:mod:`chaos_sre.fis.actions`, after
"AWS FIS Actions reference"). Reads (``Describe*``, ``Get*``, ``List*``) are granted on ``*``,
as the resolution of targets needs; every other permission only where the action reaches:

* on its target's resources - by their ARNs where the target names them, else by the resource
  type's ARN with every tag the target selects on (``aws:ResourceTag/KEY``), as FIS's example
  policies scope them;
* ``aws:network:disrupt-connectivity``: the network ACLs it creates and deletes, the subnets and
  VPCs of its target (it works on the subnets' associations);
* ``aws:ec2:asg-insufficient-instance-capacity-error``: ``ec2:InjectApiError`` only for that
  action (``ec2:FisActionId``);
* ``aws:arc:start-zonal-autoshift``: zonal shifts only of load balancers
  (``arc-zonal-shift:ResourceIdentifier``, the only scope ARC offers);
* ``aws:ssm:start-automation-execution``: its document, its executions, and ``iam:PassRole`` of
  the automation's role only.

Tag-based targets add ``tag:GetResources``; the log configuration adds CloudWatch Logs delivery
("Experiment logging permissions"); an experiment report, its dashboards' reads and images and
its objects in the report's bucket prefix.
"""

import json
from typing import Any

from chaos_sre.fis.actions import ACTIONS

READ_PREFIXES = ("Describe", "Get", "List")
RESOURCE_ARNS = {
    "aws:ec2:instance": "arn:aws:ec2:{region}:{account}:instance/*",
    "aws:ec2:subnet": "arn:aws:ec2:{region}:{account}:subnet/*",
    "aws:ec2:autoscaling-group": "arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*",
    "aws:rds:cluster": "arn:aws:rds:{region}:{account}:cluster:*",
    "aws:rds:db": "arn:aws:rds:{region}:{account}:db:*",
}
NETWORK = ("arn:aws:ec2:{region}:{account}:network-acl/*", "arn:aws:ec2:{region}:{account}:subnet/*",
           "arn:aws:ec2:{region}:{account}:vpc/*")
LOAD_BALANCERS = "arn:aws:elasticloadbalancing:*:*:loadbalancer/*"
LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups")


def _is_read(permission: str) -> bool:
    return permission.split(":", 1)[1].startswith(READ_PREFIXES)


def role_policy(template: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """The IAM policy of the role ``template`` names (the module doc says what it grants)."""
    return {"Version": "2012-10-17",
            "Statement": [*_action_statements(template, region, account), *_experiment_statements(template)]}


def target_role_policy(template: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """A multi-account experiment's target role: its actions in ``account``, nothing else."""
    return {"Version": "2012-10-17", "Statement": _action_statements(template, region, account)}


def orchestrator_role_policy(template: dict[str, Any], target_role_arn: str) -> dict[str, Any]:
    """A multi-account experiment's own role: assume the target role, write its logs and report
    ("Permissions for multi-account experiments")."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ActInTargetAccount", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": target_role_arn}, *_experiment_statements(template)]}


def _experiment_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """What the experiment's own account needs: log delivery, the report's reads and writes."""
    statements: list[dict[str, Any]] = []
    if template.get("logConfiguration"):
        statements.append({"Sid": "DeliverExperimentLogs", "Effect": "Allow",
                           "Action": list(LOG_DELIVERY), "Resource": "*"})
    report = template.get("experimentReportConfiguration")
    if report:
        statements.extend(_report_statements(report))
    return statements


def _action_statements(template: dict[str, Any], region: str, account: str) -> list[dict[str, Any]]:
    """Resolving the targets and running the actions, least privilege."""
    reads: set[str] = set()
    scoped: dict[str, tuple[set[str], dict[str, dict[str, Any]]]] = {}

    def grant(permissions: list[str], resources: list[str], condition: dict[str, dict[str, Any]]) -> None:
        key = json.dumps([sorted(resources), condition], sort_keys=True)
        actions, _ = scoped.setdefault(key, (set(), condition))
        actions.update(permissions)

    uses_tags = False
    for action in template["actions"].values():
        spec = ACTIONS[action["actionId"]]
        reads.update(p for p in spec.permissions if _is_read(p))
        changes = sorted(p for p in spec.permissions if not _is_read(p))
        target = template["targets"].get(next(iter((action.get("targets") or {}).values()), ""), {})
        uses_tags = uses_tags or bool(target.get("resourceTags"))
        arn = RESOURCE_ARNS.get(spec.resource_type or "", "*").format(region=region, account=account)
        targeted = list(target.get("resourceArns") or [arn])
        tagged = {"StringEquals": {f"aws:ResourceTag/{k}": v
                                   for k, v in sorted((target.get("resourceTags") or {}).items())}}
        tags = tagged if tagged["StringEquals"] and not target.get("resourceArns") else {}
        if spec.action_id == "aws:network:disrupt-connectivity":
            grant(changes, [a.format(region=region, account=account) for a in NETWORK], {})
        elif spec.action_id == "aws:ec2:asg-insufficient-instance-capacity-error":
            grant(["ec2:InjectApiError"], ["*"],
                  {"ForAnyValue:StringEquals": {"ec2:FisActionId": [spec.action_id]}})
        elif spec.action_id == "aws:arc:start-zonal-autoshift":
            grant(changes, ["*"], {"StringLike": {"arc-zonal-shift:ResourceIdentifier": LOAD_BALANCERS}})
        elif spec.action_id == "aws:ssm:start-automation-execution":
            document = action["parameters"]["documentArn"]
            name = document.rsplit("/", 1)[-1]
            automation = json.loads(action["parameters"].get("documentParameters") or "{}")
            grant(["ssm:StartAutomationExecution"],
                  [document, f"arn:aws:ssm:{region}:{account}:automation-definition/{name}:*"], {})
            grant(["ssm:GetAutomationExecution", "ssm:StopAutomationExecution"],
                  [f"arn:aws:ssm:{region}:{account}:automation-execution/*"], {})
            if automation.get("AutomationAssumeRole"):
                grant(["iam:PassRole"], [automation["AutomationAssumeRole"]], {})
        elif changes:
            grant(changes, targeted, tags)
    statements: list[dict[str, Any]] = []
    if reads or uses_tags:
        statements.append({"Sid": "ResolveTargets", "Effect": "Allow",
                           "Action": sorted(reads | ({"tag:GetResources"} if uses_tags else set())),
                           "Resource": "*"})
    for number, (key, (actions, condition)) in enumerate(sorted(scoped.items()), start=1):
        resources = json.loads(key)[0]
        statement: dict[str, Any] = {"Sid": f"RunActions{number}", "Effect": "Allow",
                                     "Action": sorted(actions),
                                     "Resource": resources[0] if len(resources) == 1 else resources}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return statements


def _report_statements(report: dict[str, Any]) -> list[dict[str, Any]]:
    """What writing the experiment report needs ("Experiment report configurations for AWS
    FIS"): the dashboards' widgets as images, and the report's objects in its bucket prefix."""
    dashboards = [d["dashboardIdentifier"] for d in report["dataSources"]["cloudWatchDashboards"]]
    s3 = report["outputs"]["s3Configuration"]
    return [{"Sid": "ReadReportDashboards", "Effect": "Allow", "Action": ["cloudwatch:GetDashboard"],
             "Resource": dashboards},
            {"Sid": "DrawReportGraphs", "Effect": "Allow", "Action": ["cloudwatch:GetMetricWidgetImage"],
             "Resource": "*"},
            {"Sid": "WriteReport", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": f"arn:aws:s3:::{s3['bucketName']}/{s3['prefix']}/*"}]


TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
"""Who may assume the role: FIS ("IAM roles for AWS FIS experiments")."""
