"""Guardrails: where chaos-sre may act, on what, and how much of it - checked before any mutation.

Rules come from the experiment's configuration (key ``guardrails``, an object)
and from a settings file named by ``$CHAOS_SRE_GUARDRAILS`` (YAML or JSON);
when both exist, both apply::

    allowed_accounts: ["123456789012"]    # STS GetCallerIdentity must answer one of these
    allowed_regions: ["us-east-1"]         # the region the fault's AWS calls go to
    required_tags: {env: staging}          # every target carries every one of these
    protected_tags: {env: production}      # a target carrying any one of these is never touched
    max_availability_zones: 1              # a fault touches targets in at most this many AZs
    max_percent: 50                        # of an Auto Scaling group's instances or an ECS
                                           # service's tasks, per fault

Every fault action resolves its targets read-only, then calls :func:`enforce`
before it writes its ledger entry; a violation raises
:class:`GuardrailViolation` naming the rule and the resource, so nothing is
mutated and ``chaos run`` fails the verdict with that line.
"""

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client, call
from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError
from chaos_sre.safety.ledger import aws_context
from chaos_sre.validation import STRICT, Number, WholeNumber, checked

RULES = ("allowed_accounts", "allowed_regions", "required_tags", "protected_tags",
         "max_availability_zones", "max_percent")
SETTINGS_ENV = "CHAOS_SRE_GUARDRAILS"


class GuardrailViolation(ValidationError):
    """A guardrail forbids the fault; nothing was changed."""


@dataclass(frozen=True)
class Target:
    """One resource a fault is about to change."""

    resource: str
    tags: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    regions: tuple[str, ...] = ()
    """Other Regions the change reaches (a global table's replicas); allowed_regions covers them."""


@dataclass(frozen=True)
class Share:
    """How much of a group (an ASG, an ECS service) a fault takes away."""

    group: str
    affected: int
    total: int


@dataclass(frozen=True)
class Guardrails:
    """One source's rules (see the module docstring)."""

    source: str
    allowed_accounts: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    required_tags: Mapping[str, str] = field(default_factory=dict)
    protected_tags: Mapping[str, str] = field(default_factory=dict)
    max_availability_zones: int | None = None
    max_percent: float | None = None


def _comma_list(value: Any) -> Any:
    """``"a,b"`` as ``["a", "b"]`` (a rule may list its values in one string)."""
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


def _tag_pairs(value: Any) -> Any:
    """``"k=v,k2=v2"`` as a mapping (a rule may write its tags in one string)."""
    if not isinstance(value, str):
        return value
    pairs = [item.partition("=") for item in value.split(",") if item.strip()]
    if any(not sep or not key.strip() for key, sep, _ in pairs):
        raise ValueError("expected tags as key=value,key=value or a mapping")
    return {key.strip(): val.strip() for key, _, val in pairs}


Names = Annotated[list[str | int], pydantic.BeforeValidator(_comma_list)]
Tags = Annotated[dict[str, str | int | float | bool], pydantic.BeforeValidator(_tag_pairs)]


class Rules(pydantic.BaseModel):
    """One source's rules, as its author writes them (the module docstring lists them)."""

    model_config = STRICT
    allowed_accounts: Names = []
    allowed_regions: Names = []
    required_tags: Tags = {}
    protected_tags: Tags = {}
    max_availability_zones: Annotated[WholeNumber, pydantic.Field(ge=1, le=100)] | None = None
    max_percent: Annotated[Number, pydantic.Field(ge=0, le=100)] | None = None


def parse(source: str, rules: Any) -> Guardrails:
    """Check one source's rules and return them (bad rules are one-line ValidationErrors:
    ``SOURCE: RULE: expected ..., got ...``)."""
    model = checked(Rules, rules, source)
    return Guardrails(
        source=source,
        allowed_accounts=tuple(str(v).strip() for v in model.allowed_accounts),
        allowed_regions=tuple(str(v).strip() for v in model.allowed_regions),
        required_tags={k: str(v) for k, v in model.required_tags.items()},
        protected_tags={k: str(v) for k, v in model.protected_tags.items()},
        max_availability_zones=model.max_availability_zones,
        max_percent=model.max_percent,
    )


