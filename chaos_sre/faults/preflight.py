"""Before the first change: may the runner make every call the fault plans, restores included?

Permissions are otherwise discovered one call at a time: where the runner may not create the
deny-all network ACL, az-blackhole has already suspended AZRebalance and shrunk the load
balancer when the refusal comes, and a restore that may not put a setting back leaves it
changed. So every fault lists the calls its plan and its inverses make (:class:`PlannedCall`:
the IAM action, the resource's ARN and tags, the condition keys the call carries) and the
framework asks IAM about all of them before ``apply`` - ``iam:SimulatePrincipalPolicy`` for the
runner's own identity ("Testing IAM policies with the IAM policy simulator",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html). Any
denial refuses the fault in one line naming the calls, with nothing changed.

The simulation covers the runner's identity-based policies, its permissions boundary and the
organization's SCPs; it does not see resource-based policies (a KMS key policy) or a session
policy, which can still refuse a call later. A runner that may not simulate its own policy is
refused too (fail closed), naming the permission; ``preflight_permissions: false`` in the
experiment's configuration (or ``CHAOS_SRE_PREFLIGHT_PERMISSIONS=false``) skips the check, and
the calls are then refused, if at all, one at a time as before.
"""

import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.aws.client import configured_region
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.permissions import PlannedCall

logger = logging.getLogger("chaostoolkit")
SKIP_SETTING = "preflight_permissions"
SKIP_ENVIRONMENT = "CHAOS_SRE_PREFLIGHT_PERMISSIONS"
SIMULATE = "iam:SimulatePrincipalPolicy"
ALLOWED = "allowed"


def enabled(configuration: Mapping[str, Any] | None) -> bool:
    """Whether the check runs: ``preflight_permissions`` in the configuration, else
    ``$CHAOS_SRE_PREFLIGHT_PERMISSIONS``; on unless either says ``false``."""
    setting = (configuration or {}).get(SKIP_SETTING, os.environ.get(SKIP_ENVIRONMENT, "true"))
    return str(setting).strip().lower() not in ("false", "0", "no", "off")


def principal_arn(caller: str) -> str:
    """The IAM ARN to simulate for a GetCallerIdentity ARN: an assumed role's role, a user as
    it is (a role's path is not in the session's ARN: :func:`check` looks it up when IAM does
    not know the role without it)."""
    parts = caller.split(":", 5)
    if len(parts) < 6:
        return caller
    kind, _, rest = parts[5].partition("/")
    if parts[2] == "sts" and kind == "assumed-role":
        return f"arn:aws:iam::{parts[4]}:role/{rest.split('/', 1)[0]}"
    if kind == "user":
        return f"arn:aws:iam::{parts[4]}:user/{rest}"
    return caller


def _simulated(iam: Any, principal: str, action: str, resources: list[str],
               context: Mapping[str, str]) -> list[tuple[str, str]]:
    """(resource, decision) of ``action`` on each of ``resources`` with ``context``."""
    entries = [{"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
               for key, value in sorted(context.items())]
    found = []
    for result in paginate(iam, "simulate_principal_policy", "EvaluationResults",
                           PolicySourceArn=principal, ActionNames=[action],
                           ResourceArns=resources, ContextEntries=entries):
        per_resource = result.get("ResourceSpecificResults") or []
        if per_resource:
            found += [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in per_resource]
        else:
            found.append((result.get("EvalResourceName", "*"), result["EvalDecision"]))
    return found


def _principal(iam: Any, caller: str) -> str:
    """The simulated principal: an assumed role's role ARN, with its path (iam:GetRole) when
    the role has one."""
    principal = principal_arn(caller)
    if ":role/" not in principal:
        return principal
    role = call(iam, "get_role", RoleName=principal.rsplit("/", 1)[-1])
    return str(role["Role"]["Arn"])


def check(calls: Sequence[PlannedCall], configuration: Mapping[str, Any] | None,
          secrets: Mapping[str, Any] | None, fault: str) -> int:
    """Refuse (one-line ValidationError) when the runner may not make one of ``calls``; return
    the number of simulated requests. Nothing is checked with ``preflight_permissions: false``."""
    if not calls or not enabled(configuration):
        return 0
    sts = aws_client("sts", configuration, secrets)
    region = configured_region(dict(configuration or {})) or str(sts.meta.region_name)
    identity = call(sts, "get_caller_identity")
    account, caller = str(identity["Account"]), str(identity["Arn"])
    iam = aws_client("iam", configuration, secrets)
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = defaultdict(list)
    for planned in calls:
        context = {**{f"aws:ResourceTag/{k}": v for k, v in planned.tags.items()},
                   **planned.context, "aws:RequestedRegion": region}
        arn = planned.arn(region, account)
        key = (planned.action, tuple(sorted(context.items())))
        if arn not in groups[key]:
            groups[key].append(arn)
    try:
        principal = _principal(iam, caller)
        decisions = [(action, resource, decision)
                     for (action, context), resources in groups.items()
                     for resource, decision in _simulated(iam, principal, action, resources,
                                                          dict(context))]
    except AWSError as error:
        if not error.refused:
            raise
        raise ValidationError(
            f"{fault}: refusing to start: cannot check the runner's permissions before the first "
            f"change ({error}); grant it {SIMULATE} and iam:GetRole (chaos-sre iam policy does), "
            f"or set {SKIP_SETTING}: false ({SKIP_ENVIRONMENT}=false) to start without the check") from None
    denied = [f"{action} on {resource} ({decision})" for action, resource, decision in decisions
              if decision != ALLOWED]
    if denied:
        shown = "; ".join(denied[:4]) + (f"; and {len(denied) - 4} more" if len(denied) > 4 else "")
        raise ValidationError(
            f"{fault}: refusing to start, nothing was changed: the runner ({caller}) may not make "
            f"{len(denied)} of the {len(decisions)} call(s) the fault and its restore need: {shown} "
            f"(IAM policy simulation); grant them, e.g. with chaos-sre iam policy")
    logger.info(f"chaos-sre: {fault}: the runner may make all {len(decisions)} planned call(s) "
                "(IAM policy simulation)")
    return len(decisions)
