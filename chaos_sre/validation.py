"""One validation layer for every file and argument a user writes.

Each kind of document - a fault's arguments, the control's settings, a game-day plan, a
guardrails file - is a pydantic model, and every problem it finds becomes one line the same
way: where the value is (``experiments[0].environment``, ``argument count``), what was expected
and what was given::

    plan.yaml: stop.max_budget_spent: expected a number from 0 (excluded) to 1, got 5
    guardrails file g.yaml: max_percent: expected a number, got true

:func:`checked` validates and raises :class:`~chaos_sre.errors.ValidationError` with that line
(the source first); :func:`problem` gives the line without the source, for callers that say
where differently. Types that users write in more than one form live here too (:data:`Number`,
:data:`WholeNumber`).
"""

import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import pydantic

from chaos_sre.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)
TYPE_ERRORS = ("_type", "_parsing", "_from_float", "_from_datetime", "finite_number")
"""pydantic error types that mean "not a value of that type" (said as "expected TYPE")."""
SHOWN = 80
"""How much of a bad value a line shows."""


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


Number = Annotated[float, pydantic.BeforeValidator(_not_a_bool),
                   pydantic.Field(allow_inf_nan=False)]
"""A finite number (a string of one is read as one; true and false are refused)."""
WholeNumber = Annotated[int, pydantic.BeforeValidator(_not_a_bool)]
"""A whole number ("3" and 3.0 are read as 3; 3.5, true and false are refused)."""
STRICT = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
"""The configuration of every user document's model: an unknown key is a mistake."""


def location(parts: Sequence[int | str]) -> str:
    """``experiments[0].environment`` for the location ("experiments", 0, "environment")."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
         dict: "a mapping", list: "a list", type(None): "null"}


def _unwrapped(annotation: Any) -> Any:
    """The type under ``Annotated[...]``."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def described(annotation: Any) -> str:
    """``a mapping or a string or null``: a type hint as the one-line errors name it."""
    annotation = _unwrapped(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(described(option) for option in typing.get_args(annotation)))
    if origin is typing.Literal:
        return " or ".join(repr(option) for option in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return "a mapping"
    if origin in (dict, list):
        return NAMES[origin]
    return NAMES.get(annotation, str(getattr(annotation, "__name__", annotation)))


def _inner(annotation: Any, part: int | str) -> Any:
    """The type hint of ``annotation``'s member ``part`` (a field, a list item, a map value)."""
    annotation = _unwrapped(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [_inner(option, part) for option in typing.get_args(annotation)]
        found = [f for f in found if f is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        field = annotation.model_fields.get(str(part))
        return None if field is None else field.annotation
    if origin is list and isinstance(part, int):
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def _path(loc: Sequence[int | str], data: Any, kind: str) -> list[int | str]:
    """The part of a pydantic location that is in the user's document (pydantic adds the names
    of union members and validators after it); a missing key's name is kept."""
    parts: list[int | str] = []
    current = data
    for index, part in enumerate(loc):
        indexes = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if indexes or (isinstance(current, dict) and part in current):
            current = current[part]
        else:
            if kind == "missing" and index == len(loc) - 1 and isinstance(part, str):
                parts.append(part)
            break
        parts.append(part)
    return parts


CONSTRAINTS = {"greater_than": "more than {gt}", "greater_than_equal": "at least {ge}",
               "less_than": "less than {lt}", "less_than_equal": "at most {le}",
               "too_short": "at least {min_length} item(s)",
               "too_long": "at most {max_length} item(s)",
               "string_too_short": "at least {min_length} character(s)",
               "literal_error": "{expected}"}
"""How a broken constraint is said: ``expected at most 1, got 5``."""


def problem(model: type[pydantic.BaseModel], exc: pydantic.ValidationError, data: Any,
            label: str = "") -> str:
    """The first problem of ``exc`` (validating ``data``) as one line: ``PATH: expected WHAT,
    got VALUE`` (no path: the document itself), ``PATH is required``, ``unknown key NAME (known:
    ...)``. ``label`` names what the top-level keys are (``argument``: ``argument count: ...``)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = str(first["type"])
    parts = _path(first["loc"], data, kind)

    def named(at: Sequence[int | str]) -> str:
        return f"{label} {location(at)}" if label and at else location(at)

    annotation: Any = model
    for part in parts:
        annotation = None if annotation is None else _inner(annotation, part)
    if kind == "extra_forbidden":
        owner: Any = model
        for part in parts[:-1]:
            owner = None if owner is None else _inner(owner, part)
        owner = _unwrapped(owner)
        known = ", ".join(owner.model_fields) if isinstance(owner, type) \
            and issubclass(owner, pydantic.BaseModel) else ""
        what = f"{named(parts[:-1])}: unknown key" if len(parts) > 1 else f"unknown {label or 'key'}"
        return f"{what} {parts[-1]!r}" + (f" (known: {known})" if known else "")
    if kind == "missing":
        return f"{named(parts)} is required"
    where = f"{named(parts)}: " if parts else ""
    given = _shown(first.get("input"))
    if kind in CONSTRAINTS:
        limits = {k: f"{v:g}" if isinstance(v, float) else v for k, v in first.get("ctx", {}).items()}
        return f"{where}expected {CONSTRAINTS[kind].format(**limits)}, got {given}"
    same_value = len({tuple(e["loc"][:len(parts)]) for e in errors}) == 1 < len(errors)
    if annotation is not None and (kind.endswith(TYPE_ERRORS) or kind == "model_type" or same_value):
        return f"{where}expected {described(annotation)}, got {given}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}{message[0].lower()}{message[1:]}, got {given}"


def checked(model: type[M], data: Any, source: str) -> M:
    """``data`` as a ``model``; a one-line ValidationError ``SOURCE: PATH: ...`` when it is not."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{source}: {problem(model, exc, data)}") from None
