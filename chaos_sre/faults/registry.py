"""The fault registry: every fault declared once and driven by the framework - validation,
guardrails, dry run, ledger and effect verification in one place.

A fault is written as its plan: a function that resolves what it would change with read-only
calls and returns a :class:`Plan` - the targets (for the guardrails), the shares of groups it
takes (blast radius), a summary (what a dry run prints and the result carries) and ``apply``,
the mutations, each inside ``ledger.mutation``::

    @fault(permissions=[Permission("ec2:TerminateInstances", "arn:aws:ec2:*:*:instance/*")],
           reads=[Permission("ec2:DescribeInstances")], inverses=["start_instances"],
           effects=["terminate"])
    def terminate_az_instances(az: str, mode: Literal["all", "count"] = "all", ...,
                               configuration=None, secrets=None) -> Plan: ...

:func:`fault` turns it into the Chaos Toolkit action: the same signature with ``dry_run: bool
= False`` added, the same docstring (what ``chaos discover`` shows), returning a dict. Every
call - from ``chaos run``, a game day, ``chaos-sre validate`` - goes:

1. the argument model, built from the signature's type hints and defaults (pydantic: ``Literal``
   and ``Annotated[int, Field(ge=0)]`` say what is allowed; "3" becomes 3, "true" True); a bad
   value is a one-line :class:`ArgumentError` naming the argument;
2. the plan (read only);
3. the guardrails (:func:`chaos_sre.safety.guardrails.enforce`) over its targets and shares;
4. the runner's permissions for every call the plan lists, its restore's included
   (:mod:`chaos_sre.faults.preflight`: IAM policy simulation; a denial changes nothing);
5. with ``dry_run``: a log line and ``{"dry_run": True, **summary}``, nothing changed;
6. ``apply(ledger)`` with the run ledger, each mutation's inverse fsynced before it.

The control then runs the effect checks of the ledger operations the fault recorded
(:mod:`chaos_sre.faults.effects`). A fault must declare every part: the IAM ``permissions`` it
mutates with, its ``inverses`` (each registered with :func:`chaos_sre.safety.ledger.inverse`)
and the ``effects`` - the ledger operations whose :func:`~chaos_sre.faults.effects.effect_check`
tells whether it took effect. A module whose fault lacks one is refused when it is imported
through the registry (and the fault when it is first called), in one line naming the part.

A fault may also declare ``fis``, its mapping to AWS FIS actions (:mod:`chaos_sre.fis.mapping`),
which ``chaos-sre fis export`` uses.

Fault modules are found through the ``chaos_sre.faults`` entry-point group, so another package
adds a fault family with one module and one line of its own packaging metadata::

    [project.entry-points."chaos_sre.faults"]
    lambda = "mypackage.lambda_faults"
"""

import functools
import importlib
import inspect
import logging
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pydantic

from chaos_sre.errors import ArgumentError, ValidationError
from chaos_sre.faults import effects, preflight
from chaos_sre.fis.mapping import FisMapping
from chaos_sre.permissions import Permission, PlannedCall
from chaos_sre.safety import ledger as ledgers
from chaos_sre.safety.guardrails import Share, Target, enforce
from chaos_sre.validation import STRICT, problem

__all__ = ["Fault", "Permission", "Plan", "PlannedCall", "PreState", "Share", "Target", "fault", "fault_modules",
           "find", "load"]

logger = logging.getLogger("chaostoolkit")
ENTRY_POINT_GROUP = "chaos_sre.faults"
INJECTED = ("configuration", "secrets")
"""Arguments Chaos Toolkit passes itself; never part of a fault's argument model."""
DRY_RUN = "dry_run"
"""The argument the framework adds to every fault: plan, check the guardrails, change nothing."""


@dataclass(frozen=True)
class PreState:
    """A pre-state as ``apply`` records it in the run ledger: the resource, the operation, the
    state before."""

    resource: str
    operation: str
    state: Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    """What a fault would change, found with read-only calls; the registry does the rest."""

    targets: Sequence[Target]
    """Every resource it changes, for the guardrails."""
    apply: Callable[[ledgers.Ledger], Mapping[str, Any] | None]
    """The mutations, each inside ``ledger.mutation``; returns what to add to the result."""
    shares: Sequence[Share] = ()
    """How much of each group it takes (blast radius)."""
    summary: Mapping[str, Any] = field(default_factory=dict)
    """What it would do: a dry run's output, and the start of the fault's result."""
    action: str = ""
    """One line for the dry-run log: ``terminate 2 instance(s) in us-east-1a: i-1, i-2``."""
    calls: Sequence[PlannedCall] = ()
    """Every IAM request ``apply`` and the inverses it records will make: checked before
    ``apply`` (:mod:`chaos_sre.faults.preflight`)."""
    pre_states: Sequence[PreState] = ()
    """The pre-states ``apply`` records that a probe reads back from the run ledger (the writer
    before a failover, for ``wait_for_failover``): an engine that makes the changes itself (AWS
    FIS) records them too, so those probes judge its run as they judge ``chaos run``'s."""


