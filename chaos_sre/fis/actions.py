"""The AWS FIS actions chaos-sre maps its faults to: one table of action IDs, their targets and
documented parameters, and the permissions the experiment role needs for each.

Everything here is from FIS's own documentation: "AWS FIS Actions reference"
(https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html) for the action
IDs, resource types, target keys, parameters and their bounds, and "Example AWS FIS policies"
for the permissions. A mapping (:mod:`chaos_sre.fis.mapping`) may emit only an action of this
table, with only the parameters it documents; :func:`check_action` refuses anything else, so a
template never carries a parameter FIS would reject when the experiment starts.

FIS durations are ISO 8601 (``PT2M30S``); :func:`iso_duration` writes them from AWS seconds.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chaos_sre.errors import ValidationError

MINUTE, HOUR = 60, 3600


@dataclass(frozen=True)
class Parameter:
    """One documented parameter of a FIS action."""

    kind: str
    """``duration`` (ISO 8601), ``boolean`` (``"true"``/``"false"``), ``integer``, ``json`` (a
    JSON document as a string) or ``string``."""
    required: bool = False
    shortest: int = MINUTE
    """For a duration: the shortest FIS takes, in seconds."""
    longest: int = 12 * HOUR
    """For a duration: the longest FIS takes, in seconds."""
    choices: tuple[str, ...] = ()
    """For a string: the values FIS documents (empty: any)."""


@dataclass(frozen=True)
class FisAction:
    """One FIS action: what it targets and takes, and what its experiment role needs."""

    action_id: str
    target_key: str | None
    """The key of its ``targets`` map (``Instances``); None for an action without targets."""
    resource_type: str | None
    """The resource type its target resolves (``aws:ec2:instance``)."""
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    permissions: tuple[str, ...] = ()
    """IAM actions the experiment role needs for it (beside tag:GetResources for tag targets)."""


DURATION = Parameter("duration", required=True)

ACTIONS: dict[str, FisAction] = {action.action_id: action for action in (
    FisAction("aws:ec2:terminate-instances", "Instances", "aws:ec2:instance",
              permissions=("ec2:TerminateInstances", "ec2:DescribeInstances")),
    FisAction("aws:ec2:stop-instances", "Instances", "aws:ec2:instance", {
        "startInstancesAfterDuration": Parameter("duration"),
        "completeIfInstancesTerminated": Parameter("boolean"),
    }, ("ec2:StopInstances", "ec2:StartInstances", "ec2:DescribeInstances")),
    FisAction("aws:network:disrupt-connectivity", "Subnets", "aws:ec2:subnet", {
        "duration": DURATION,
        "scope": Parameter("string", choices=("all", "availability-zone", "dynamodb",
                                              "prefix-list", "s3")),
    }, ("ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:CreateTags",
        "ec2:DeleteNetworkAcl", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets",
        "ec2:DescribeVpcs", "ec2:ReplaceNetworkAclAssociation")),
    FisAction("aws:ec2:asg-insufficient-instance-capacity-error", "AutoScalingGroups",
              "aws:ec2:autoscaling-group", {
                  "availabilityZoneIdentifiers": Parameter("string", required=True),
                  "duration": DURATION,
                  "percentage": Parameter("integer"),
              }, ("ec2:InjectApiError", "autoscaling:DescribeAutoScalingGroups")),
    FisAction("aws:arc:start-zonal-autoshift", "ManagedResources",
              "aws:arc:zonal-shift-managed-resource", {
                  "availabilityZoneIdentifier": Parameter("string", required=True),
                  "duration": DURATION,
                  "managedResourceTypes": Parameter("string"),
              }, ("arc-zonal-shift:StartZonalShift", "arc-zonal-shift:GetManagedResource",
                  "arc-zonal-shift:UpdateZonalShift", "arc-zonal-shift:CancelZonalShift")),
    FisAction("aws:rds:failover-db-cluster", "Clusters", "aws:rds:cluster",
              permissions=("rds:FailoverDBCluster", "rds:DescribeDBClusters")),
    FisAction("aws:rds:reboot-db-instances", "DBInstances", "aws:rds:db", {
        "forceFailover": Parameter("boolean"),
    }, ("rds:RebootDBInstance", "rds:DescribeDBInstances")),
    FisAction("aws:ssm:start-automation-execution", None, None, {
        "documentArn": Parameter("string", required=True),
        "documentParameters": Parameter("json"),
        "maxDuration": DURATION,
    }, ("ssm:StartAutomationExecution", "ssm:GetAutomationExecution",
        "ssm:StopAutomationExecution", "iam:PassRole")),
    FisAction("aws:s3:bucket-pause-replication", "Buckets", "aws:s3:bucket", {
        "duration": DURATION,
        "region": Parameter("string", required=True),
        "destinationBuckets": Parameter("string"),
        "prefixes": Parameter("string"),
    }, ("s3:PutReplicationConfiguration", "s3:GetReplicationConfiguration", "s3:PauseReplication",
        "s3:ListAllMyBuckets")),
    FisAction("aws:lambda:invocation-error", "Functions", "aws:lambda:function", {
        "duration": DURATION,
        "invocationPercentage": Parameter("integer"),
        "preventExecution": Parameter("boolean"),
    }, ("s3:PutObject", "s3:DeleteObject", "lambda:GetFunction")),
    FisAction("aws:lambda:invocation-add-delay", "Functions", "aws:lambda:function", {
        "duration": DURATION,
        "invocationPercentage": Parameter("integer"),
        "startupDelayMilliseconds": Parameter("integer"),
    }, ("s3:PutObject", "s3:DeleteObject", "lambda:GetFunction")),
    FisAction("aws:fis:wait", None, None, {"duration": DURATION}),
)}
"""Every FIS action a chaos-sre mapping may emit, by action ID."""

SELECTION_MODE = re.compile(r"^(ALL|COUNT\([1-9][0-9]*\)|PERCENT\(([1-9][0-9]?|100)\))$")
"""FIS's selection modes: ``ALL``, ``COUNT(n)``, ``PERCENT(n)`` ("Targets for AWS FIS")."""
_ISO = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def iso_duration(seconds: float) -> str:
    """``seconds`` (rounded up to a whole second) as an ISO 8601 duration: ``PT2M30S``."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, HOUR)
    minutes, secs = divmod(rest, MINUTE)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return f"PT{text or '0S'}"


def duration_seconds(text: str) -> int:
    """An ISO 8601 duration FIS takes (``PT1H2M3S``) in seconds; a malformed one is refused."""
    found = _ISO.match(text)
    if not found or text == "PT":
        raise ValidationError(f"not an ISO 8601 duration FIS takes (PT1H2M3S): {text!r}")
    hours, minutes, secs = (int(part or 0) for part in found.groups())
    return hours * HOUR + minutes * MINUTE + secs


def check_action(name: str, action_id: str, parameters: Mapping[str, str],
                 targets: Mapping[str, str]) -> FisAction:
    """Refuse, in one line naming ``name``, an action FIS does not document as used here: an
    unknown ID, a parameter it does not take or a missing required one, a value outside its
    bounds, a wrong target key."""
    action = ACTIONS.get(action_id)
    if action is None:
        raise ValidationError(f"action {name}: {action_id} is not in chaos-sre's FIS action table")
    for key, value in parameters.items():
        spec = action.parameters.get(key)
        if spec is None:
            raise ValidationError(f"action {name}: {action_id} takes no parameter {key!r} "
                                  f"(it takes: {', '.join(action.parameters) or 'none'})")
        _check_value(name, key, spec, value)
    missing = [key for key, spec in action.parameters.items() if spec.required and key not in parameters]
    if missing:
        raise ValidationError(f"action {name}: {action_id} needs parameter {missing[0]!r}")
    expected = {action.target_key} if action.target_key else set()
    if set(targets) != expected:
        wanted, given = ", ".join(sorted(expected)) or "nothing", ", ".join(sorted(targets)) or "nothing"
        raise ValidationError(f"action {name}: {action_id} targets {wanted}, not {given}")
    return action


def _check_value(name: str, key: str, spec: Parameter, value: str) -> None:
    where = f"action {name}: parameter {key}"
    if spec.kind == "duration":
        seconds = duration_seconds(value)
        if not spec.shortest <= seconds <= spec.longest:
            raise ValidationError(f"{where}: FIS takes {iso_duration(spec.shortest)} to "
                                  f"{iso_duration(spec.longest)}, not {value} ({seconds} s)")
    elif spec.kind == "boolean" and value not in ("true", "false"):
        raise ValidationError(f"{where}: expected \"true\" or \"false\", got {value!r}")
    elif spec.kind == "integer" and not value.isdigit():
        raise ValidationError(f"{where}: expected a whole number, got {value!r}")
    elif spec.choices and value not in spec.choices:
        raise ValidationError(f"{where}: expected one of {', '.join(spec.choices)}, got {value!r}")
