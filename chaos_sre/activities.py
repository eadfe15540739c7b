"""An experiment's activities, and their arguments checked against what each function declares.

A registered fault is checked by its argument model (as at run time); any other
chaos-sre function by its signature and type hints. ``${name}`` references are
resolved from the configuration first, as Chaos Toolkit resolves them. Used by
``chaos-sre validate`` and by the control before a run starts.
"""

import importlib
import inspect
import types
import typing
from typing import Any

from chaos_sre import values
from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import INJECTED
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.validation import described

TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def activities(experiment: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, activity) for every activity of the hypothesis, method and rollbacks."""
    found: list[tuple[str, dict[str, Any]]] = []
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for index, probe in enumerate(hypothesis.get("probes") or []):
        found.append((f"steady-state-hypothesis.probes[{index}]", probe))
    for section in ("method", "rollbacks"):
        for index, activity in enumerate(experiment.get(section) or []):
            found.append((f"{section}[{index}]", activity))
    return [(w, a) for w, a in found if isinstance(a, dict)]


def substituted(value: Any, configuration: dict[str, Any], where: str) -> Any:
    """``value`` with a whole-value ``${name}`` reference replaced from the configuration."""
    name = values.reference_name(value)
    if name is not None:
        if name not in configuration:
            raise ValidationError(f"{where}: refers to ${{{name}}}, which the configuration does "
                                  "not define")
        return configuration[name]
    return value


def check_activity(activity: dict[str, Any], configuration: dict[str, Any], where: str) -> None:
    """Check a chaos-sre activity's arguments against its function's signature."""
    provider = activity.get("provider")
    if not isinstance(provider, dict) or provider.get("type") != "python":
        return
    module_name = str(provider.get("module", ""))
    fault = find_fault(module_name, str(provider.get("func")))
    if fault is None and not module_name.startswith("chaos_sre."):
        return
    name = activity.get("name", "?")
    where = f"{where} ({name})"
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise ValidationError(f"{where}: arguments must be an object")
    if fault is not None:  # a registered fault: its argument model, as at run time
        try:
            fault.arguments({key: substituted(value, configuration, f"{where} argument {key}")
                             for key, value in arguments.items()})
        except ValidationError as exc:
            raise ValidationError(f"{where} {exc}"[:600]) from None
        return
    function = getattr(importlib.import_module(module_name), str(provider.get("func")), None)
    if function is None:
        raise ValidationError(f"{where}: {module_name} has no function {provider.get('func')!r}")
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function)
    unknown = sorted(set(arguments) - set(signature.parameters) | set(arguments) & set(INJECTED))
    if unknown:
        known = ", ".join(p for p in signature.parameters if p not in INJECTED)
        raise ValidationError(f"{where}: unknown argument {unknown[0]!r} (it takes: {known})")
    for parameter in signature.parameters.values():
        if parameter.name in INJECTED:
            continue
        if parameter.name not in arguments:
            if parameter.default is inspect.Parameter.empty:
                raise ValidationError(f"{where}: argument {parameter.name} is required")
            continue
        field = f"{where} argument {parameter.name}"
        value = substituted(arguments[parameter.name], configuration, field)
        expected = hints.get(parameter.name)
        if expected is not None and not matches(value, expected):
            raise ValidationError(f"{field}: expected {described(expected)}, got {value!r}"[:600])


def matches(value: Any, expected: Any) -> bool:
    """Whether ``value`` (as written in an experiment) fits the type hint ``expected``."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is Any:
        return True
    if expected is bool:
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in TRUE + FALSE)
    if expected in (int, float):
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return expected is float or float(value).is_integer()
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return False
            return expected is float or number.is_integer()
        return False
    if expected is str:
        return isinstance(value, str)
    if origin is list or expected is list:
        args = typing.get_args(expected)
        return isinstance(value, list) and (not args or all(matches(v, args[0]) for v in value))
    if origin is dict or expected is dict:
        args = typing.get_args(expected)
        return isinstance(value, dict) and (not args or all(
            matches(k, args[0]) and matches(v, args[1]) for k, v in value.items()))
    return True
