"""The roles the lab's FIS acts as, read from the lab's IAM as FIS meets them.

FIS assumes the experiment's role, which must trust the service principal
``fis.amazonaws.com``; in a multi-account experiment it acts in each target account through
that account's role, which must trust the experiment's role (or its account) - "Experiment
role", "Permissions for multi-account experiments". A role that does not trust the one
assuming it cannot be assumed, and the experiment fails with AWS's reason. Once assumed, FIS's
calls are allowed by the role's policies alone: the lab holds the session to their statements
(inline and attached managed policies together), as it holds a runner to the policy attached
with ``/__lab/iam/policy``.

A role the lab's IAM does not hold is not checked (the lab does not yet require the roles
``chaos-sre fis export`` writes to be created first).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from chaos_sre.lab.core.backends import moto_backend

FIS_SERVICE = "fis.amazonaws.com"


class RoleRefused(Exception):
    """A role FIS cannot assume (the experiment fails with this reason)."""


@dataclass(frozen=True)
class Role:
    """A role as the lab's IAM holds it: who may assume it and what it allows."""

    arn: str
    trust: Mapping[str, Any]
    policy: Mapping[str, Any]
    """Every statement of its inline and attached managed policies, as one document."""


def _document(text: str | Mapping[str, Any]) -> Mapping[str, Any]:
    return text if isinstance(text, Mapping) else dict(json.loads(unquote(text)))


def _statements(document: Mapping[str, Any]) -> list[Any]:
    found = document.get("Statement") or []
    return list(found) if isinstance(found, list) else [found]


def find(role_arn: str) -> Role | None:
    """``role_arn`` as the lab's IAM holds it in its account, or None (call under the lab lock)."""
    account = role_arn.split(":")[4]
    iam = moto_backend("iam", account=account, region="aws")  # IAM is global: by partition
    role = next((r for r in list(iam.roles.values()) if r.arn == role_arn), None)
    if role is None:
        return None
    statements = [s for text in list(role.policies.values()) for s in _statements(_document(text))]
    for managed in list(role.managed_policies.values()):
        statements.extend(_statements(_document(managed.default_version.document)))
    return Role(role_arn, _document(role.assume_role_policy_document),
                {"Version": "2012-10-17", "Statement": statements})


def _principals(statement: Mapping[str, Any], kind: str) -> set[str]:
    principal = statement.get("Principal") or {}
    if principal == "*":
        return {"*"}
    found = principal.get(kind, []) if isinstance(principal, Mapping) else []
    return {found} if isinstance(found, str) else set(found)


def check_trust(role: Role, assumed_by: str) -> None:
    """Refuse ``role`` unless its trust policy lets ``assumed_by`` - the FIS service principal,
    or a role ARN (its account's root counts too) - call sts:AssumeRole."""
    accepted = {"*", assumed_by}
    if assumed_by.startswith("arn:"):
        account = assumed_by.split(":")[4]
        accepted |= {account, f"arn:aws:iam::{account}:root"}
    for statement in _statements(role.trust):
        actions = statement.get("Action") or []
        actions = {actions} if isinstance(actions, str) else set(actions)
        if statement.get("Effect") != "Allow" or not actions & {"sts:AssumeRole", "sts:*", "*"}:
            continue
        kind = "Service" if assumed_by == FIS_SERVICE else "AWS"
        if _principals(statement, kind) & accepted:
            return
    raise RoleRefused(f"Unable to assume role {role.arn}: its trust policy does not let "
                      f"{assumed_by} assume it")
