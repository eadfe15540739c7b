"""An experiment's activities, and their arguments checked against what each function declares.

A registered fault is checked by its argument model (as at run time); any other
chaos-sre function by the model of its signature and type hints. ``${name}`` references
are resolved from the configuration first (:func:`chaos_sre.values.resolved`), as Chaos
Toolkit resolves them. Used by
``chaos-sre validate`` and by the control before a run starts.
"""

import functools
import importlib
from collections.abc import Callable
from typing import Any

import pydantic

from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import argument_model, checked_arguments
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.values import resolved


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


def check_activity(activity: dict[str, Any], configuration: dict[str, Any], where: str) -> None:
    """Check a chaos-sre activity's arguments against its function: a registered fault's argument
    model, or the model of any other chaos-sre function's signature and type hints (the same
    layer: :mod:`chaos_sre.validation`)."""
    provider = activity.get("provider")
    if not isinstance(provider, dict) or provider.get("type") != "python":
        return
    module_name = str(provider.get("module", ""))
    fault = find_fault(module_name, str(provider.get("func")))
    if fault is None and not module_name.startswith("chaos_sre."):
        return
    where = f"{where} ({activity.get('name', '?')})"
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise ValidationError(f"{where}: arguments must be an object")
    values = {key: resolved(value, configuration, f"{where} argument {key}")
              for key, value in arguments.items()}
    if fault is not None:  # a registered fault: its argument model, as at run time
        model = fault.model
    else:
        function = getattr(importlib.import_module(module_name), str(provider.get("func")), None)
        if function is None:
            raise ValidationError(f"{where}: {module_name} has no function {provider.get('func')!r}")
        model = _model_of(function)
    try:
        checked_arguments(model, values)
    except ValidationError as exc:
        raise ValidationError(f"{where} {exc}"[:600]) from None


@functools.cache
def _model_of(function: Callable[..., Any]) -> type[pydantic.BaseModel]:
    return argument_model(function)