def load(configuration: Mapping[str, Any] | None) -> list[Guardrails]:
    """The rules in force: the configuration's ``guardrails`` and the ``$CHAOS_SRE_GUARDRAILS`` file."""
    sources = []
    rules = (configuration or {}).get("guardrails")
    if rules not in (None, "", {}):
        if isinstance(rules, str):
            try:
                rules = json.loads(rules)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"configuration guardrails is not a JSON object: {exc.msg}") \
                    from None
        sources.append(parse("configuration guardrails", rules))
    path = os.environ.get(SETTINGS_ENV)
    if path:
        document = read_document(path, "guardrails file")
        sources.append(parse(f"guardrails file {path}", document or {}))
    return sources


def _account(configuration: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None) -> str:
    identity = call(aws_client("sts", configuration, secrets), "get_caller_identity")
    return str(identity["Account"])


def enforce(configuration: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None,
            targets: Sequence[Target], shares: Sequence[Share] = ()) -> None:
    """Raise :class:`GuardrailViolation` when a rule in force forbids changing ``targets``."""
    for rules in load(configuration):
        _check(rules, configuration, secrets, targets, shares)


def _check(rules: Guardrails, configuration: Mapping[str, Any] | None,
           secrets: Mapping[str, Any] | None, targets: Sequence[Target],
           shares: Sequence[Share]) -> None:
    where = f"({rules.source})"
    if rules.allowed_accounts:
        account = _account(configuration, secrets)
        if account not in rules.allowed_accounts:
            raise GuardrailViolation(f"guardrail allowed_accounts: account {account} is not one of "
                                     f"{', '.join(rules.allowed_accounts)} {where}")
    if rules.allowed_regions:
        region = aws_context(dict(configuration or {}))["aws_region"]
        if region not in rules.allowed_regions:
            raise GuardrailViolation(f"guardrail allowed_regions: region {region} is not one of "
                                     f"{', '.join(rules.allowed_regions)} {where}")
        for target in targets:
            for other in target.regions:
                if other not in rules.allowed_regions:
                    raise GuardrailViolation(
                        f"guardrail allowed_regions: {target.resource} reaches region {other}, "
                        f"which is not one of {', '.join(rules.allowed_regions)} {where}")
    for target in targets:
        for key, value in rules.protected_tags.items():
            if target.tags.get(key) == value:
                raise GuardrailViolation(f"guardrail protected_tags: {target.resource} carries "
                                         f"{key}={value}, which is never touched {where}")
        for key, value in rules.required_tags.items():
            if target.tags.get(key) != value:
                found = target.tags.get(key)
                raise GuardrailViolation(
                    f"guardrail required_tags: {target.resource} does not carry {key}={value} "
                    f"({'no ' + key + ' tag' if found is None else key + '=' + found}) {where}")
    zones = sorted({t.availability_zone for t in targets if t.availability_zone})
    if rules.max_availability_zones is not None and len(zones) > rules.max_availability_zones:
        raise GuardrailViolation(f"guardrail max_availability_zones: the fault touches "
                                 f"{len(zones)} AZs ({', '.join(zones)}), at most "
                                 f"{rules.max_availability_zones} allowed {where}")
    if rules.max_percent is not None:
        for share in shares:
            percent = 100.0 * share.affected / share.total if share.total else 0.0
            if percent > rules.max_percent:
                raise GuardrailViolation(
                    f"guardrail max_percent: the fault takes {share.affected} of {share.total} "
                    f"({percent:.0f} %) of {share.group}, at most {rules.max_percent:g} % "
                    f"allowed {where}")
