"""``chaos-sre validate FILE``: refuse a bad experiment or SLO file in one line, before anything runs.

An experiment goes through, in order:

1. reading: JSON or YAML, an object;
2. Chaos Toolkit's own validation (required keys, activities, that each
   Python activity's module and function exist and take its argument names);
3. the arguments of every chaos-sre activity (and of every fault another
   package registered) after resolving ``${name}`` from the configuration,
   environment defaults included: a fault's through its argument model - the
   very check and coercion its call makes at run time
   (:mod:`chaos_sre.faults.registry`) - a probe's against its signature's type
   hints: unknown or missing arguments, values of the wrong type;
4. the chaos-sre control's arguments and its SLO file;
5. the guardrails (configuration and ``$CHAOS_SRE_GUARDRAILS``);
6. unless offline: every chaos-sre fault of the method as a dry run - its
   targets resolved with read-only calls and checked against the guardrails,
   in the account the environment points at.

An SLO file (``.yaml`` with ``kind: SLO``) gets the SLO checks alone. Every
problem is a :class:`ValidationError` whose one line names the file, the field
and what is wrong. Validating changes nothing: offline it makes no AWS call at
all, online only read calls (and STS GetCallerIdentity for a guardrail).
"""

import json
import logging
import os
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid

from chaos_sre.activities import activities, check_activity
from chaos_sre.control.flags import check_flags, effective_flags
from chaos_sre.control.settings import control_settings
from chaos_sre.documents import read_document
from chaos_sre.errors import ChaosSreError, ValidationError
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.safety.guardrails import load as load_guardrails
from chaos_sre.slo.definition import load_slo
from chaos_sre.values import FALSE, TRUE, resolved
from chaos_sre.verdicts import CONTROL_MODULE


def validate_file(path: str | Path, *, offline: bool = True) -> str:
    """Validate an experiment or SLO file; return what it is, or raise a one-line error.

    With ``offline=False`` an experiment's faults are also resolved as dry runs.
    """
    path = Path(path)
    document = read_document(path)
    if isinstance(document, dict) and document.get("kind") == "SLO":
        try:
            load_slo(str(path))
        except ChaosSreError as exc:
            raise ValidationError(_prefixed(path, str(exc))) from None
        return "SLO"
    validate_experiment(document, str(path))
    if not offline:
        resolved = resolve_targets(document, str(path))
        return f"experiment, {resolved} fault(s) resolved read-only"
    return "experiment"


def _prefixed(path: Path | str, message: str) -> str:
    return message if message.startswith(str(path)) else f"{path}: {message}"


def validate_experiment(experiment: Any, source: str) -> None:
    """Run every check on an experiment document (see the module docstring)."""
    if not isinstance(experiment, dict):
        raise ValidationError(f"{source}: an experiment must be an object, got "
                              f"{type(experiment).__name__}")
    configuration = resolved_configuration(experiment.get("configuration"), source)
    _chaos_toolkit_checks(experiment, source)
    for where, activity in activities(experiment):
        check_activity(activity, configuration, f"{source}: {where}")
    for index, control in enumerate(experiment.get("controls") or []):
        provider = control.get("provider") if isinstance(control, dict) else None
        if isinstance(provider, dict) and provider.get("module") == CONTROL_MODULE:
            _check_control(provider.get("arguments") or {}, configuration,
                           f"{source}: controls[{index}]",
                           Path(source) if Path(source).is_file() else None)
            try:
                check_flags(effective_flags(experiment))
            except ValidationError as exc:
                raise ValidationError(f"{source}: {exc}") from None
    try:
        load_guardrails(configuration)
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


def resolve_targets(experiment: dict[str, Any], source: str) -> int:
    """Dry-run every chaos-sre fault of the method (read-only resolution and guardrails)."""
    configuration = resolved_configuration(experiment.get("configuration"), source)
    planned = 0
    for where, activity in activities(experiment):
        provider = activity.get("provider") or {}
        fault = find_fault(str(provider.get("module", "")), str(provider.get("func")))
        if not where.startswith("method") or fault is None:
            continue
        function = fault.function
        arguments = {name: resolved(value, configuration, where)
                     for name, value in (provider.get("arguments") or {}).items()}
        arguments.update(dry_run=True, configuration=configuration)
        try:
            function(**arguments)
        except ChaosSreError as exc:
            raise ValidationError(f"{source}: {where} ({activity.get('name', '?')}): {exc}") from None
        planned += 1
    return planned


def _chaos_toolkit_checks(experiment: dict[str, Any], source: str) -> None:
    chaoslib_logger = logging.getLogger("chaostoolkit")
    level = chaoslib_logger.level
    chaoslib_logger.setLevel(logging.CRITICAL)  # its own error log would repeat our one line
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ValidationError(f"{source}: {_one_line(str(exc))}") from None
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        raise ValidationError(f"{source}: Chaos Toolkit cannot read it: a field has the wrong shape "
                              f"({type(exc).__name__}: {_one_line(str(exc))})") from None
    finally:
        chaoslib_logger.setLevel(level)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def resolved_configuration(configuration: Any, source: str) -> dict[str, Any]:
    """The configuration's values as a run would see them (environment entries resolved)."""
    if configuration in (None, {}):
        return {}
    if not isinstance(configuration, dict):
        raise ValidationError(f"{source}: configuration must be an object")
    resolved: dict[str, Any] = {}
    for name, value in configuration.items():
        if isinstance(value, dict) and value.get("type") == "env":
            key = value.get("key")
            raw = os.environ.get(str(key), value.get("default"))
            if raw is None:
                raise ValidationError(f"{source}: configuration {name}: environment variable "
                                      f"{key} is not set and has no default")
            resolved[name] = _env_typed(raw, value.get("env_var_type"), f"{source}: configuration {name}")
        else:
            resolved[name] = value
    return resolved


def _env_typed(raw: Any, kind: Any, where: str) -> Any:
    if kind in (None, "str"):
        return raw
    text = str(raw).strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ValidationError(f"{where}: {raw!r} is not a {kind}") from None
    if kind == "bool":
        if text.lower() in TRUE + FALSE:
            return text.lower() in TRUE
        raise ValidationError(f"{where}: {raw!r} is not a bool (true or false)")
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValidationError(f"{where}: {raw!r} is not JSON") from None
    return raw


def _check_control(arguments: Any, configuration: dict[str, Any], where: str,
                   experiment_file: Path | None) -> None:
    if not isinstance(arguments, dict):
        raise ValidationError(f"{where}: the chaos-sre control's arguments must be an object")
    try:
        control_settings(arguments, configuration, experiment_file=experiment_file)
    except ChaosSreError as exc:
        raise ValidationError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ValidationError(f"{where}: the chaos-sre control's arguments: {exc}") from None
