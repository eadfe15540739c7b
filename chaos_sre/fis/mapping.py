"""What a fault is in AWS FIS: the contract a fault declares its FIS mapping with.

A fault family gives each fault a mapping function - ``@fault(..., fis=terminate_in_fis)`` -
that turns the fault's checked arguments into FIS targets and actions::

    def terminate_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
        return FisPart(targets={"instances": FisTarget("aws:ec2:instance", ...)},
                       actions={"terminate": FisStep("aws:ec2:terminate-instances", "instances")})

A mapping reads no AWS state (but its fault's dry run, when it must: ``context.planned()``): FIS
resolves targets itself when the experiment starts, by
resource type, tags and filters (``Placement.AvailabilityZone``), with a selection mode (ALL,
COUNT(n), PERCENT(n)) - "Targets for AWS FIS". An argument FIS cannot express raises
:class:`FisUnsupported` naming it. A fault FIS has no action for runs as an SSM Automation
document the mapping generates (:class:`SsmDocument`), started by
``aws:ssm:start-automation-execution``, whose ``onCancel``/``onFailure`` steps restore.

:mod:`chaos_sre.fis.export` assembles the parts of an experiment's faults into one
CreateExperimentTemplate input and checks every action against :mod:`chaos_sre.fis.actions`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.errors import ValidationError


class FisUnsupported(ValidationError):
    """A fault or argument FIS cannot express (one line naming it)."""


@dataclass(frozen=True)
class FisContext:
    """What a mapping needs beyond the fault's own arguments."""

    fault_seconds: float
    """How long the fault lasts, in AWS seconds: the experiment's pauses from the action to its
    rollbacks, which ``chaos run`` holds it for."""
    region: str
    account_id: str
    experiment: str
    """The experiment's name (its file's stem): names generated documents and alarms."""
    planned: Callable[[], Mapping[str, Any]] = lambda: {}
    """The fault's dry run (its plan's summary, read-only calls and guardrails): for a mapping
    that needs the values the fault would set (an SSM document's calls); asked only then, so
    other mappings export offline."""
    automation_role_arn: str = ""
    """The role a generated SSM Automation document acts as (its ``AutomationAssumeRole``)."""

    def arn(self, service: str, resource: str) -> str:
        """An ARN of this account and Region (``ssm``, ``document/NAME``)."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass(frozen=True)
class FisTarget:
    """A FIS target: how FIS finds the resources when the experiment starts."""

    resource_type: str
    selection_mode: str = "ALL"
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    resource_arns: Sequence[str] = ()
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Path in the resource's Describe answer (``Placement.AvailabilityZone``) -> values."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Resource-type parameters (``aws:rds:cluster`` takes none; ``aws:ecs:task`` cluster, ...)."""

    def template(self) -> dict[str, Any]:
        """This target as CreateExperimentTemplate's ``targets`` value."""
        target: dict[str, Any] = {"resourceType": self.resource_type, "selectionMode": self.selection_mode}
        if self.resource_tags:
            target["resourceTags"] = dict(self.resource_tags)
        if self.resource_arns:
            target["resourceArns"] = list(self.resource_arns)
        if self.filters:
            target["filters"] = [{"path": path, "values": list(values)}
                                 for path, values in self.filters.items()]
        if self.parameters:
            target["parameters"] = dict(self.parameters)
        return target


@dataclass(frozen=True)
class FisStep:
    """A FIS action of the fault: its ID, the target (by name) and its parameters."""

    action_id: str
    target: str | None = None
    """The name of a target of the same :class:`FisPart`; None for an action without one."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    start_after: Sequence[str] = ()
    """Names of actions of the same part this one starts after."""


@dataclass(frozen=True)
class SsmDocument:
    """An SSM Automation document (schema 0.3) a mapping generates for a fault FIS lacks."""

    name: str
    content: Mapping[str, Any]
    role_statements: Sequence[Mapping[str, Any]] = ()
    """IAM statements the automation's role needs (its ``AutomationAssumeRole``)."""


@dataclass(frozen=True)
class FisPart:
    """One fault in FIS: its targets, actions and generated documents."""

    targets: Mapping[str, FisTarget] = field(default_factory=dict)
    actions: Mapping[str, FisStep] = field(default_factory=dict)
    documents: Sequence[SsmDocument] = ()
    notes: Sequence[str] = ()
    """What differs from the fault under ``chaos run`` (export prints them)."""


FisMapping = Callable[[dict[str, Any], FisContext], FisPart]
"""A fault's mapping: its checked arguments and the context -> its part of the template."""


def unsupported(fault: str, argument: str, why: str) -> FisUnsupported:
    """The one-line refusal of an argument FIS cannot express."""
    return FisUnsupported(f"{fault}: argument {argument} has no FIS equivalent: {why}")
