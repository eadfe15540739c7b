"""Small parsers for values users write in experiments, settings and rules.

Each refuses bad input with a one-line :class:`ValidationError` that names the
value, so every caller reports the same way.
"""

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

import pydantic

from chaos_sre.errors import ValidationError

PositiveSeconds = Annotated[float, pydantic.Field(gt=0, allow_inf_nan=False)]
"""An argument model's finite number of seconds greater than 0."""


def number(what: str, value: Any) -> float:
    """``value`` as a float, or ``ValidationError("<what> must be a number, got <value>")``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be a number, got {value!r}") from None


TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")
"""How an environment variable says true or false."""
REFERENCE = re.compile(r"\$\{([^}]+)\}")
"""A configuration reference, ``${name}``, as Chaos Toolkit writes them."""


def resolved(value: Any, configuration: Mapping[str, Any], where: str) -> Any:
    """``value`` with its ``${name}`` references replaced from ``configuration`` as Chaos Toolkit
    replaces them - a whole-value reference by the configured value itself (any type), one
    inside a string by its text, in lists and mappings too. The one resolver of chaos-sre's
    checks: a name the configuration does not define is a one-line ValidationError naming
    ``where``."""
    if isinstance(value, str):
        missing = [name for name in REFERENCE.findall(value) if name not in configuration]
        if missing:
            raise ValidationError(f"{where}: refers to ${{{missing[0]}}}, which the configuration "
                                  "does not define")
        whole = reference_name(value)
        if whole is not None:
            return configuration[whole]
        return REFERENCE.sub(lambda found: str(configuration[found.group(1)]), value)
    if isinstance(value, list):
        return [resolved(item, configuration, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: resolved(item, configuration, f"{where}.{key}") for key, item in value.items()}
    return value


def reference_name(value: Any) -> str | None:
    """The NAME of a whole-value configuration reference ``"${NAME}"``, else None."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}") \
            and value.count("${") == 1:
        return value[2:-1]
    return None


def mapping(what: str, value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, ``{}`` when absent; anything else a one-line error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a mapping, got {type(value).__name__}")
    return value


def positive_seconds(name: str, value: Any) -> float:
    """``value`` as a finite number of seconds greater than 0, or a one-line ValidationError."""
    seconds = number(name, value)
    if not seconds > 0 or math.isinf(seconds):
        raise ValidationError(f"{name} must be greater than 0, got {value!r}")
    return seconds
