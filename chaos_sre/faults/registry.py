"""The fault registry: every fault declared once, found by discovery, validation, the control,
rollback and ``chaos-sre iam policy`` alike.

A fault is a Chaos Toolkit action decorated with :func:`fault`::

    @fault(permissions=[Permission("ec2:TerminateInstances", "arn:aws:ec2:*:*:instance/*")],
           reads=[Permission("ec2:DescribeInstances")], inverses=("start_instances",))
    def terminate_az_instances(az: str, ..., dry_run: bool = False,
                               configuration=None, secrets=None) -> dict: ...

The function's signature is its argument model: :func:`fault` builds a pydantic
model from the type hints and defaults, and every call - from ``chaos run``, a
game day or ``chaos-sre validate`` - goes through it, so the runtime and the
validator accept exactly the same values, coerced the same way ("3" becomes 3,
"true" becomes True), and a bad one is a one-line :class:`ArgumentError`
naming the argument. The signature and docstring are also what
``chaos discover`` shows.

Fault modules are found through the ``chaos_sre.faults`` entry-point group, so
another package adds a fault family with one module and one line of its own
packaging metadata::

    [project.entry-points."chaos_sre.faults"]
    lambda = "mypackage.lambda_faults"

Importing a module registers its faults (:func:`fault`) and the inverse
operations its ledger entries name (:func:`chaos_sre.safety.ledger.inverse`).
"""

import functools
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pydantic

from chaos_sre.errors import ArgumentError, ValidationError
from chaos_sre.permissions import Permission

__all__ = ["Fault", "Permission", "fault", "fault_modules", "find", "load"]

ENTRY_POINT_GROUP = "chaos_sre.faults"
INJECTED = ("configuration", "secrets")
TYPE_ERRORS = ("_type", "_parsing", "_from_float", "_from_datetime")
"""pydantic error types that mean "not a value of that type" (said as "expected TYPE")."""
"""Arguments Chaos Toolkit passes itself; never part of a fault's argument model."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Fault:
    """A registered fault: its action function, argument model and IAM permissions."""

    name: str
    module: str
    function: Callable[..., Any]
    model: type[pydantic.BaseModel]
    permissions: tuple[Permission, ...]
    """What it mutates with (and what its inverses restore with)."""
    reads: tuple[Permission, ...] = ()
    """What it resolves its targets with (read-only calls; also a dry run's and validate's)."""
    inverses: tuple[str, ...] = field(default=())
    """The inverse operations its ledger intents name."""

    def arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` checked and coerced by the argument model (one-line ArgumentError
        ``argument NAME: ...``)."""
        return checked_arguments(self.model, values)


_FAULTS: dict[tuple[str, str], Fault] = {}


def fault(*, permissions: Iterable[Permission], reads: Iterable[Permission] = (),
          inverses: Iterable[str] = ()) -> Callable[[F], F]:
    """Declare a fault: register it and check every call's arguments against its signature."""
    def register(function: F) -> F:
        model = argument_model(function)
        signature = inspect.signature(function)

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            domain = {k: v for k, v in bound.arguments.items() if k not in INJECTED}
            injected = {k: v for k, v in bound.arguments.items() if k in INJECTED}
            try:
                arguments = checked_arguments(model, domain)
            except ArgumentError as exc:
                raise ArgumentError(f"{function.__name__}: {exc}") from None
            return function(**arguments, **injected)

        _FAULTS[(function.__module__, function.__name__)] = Fault(
            name=function.__name__, module=function.__module__, function=checked, model=model,
            permissions=tuple(permissions), reads=tuple(reads), inverses=tuple(inverses))
        return typing.cast(F, checked)
    return register


def argument_model(function: Callable[..., Any]) -> type[pydantic.BaseModel]:
    """A pydantic model of ``function``'s domain arguments (its type hints and defaults)."""
    hints = typing.get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name in INJECTED:
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints.get(parameter.name, Any), default)
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return pydantic.create_model(f"{function.__name__}_arguments", __config__=config, **fields)


def checked_arguments(model: type[pydantic.BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce ``values`` with ``model``; the first problem as a one-line error."""
    try:
        parsed = model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise ArgumentError(_first_problem(model, exc)) from None
    return {key: getattr(parsed, key) for key in model.model_fields}


def _first_problem(model: type[pydantic.BaseModel], exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    argument = str(first["loc"][0]) if first["loc"] else "?"
    if first["type"] == "extra_forbidden":
        known = ", ".join(model.model_fields)
        return f"unknown argument {argument!r} (it takes: {known})"
    if first["type"] == "missing":
        return f"argument {argument} is required"
    shown = repr(first.get("input"))
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    about_it = [e for e in errors if e["loc"] and str(e["loc"][0]) == argument]
    wrong_type = len(about_it) > 1 or str(first["type"]).endswith(TYPE_ERRORS)
    if wrong_type and argument in model.model_fields:  # (several: one per member of a union)
        expected = described(model.model_fields[argument].annotation)
        return f"argument {argument}: expected {expected}, got {shown}"
    return f"argument {argument}: {first['msg'][0].lower()}{first['msg'][1:]}, got {shown}"


def described(annotation: Any) -> str:
    """``dict[str, str] or str or null``: a type hint as the one-line errors name it."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(described(option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation):
        return str(annotation).replace("typing.", "")
    return str(getattr(annotation, "__name__", annotation))


@functools.cache
def fault_modules() -> tuple[str, ...]:
    """The modules of every fault family: chaos-sre's own and other packages' (entry points)."""
    found = {entry.value.split(":", 1)[0] for entry in entry_points(group=ENTRY_POINT_GROUP)}
    return tuple(sorted(found))


def load() -> dict[tuple[str, str], Fault]:
    """Import every fault module (registering its faults and inverses); the faults by (module,
    name). A module that cannot be imported is a one-line ValidationError naming it."""
    for module in fault_modules():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValidationError(f"fault module {module} (entry point group "
                                  f"{ENTRY_POINT_GROUP}) cannot be imported: {exc}") from None
    return dict(_FAULTS)


def find(module: str, name: str) -> Fault | None:
    """The registered fault ``module.name``, or None when that is not a fault."""
    if module not in fault_modules() and (module, name) not in _FAULTS:
        return None
    try:
        importlib.import_module(module)
    except ImportError:
        return None
    return _FAULTS.get((module, name))


def is_fault_module(module: str) -> bool:
    """Whether ``module`` is a registered fault family's module."""
    return module in fault_modules()