PlanFunction = Callable[..., Plan]


@dataclass(frozen=True)
class Fault:
    """A registered fault: its action function, argument model and declared parts."""

    name: str
    module: str
    function: Callable[..., dict[str, Any]]
    """The Chaos Toolkit action (arguments checked, plan, guardrails, dry run, apply)."""
    model: type[pydantic.BaseModel]
    permissions: tuple[Permission, ...]
    """What it mutates with (and what its inverses restore with)."""
    reads: tuple[Permission, ...] = ()
    """What it resolves its targets with (read-only calls; also a dry run's and validate's)."""
    inverses: tuple[str, ...] = ()
    """The inverse operations its ledger intents name."""
    effects: tuple[str, ...] = ()
    """The ledger operations whose effect checks tell whether it took effect."""
    fis: FisMapping | None = None
    """What it is in AWS FIS (:mod:`chaos_sre.fis.mapping`); None: ``chaos-sre fis export``
    refuses it."""
    plan: PlanFunction | None = None
    """Its plan function (read-only), for :meth:`guard`."""

    def arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` checked and coerced by the argument model (one-line ArgumentError
        ``argument NAME: ...``)."""
        return checked_arguments(self.model, values)

    def guard(self, values: dict[str, Any], configuration: dict[str, Any] | None,
              secrets: dict[str, Any] | None) -> Plan:
        """The plan for ``values`` (read-only calls) with the guardrails enforced over it: what
        a run checks before it changes anything, for an engine that makes the changes itself
        (AWS FIS), so neither the runner's permissions are checked nor anything applied."""
        if self.plan is None:
            raise ValidationError(f"fault {self.module}.{self.name} has no plan function")
        arguments = self.arguments(values)
        arguments.pop(DRY_RUN, None)
        plan = self.plan(**arguments, configuration=configuration, secrets=secrets)
        enforce(configuration, secrets, plan.targets, plan.shares)
        return plan

    def incomplete(self) -> str | None:
        """The first part the declaration lacks, as the end of a sentence; None when whole."""
        if not self.permissions:
            return "declares no permissions (the IAM actions it mutates with)"
        if not self.inverses:
            return "declares no inverses (the ledger operations that undo it)"
        unknown = [name for name in self.inverses if not ledgers.is_registered(name)]
        if unknown:
            return (f"names inverse {unknown[0]!r}, which no @inverse({unknown[0]!r}) in its module "
                    "registers")
        if not self.effects:
            return ("declares no effect check (effects: the ledger operations whose "
                    "@effect_check tells whether it took effect)")
        unchecked = [op for op in self.effects if not effects.is_checked(op)]
        if unchecked:
            return (f"declares effect {unchecked[0]!r}, which no @effect_check({unchecked[0]!r}) in "
                    "its module checks")
        return None


_FAULTS: dict[tuple[str, str], Fault] = {}
_VERIFIED: set[tuple[str, str]] = set()


def fault(*, permissions: Iterable[Permission], reads: Iterable[Permission] = (),
          inverses: Iterable[str] = (), effects: Iterable[str] = (), fis: FisMapping | None = None,
          ) -> Callable[[PlanFunction], Callable[..., dict[str, Any]]]:
    """Declare a fault from its plan function: register it and return its Chaos Toolkit action
    (the module doc says what each call goes through)."""
    def register(plan: PlanFunction) -> Callable[..., dict[str, Any]]:
        key = (plan.__module__, plan.__name__)
        signature = public_signature(plan)
        model = argument_model(plan, signature)

        @functools.wraps(plan)
        def action(*args: Any, **kwargs: Any) -> dict[str, Any]:
            _verify(_FAULTS[key])
            bound = signature.bind_partial(*args, **kwargs)
            domain = {k: v for k, v in bound.arguments.items() if k not in INJECTED}
            injected = {k: v for k, v in bound.arguments.items() if k in INJECTED}
            try:
                arguments = checked_arguments(model, domain)
            except ArgumentError as exc:
                raise ArgumentError(f"{plan.__name__}: {exc}") from None
            dry_run = bool(arguments.pop(DRY_RUN))
            return drive(plan(**arguments, **injected), dry_run, injected.get("configuration"),
                         injected.get("secrets"), plan.__name__)

        action.__signature__ = signature  # type: ignore[attr-defined]
        action.__annotations__ = {**plan.__annotations__, DRY_RUN: bool, "return": dict[str, Any]}
        del action.__wrapped__  # type: ignore[attr-defined]  # discovery reads the action itself
        _FAULTS[key] = Fault(
            name=plan.__name__, module=plan.__module__, function=action, model=model,
            permissions=tuple(permissions), reads=tuple(reads), inverses=tuple(inverses),
            effects=tuple(effects), fis=fis, plan=plan)
        return action
    return register


def drive(plan: Plan, dry_run: bool, configuration: dict[str, Any] | None,
          secrets: dict[str, Any] | None, name: str = "fault") -> dict[str, Any]:
    """Guardrails over the plan, the runner's permissions for every planned call, then the dry
    run's answer, or its mutations in the run ledger."""
    if not isinstance(plan, Plan):
        raise TypeError(f"a fault's plan function must return a Plan, not {type(plan).__name__}")
    enforce(configuration, secrets, plan.targets, plan.shares)
    if plan.calls:
        preflight.check(plan.calls, configuration, secrets, name)
    else:
        logger.warning(f"chaos-sre: {name} lists no planned calls: the runner's permissions are "
                       "not checked before it starts")
    if dry_run:
        logger.info(f"chaos-sre dry run: would {plan.action or dict(plan.summary)}")
        return {"dry_run": True, **plan.summary}
    applied = plan.apply(ledgers.current_ledger(configuration or {}))
    return {"dry_run": False, **plan.summary, **(applied or {})}


def public_signature(plan: PlanFunction) -> inspect.Signature:
    """The plan function's signature with ``dry_run: bool = False`` before the injected
    arguments, returning a dict: the Chaos Toolkit action's."""
    parameters = list(inspect.signature(plan).parameters.values())
    if DRY_RUN in {p.name for p in parameters}:
        raise TypeError(f"{plan.__module__}.{plan.__name__}: the framework adds {DRY_RUN}; the "
                        "plan function does not take it")
    at = next((i for i, p in enumerate(parameters) if p.name in INJECTED), len(parameters))
    dry_run = inspect.Parameter(DRY_RUN, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False,
                                annotation=bool)
    return inspect.Signature([*parameters[:at], dry_run, *parameters[at:]],
                             return_annotation=dict[str, Any])


def argument_model(function: Callable[..., Any],
                   signature: inspect.Signature | None = None) -> type[pydantic.BaseModel]:
    """A pydantic model of ``function``'s domain arguments (its type hints and defaults; those of
    ``signature`` when given)."""
    hints = {**typing.get_type_hints(function, include_extras=True), DRY_RUN: bool}
    fields: dict[str, Any] = {}
    for parameter in (signature or inspect.signature(function)).parameters.values():
        if parameter.name in INJECTED:
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints.get(parameter.name, Any), default)
    return pydantic.create_model(f"{function.__name__}_arguments", __config__=STRICT, **fields)


def checked_arguments(model: type[pydantic.BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce ``values`` with ``model``; the first problem as a one-line error
    (:func:`chaos_sre.validation.problem`: ``argument count: expected ..., got ...``)."""
    try:
        parsed = model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise ArgumentError(problem(model, exc, values, label="argument")) from None
    return {key: getattr(parsed, key) for key in model.model_fields}


@functools.cache
def fault_modules() -> tuple[str, ...]:
    """The modules of every fault family: chaos-sre's own and other packages' (entry points)."""
    found = {entry.value.split(":", 1)[0] for entry in entry_points(group=ENTRY_POINT_GROUP)}
    return tuple(sorted(found))


def _verify(found: Fault) -> None:
    """Refuse a fault whose declaration lacks a part (once per fault)."""
    key = (found.module, found.name)
    if key in _VERIFIED:
        return
    problem = found.incomplete()
    if problem:
        raise ValidationError(f"fault {found.module}.{found.name} {problem}")
    _VERIFIED.add(key)


def _imported(module: str) -> None:
    """Import a fault module and refuse it when one of its faults lacks a part."""
    importlib.import_module(module)
    for (owner, _), found in list(_FAULTS.items()):
        if owner == module:
            _verify(found)


def load() -> dict[tuple[str, str], Fault]:
    """Import every fault module (registering its faults and inverses); the faults by (module,
    name). A module that cannot be imported, or whose fault lacks a part, is a one-line
    ValidationError naming it."""
    for module in fault_modules():
        try:
            _imported(module)
        except ImportError as exc:
            raise ValidationError(f"fault module {module} (entry point group "
                                  f"{ENTRY_POINT_GROUP}) cannot be imported: {exc}") from None
    return dict(_FAULTS)


def find(module: str, name: str) -> Fault | None:
    """The registered fault ``module.name``, or None when that is not a fault (a fault that
    lacks a part is a one-line ValidationError)."""
    if module not in fault_modules() and (module, name) not in _FAULTS:
        return None
    try:
        _imported(module)
    except ImportError:
        return None
    return _FAULTS.get((module, name))


def is_fault_module(module: str) -> bool:
    """Whether ``module`` is a registered fault family's module."""
    return module in fault_modules()
