"""How CloudWatch decides an alarm's state, as pure functions the lab's evaluation uses.

* A metric alarm over metric math ("Create a CloudWatch alarm based on a metric math
  expression"): each ``MetricStat`` is a statistic over the last period, the expression that
  ``ReturnData`` is computed from them - ``+ - * /``, parentheses, numbers, query ids and
  ``FILL(id, value)`` (a missing datapoint filled with the value) - and compared with the
  threshold by the ``ComparisonOperator``. No value (no datapoint, a division by zero) is
  missing data, treated as ``TreatMissingData`` says: ``notBreaching`` OK, ``breaching``
  ALARM, ``ignore`` and ``missing`` keep or set INSUFFICIENT_DATA.
* A composite alarm's rule ("PutCompositeAlarm": ``ALARM("name")``, ``OK("name")``,
  ``INSUFFICIENT_DATA("name")``, ``TRUE``, ``FALSE``, ``AND``, ``OR``, ``NOT``, parentheses)
  over the states of the alarms it names: ALARM when the rule is true, else OK.

The lab evaluates the metric functions it needs; anything else in an expression is refused
(:class:`Unsupported`) rather than guessed.
"""

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_TOKEN = re.compile(r'\s*(?:(\d+(?:\.\d*)?)|([A-Za-z_][A-Za-z0-9_]*)|("[^"]*")|(.))')


class Unsupported(ValueError):
    """An expression or rule the lab does not evaluate."""


def _tokens(text: str) -> list[str]:
    found = [next(group for group in match.groups() if group is not None)
             for match in _TOKEN.finditer(text) if match.group(0).strip()]
    return found


class _Parser:
    """A recursive-descent reader over tokens (one per expression or rule)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"{self.text!r}: expected {expected or 'more'} at token {self.at + 1}")
        self.at += 1
        return token

    def done(self) -> None:
        if self.peek() is not None:
            raise Unsupported(f"{self.text!r}: unexpected {self.peek()!r}")


def expression_value(expression: str, values: Mapping[str, float | None]) -> float | None:
    """The value of a metric math ``expression`` over the queries' ``values`` (None: missing)."""
    parser = _Parser(expression)
    found = _sum(parser, values)
    parser.done()
    return found


Value = float | None
"""A metric math value; None is missing data, which spreads through arithmetic."""


def _arithmetic(operation: Callable[[float, float], float]) -> Callable[[Value, Value], Value]:
    def combine(left: Value, right: Value) -> Value:
        if left is None or right is None:
            return None
        try:
            return operation(left, right)
        except ZeroDivisionError:
            return None
    return combine


TERMS = {"+": _arithmetic(lambda a, b: a + b), "-": _arithmetic(lambda a, b: a - b)}
FACTORS = {"*": _arithmetic(lambda a, b: a * b), "/": _arithmetic(lambda a, b: a / b)}
EITHER = {"OR": lambda a, b: a or b}
BOTH = {"AND": lambda a, b: a and b}
T = TypeVar("T")


def _chain(parser: _Parser, operators: Mapping[str, Callable[[T, T], T]], operand: Callable[[], T]) -> T:
    """``operand (operator operand)*``, combined left to right."""
    value = operand()
    while parser.peek() in operators:
        combine = operators[parser.take()]
        value = combine(value, operand())
    return value


def _sum(parser: _Parser, values: Mapping[str, Value]) -> Value:
    return _chain(parser, TERMS, lambda: _chain(parser, FACTORS, lambda: _operand(parser, values)))


def _operand(parser: _Parser, values: Mapping[str, float | None]) -> float | None:
    token = parser.take()
    if token == "(":
        inner = _sum(parser, values)
        parser.take(")")
        return inner
    if re.fullmatch(r"\d+(?:\.\d*)?", token):
        return float(token)
    if token == "FILL":
        parser.take("(")
        name = parser.take()
        parser.take(",")
        fill = float(parser.take())
        parser.take(")")
        value = _query(parser, values, name)
        return fill if value is None else value
    if parser.peek() == "(":
        raise Unsupported(f"{parser.text!r}: the lab does not evaluate {token}()")
    return _query(parser, values, token)


def _query(parser: _Parser, values: Mapping[str, float | None], name: str) -> float | None:
    if name not in values:
        raise Unsupported(f"{parser.text!r}: no query {name!r}")
    return values[name]


def metric_alarm_state(value: float | None, comparison: str, threshold: float,
                       treat_missing_data: str | None, current: str) -> str:
    """The state a metric alarm takes for its evaluated ``value`` (None: missing data)."""
    if value is None:
        treat = treat_missing_data or "missing"
        if treat == "notBreaching":
            return OK
        if treat == "breaching":
            return ALARM
        return current if treat == "ignore" else INSUFFICIENT_DATA
    compare = COMPARISONS.get(comparison)
    if compare is None:
        raise Unsupported(f"comparison {comparison!r}")
    return ALARM if compare(value, threshold) else OK


def composite_state(rule: str, states: Mapping[str, str]) -> str:
    """ALARM when ``rule`` holds over the named alarms' ``states``, else OK."""
    parser = _Parser(rule)
    holds = _either(parser, states)
    parser.done()
    return ALARM if holds else OK


def _either(parser: _Parser, states: Mapping[str, str]) -> bool:
    return _chain(parser, EITHER, lambda: _chain(parser, BOTH, lambda: _term(parser, states)))


def _term(parser: _Parser, states: Mapping[str, str]) -> bool:
    token = parser.take()
    if token == "NOT":
        return not _term(parser, states)
    if token == "(":
        inner = _either(parser, states)
        parser.take(")")
        return inner
    if token in ("TRUE", "FALSE"):
        return token == "TRUE"
    if token in (ALARM, OK, INSUFFICIENT_DATA):
        parser.take("(")
        quoted = parser.take()
        parser.take(")")
        name = quoted.strip('"')
        return states.get(name, INSUFFICIENT_DATA) == token
    raise Unsupported(f"{parser.text!r}: unexpected {token!r}")
