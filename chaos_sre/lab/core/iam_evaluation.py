"""IAM policy evaluation: whether an identity-based policy document allows one API request.

The lab attaches a policy document to every caller (`PUT /__lab/iam/policy`) and answers each
request the document does not allow with AWS's access-denied error, so a runner policy is proven
by running experiments under it. The evaluation follows AWS's logic for one identity-based
policy ("Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* a request is denied unless a statement allows it, and an explicit ``Deny`` wins over any
  ``Allow``;
* a statement applies when its ``Action`` matches the action (case-insensitive, ``*`` and ``?``
  wildcards), its ``Resource`` matches the resource's ARN (case-sensitive wildcards) and every
  condition holds;
* a request that names several resources (TerminateInstances of three instances) is allowed only
  when each of them is;
* a condition on a key the request does not carry is false (``StringEquals`` on a tag the
  resource lacks) - except under ``...IfExists`` operators.

Supported condition operators: ``StringEquals``, ``StringNotEquals``, ``StringEqualsIgnoreCase``,
``StringLike``, ``StringNotLike``, ``ArnEquals``, ``ArnLike``, ``Bool`` and their ``IfExists``
forms; keys ``aws:RequestedRegion``, ``aws:ResourceTag/K`` (also as ``<service>:ResourceTag/K``),
``aws:RequestTag/K``, ``aws:TagKeys`` and whatever the request carries in its context
(``ec2:CreateAction``, ``kms:GrantIsForAWSResource``). A document using anything else
(``NotAction``, ``NotResource``, another operator) is refused when attached: the lab never
guesses in the permissive direction.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.errors import ValidationError

OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike",
             "StringNotLike", "ArnEquals", "ArnLike", "Bool"}
STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
ANY_RESOURCE = "*"


@dataclass(frozen=True)
class Resource:
    """One resource a request acts on: its ARN (``*`` for actions without resource types) and tags."""

    arn: str = ANY_RESOURCE
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it."""

    action: str
    """``service:Action``, e.g. ``ec2:TerminateInstances``."""
    region: str
    resources: Sequence[Resource] = (Resource(),)
    request_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags the request asks to create (``TagSpecification``, ``Tags``)."""
    context: Mapping[str, str] = field(default_factory=dict)
    """Other condition keys the request carries (``ec2:CreateAction``)."""

    def as_json(self) -> dict[str, Any]:
        """The request as JSON (``/__lab/iam/requests``); :func:`request_from_json` reads it."""
        return {"action": self.action, "region": self.region,
                "resources": [{"arn": r.arn, "tags": dict(r.tags)} for r in self.resources],
                "request_tags": dict(self.request_tags), "context": dict(self.context)}


def request_from_json(data: Mapping[str, Any]) -> Request:
    """The :class:`Request` of :meth:`Request.as_json`."""
    return Request(str(data["action"]), str(data["region"]),
                   tuple(Resource(str(r["arn"]), dict(r.get("tags") or {}))
                         for r in data.get("resources") or ()),
                   dict(data.get("request_tags") or {}), dict(data.get("context") or {}))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document; a document the lab cannot evaluate is refused."""
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list | dict):
        raise ValidationError("a policy document is an object with a Statement list")
    statements = _as_list(document["Statement"])
    for number, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            raise ValidationError(f"statement {number} is not an object")
        unknown = set(statement) - STATEMENT_KEYS
        if unknown:
            raise ValidationError(f"statement {number}: {', '.join(sorted(unknown))} is not supported "
                                  "by the lab's policy evaluation")
        if statement.get("Effect") not in ("Allow", "Deny") or "Action" not in statement \
                or "Resource" not in statement:
            raise ValidationError(f"statement {number} needs Effect (Allow or Deny), Action and Resource")
        for operator in statement.get("Condition") or {}:
            if operator.removesuffix("IfExists") not in OPERATORS:
                raise ValidationError(f"statement {number}: condition operator {operator} is not "
                                      "supported by the lab's policy evaluation")
    return statements


def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one character."""
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(expression, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    return any(_wildcard(str(p), ignore_case=ignore_case).fullmatch(value) for p in _as_list(patterns))


def _key_value(key: str, request: Request, resource: Resource) -> str | None:
    """The value of a condition key for one resource of a request (None: the key is absent)."""
    name, _, tag = key.partition("/")
    lowered = name.lower()
    if lowered == "aws:requestedregion":
        return request.region
    if tag and lowered.endswith(":resourcetag"):
        return resource.tags.get(tag)
    if tag and lowered == "aws:requesttag":
        return request.request_tags.get(tag)
    for known, value in request.context.items():
        if known.lower() == lowered:
            return value
    return None


def _condition_holds(operator: str, key: str, expected: Any, request: Request,
                     resource: Resource) -> bool:
    if key.lower() == "aws:tagkeys":
        values = list(request.request_tags)
        if not values:
            return operator.endswith("IfExists")
    else:
        value = _key_value(key, request, resource)
        if value is None:
            return operator.endswith("IfExists")
        values = [value]
    base = operator.removesuffix("IfExists")
    negated = base.startswith("StringNot")
    like = base.endswith("Like")
    ignore_case = base in ("StringEqualsIgnoreCase", "Bool")
    for value in values:
        if like:
            found = _matches(expected, value, ignore_case=False)
        elif ignore_case:
            found = value.lower() in {str(e).lower() for e in _as_list(expected)}
        else:
            found = value in {str(e) for e in _as_list(expected)}
        if found == negated:
            return False
    return True


def statement_applies(statement: Mapping[str, Any], request: Request, resource: Resource) -> bool:
    """Whether one statement's action, resource and conditions match the request on ``resource``."""
    if not _matches(statement["Action"], request.action, ignore_case=True):
        return False
    if not _matches(statement["Resource"], resource.arn, ignore_case=False):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, request, resource):
                return False
    return True


def allows(statements: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """Whether the policy's statements allow the request on every resource it names."""
    for resource in request.resources or (Resource(),):
        applying = [s for s in statements if statement_applies(s, request, resource)]
        if not any(s["Effect"] == "Allow" for s in applying) or any(s["Effect"] == "Deny" for s in applying):
            return False
    return True
