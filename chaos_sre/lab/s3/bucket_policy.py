"""S3 bucket policies as S3 evaluates them for the account's own principals.

A bucket policy is a resource-based policy: each statement names the principals it applies to
(``Principal``). For a request from a principal of the bucket's own account, S3 follows IAM's
evaluation ("Policy evaluation logic", IAM User Guide; "How Amazon S3 authorizes a request for a
bucket operation", Amazon S3 User Guide):

* an explicit ``Deny`` in the bucket policy (or in the principal's identity-based policies)
  wins over every ``Allow``;
* otherwise the request is allowed when either the principal's identity-based policies or the
  bucket policy allow it.

A statement names a principal by ``"*"`` (everyone), ``{"AWS": ...}`` with ``"*"``, the account
(``123456789012`` or ``arn:aws:iam::123456789012:root``: every principal of the account), or a
role or user ARN; a session of an assumed role is the role ("AWS JSON policy elements:
Principal"). ``{"Service": ...}`` names an AWS service, never one of the account's roles. A
bucket policy is at most 20 KB ("Bucket policy examples"/"PutBucketPolicy": ``Policy exceeds the
maximum allowed document size``). What the lab cannot evaluate (``NotPrincipal``, ``NotAction``,
``NotResource``, an unsupported condition operator) is refused when the policy is put: the lab
never guesses in the permissive direction.
"""

import json
import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.iam_evaluation import Request, Resource, statement_applies, validate

MAX_POLICY_BYTES = 20 * 1024
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
ASSUMED_ROLE = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.+$")


class Decision(Enum):
    """What a bucket policy says about one request."""

    DENY = "explicit deny"
    ALLOW = "allow"
    SILENT = "no statement applies"


def bucket_statements(text: str) -> list[dict[str, Any]]:
    """The statements of a bucket policy document; what S3 would refuse, or the lab cannot
    evaluate, is a ValidationError (``MalformedPolicy``)."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ValidationError("Policy exceeds the maximum allowed document size.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise ValidationError("Policies must be valid JSON") from None
    statements = document.get("Statement") if isinstance(document, dict) else None
    for number, statement in enumerate(statements if isinstance(statements, list) else [statements],
                                       start=1):
        if not isinstance(statement, dict) or "Principal" not in statement:
            raise ValidationError(f"statement {number} of a bucket policy needs a Principal")
        unknown = set(statement) - STATEMENT_KEYS
        if unknown:
            raise ValidationError(f"statement {number}: {', '.join(sorted(unknown))} is not supported "
                                  "by the lab's policy evaluation")
    identity_shaped = {**document, "Statement": [{k: v for k, v in s.items() if k != "Principal"}
                                                 for s in _as_list(statements)]}
    validate(identity_shaped)
    return [dict(s) for s in _as_list(statements)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(principal_arn: str) -> str:
    """The IAM ARN a principal's statements name: an assumed-role session is its role."""
    session = ASSUMED_ROLE.match(principal_arn)
    return f"arn:aws:iam::{session.group(1)}:role/{session.group(2)}" if session else principal_arn


def names(principal: Any, principal_arn: str) -> bool:
    """Whether a statement's ``Principal`` names the account's principal ``principal_arn``."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    arn = role_of(principal_arn)
    account = arn.split(":")[4]
    for named in _as_list(principal.get("AWS", [])):
        if named in ("*", account, f"arn:aws:iam::{account}:root", arn):
            return True
    return False


def decide(statements: Sequence[Mapping[str, Any]], principal_arn: str, request: Request) -> Decision:
    """The bucket policy's word on ``request`` from ``principal_arn``."""
    named = [s for s in statements if names(s["Principal"], principal_arn)]
    resources = request.resources or (Resource(),)
    if any(s["Effect"] == "Deny" and statement_applies(s, request, resource)
           for s in named for resource in resources):
        return Decision.DENY
    if all(any(s["Effect"] == "Allow" and statement_applies(s, request, resource) for s in named)
           for resource in resources):
        return Decision.ALLOW
    return Decision.SILENT


def allowed(statements: Sequence[Mapping[str, Any]], principal_arn: str, request: Request,
            identity_allows: bool) -> bool:
    """Whether S3 serves ``request`` from a principal of the bucket's account: no explicit deny,
    and an allow from its identity-based policies or the bucket policy."""
    decision = decide(statements, principal_arn, request)
    return decision is not Decision.DENY and (identity_allows or decision is Decision.ALLOW)


NARROWING_KEYS = {"aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce",
                  "aws:sourceowner", "aws:sourceaccount", "aws:userid", "s3:dataaccesspointarn",
                  "s3:dataaccesspointaccount"}
"""Condition keys whose fixed values make a statement for everyone non-public ("The meaning of
"public"", Blocking public access to your Amazon S3 storage, Amazon S3 User Guide)."""


def _fixed(value: str) -> bool:
    return not any(mark in value for mark in ("*", "?", "${"))


def _narrows(key: str, values: Any) -> bool:
    """Whether a condition on ``key`` limits a statement to fixed values (a CIDR of /8 or
    narrower for ``aws:SourceIp``)."""
    if key.lower() not in NARROWING_KEYS:
        return False
    for value in _as_list(values):
        text = str(value)
        if not _fixed(text):
            return False
        if key.lower() == "aws:sourceip" and int(text.partition("/")[2] or 32) < 8:
            return False
    return True


def _names_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS", []))


def is_public(text: str) -> bool:
    """Whether a bucket policy grants public access, as S3 judges it for Block Public Access and
    GetBucketPolicyStatus: an ``Allow`` for everyone (``"*"``) that no condition narrows to fixed
    values of the keys S3 names (:data:`NARROWING_KEYS`). A policy the lab cannot read is public
    (the lab never guesses in the permissive direction)."""
    try:
        statements = bucket_statements(text)
    except ValidationError:
        return True
    for statement in statements:
        if statement["Effect"] != "Allow" or not _names_everyone(statement["Principal"]):
            continue
        conditions = statement.get("Condition") or {}
        if not any(_narrows(key, values) for by_key in conditions.values()
                   if isinstance(by_key, Mapping) for key, values in by_key.items()):
            return True
    return False
