"""Small parsers for values users write in experiments, settings and rules.

Each refuses bad input with a one-line :class:`ValidationError` that names the
value, so every caller reports the same way.
"""

import math
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
