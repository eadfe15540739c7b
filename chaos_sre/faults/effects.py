"""Did the fault take effect? Each fault family says how to tell, per ledger operation.

A fault action that "succeeds" may change nothing that matters: the instances
were already gone, a scaler put the desired count back, burst capacity absorbed
a throttle. A verdict drawn from such a run says the service survived a fault
it never met. So each family registers, next to its inverses, a check per
operation it records in the run ledger::

    @effect_check("set-desired-count")
    def _tasks_at_zero(intent, outcome, configuration, secrets) -> str | None:
        ...  # None when the effect shows, else one sentence saying what is missing

The control runs the checks once the method is over, while the fault is still
live (before the rollbacks), over every intent of the run that acts on the
service and was not refused. A check registered with ``settled=True`` runs once
the service has settled instead, for evidence that shows late: a throttle that
burst capacity first absorbs, or CloudWatch datapoints published after the hold.
A run whose checks say "no effect", or whose faults recorded no operation any
check covers, gets an INCONCLUSIVE verdict. Actions that are not chaos-sre faults
(chaostoolkit-aws's, say) record nothing in the ledger: chaos-sre verifies the
ones it knows from what they return (:func:`output_check`, in
:mod:`chaos_sre.faults.foreign`); a run whose only faults are others leaves the
verdict INCONCLUSIVE, because nothing showed the fault took effect.
"""

from collections.abc import Callable, Iterable
from typing import Any

from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.safety.ledger import Ledger

EffectCheck = Callable[[dict[str, Any], Any, dict[str, Any] | None, dict[str, Any] | None],
                       str | None]
"""(intent entry, its ``done`` outcome, configuration, secrets) -> None, or why no effect."""

OutputCheck = Callable[[Any, dict[str, Any] | None, dict[str, Any] | None], str | None]
"""(an action's output, configuration, secrets) -> None, or why it shows no effect."""

LIVE, SETTLED = "live", "settled"
_CHECKS: dict[tuple[str, str], EffectCheck] = {}
_OUTPUT_CHECKS: dict[tuple[str, str], OutputCheck] = {}


def effect_check(*operations: str, settled: bool = False) -> Callable[[EffectCheck], EffectCheck]:
    """Register the check telling whether ledger ``operations`` took effect (run while the fault
    is live, or with ``settled`` once the service has settled)."""
    def register(check: EffectCheck) -> EffectCheck:
        for operation in operations:
            key = (operation, SETTLED if settled else LIVE)
            known = _CHECKS.get(key)
            if known is not None and known.__module__ != check.__module__:
                raise ValidationError(
                    f"ledger operation {operation!r} has an effect check in {known.__module__} "
                    f"already; {check.__module__} must name its operations otherwise")
            _CHECKS[key] = check
        return check
    return register


def is_checked(operation: str) -> bool:
    """Whether an effect check runs for ledger ``operation`` while the fault is live."""
    return (operation, LIVE) in _CHECKS


def output_check(module: str, func: str) -> Callable[[OutputCheck], OutputCheck]:
    """Register the check telling, from its output, whether another extension's action
    ``module.func`` took effect (run while the fault is live)."""
    def register(check: OutputCheck) -> OutputCheck:
        _OUTPUT_CHECKS[(module, func)] = check
        return check
    return register


def _done(ledger: Ledger) -> list[tuple[dict[str, Any], Any]]:
    """(intent, outcome) of every intent acting on the service that was done (not refused)."""
    entries = ledger.entries()
    outcomes = {e["seq"]: e.get("outcome") for e in entries if e["kind"] == "done"}
    return [(e, outcomes[e["seq"]]) for e in entries
            if e["kind"] == "intent" and e.get("effect", True) and e["seq"] in outcomes]


def _asked(check: Callable[..., str | None], *arguments: Any) -> str | None:
    """A check's answer; an AWS error on the way is an answer too (the effect is unknown)."""
    try:
        return check(*arguments)
    except AWSError as exc:
        return f"cannot tell whether it took effect: {exc}"


def missing_output_effects(actions: Iterable[tuple[str, str, str, Any]],
                           configuration: dict[str, Any] | None,
                           secrets: dict[str, Any] | None) -> tuple[list[str], int]:
    """(what shows no effect, how many were checked) for other extensions' actions, each
    ``(module, function, activity name, output)``, by their :func:`output_check`; an action
    chaos-sre knows no check for is not counted."""
    missing: list[str] = []
    checked = 0
    for module, func, name, output in actions:
        check = _OUTPUT_CHECKS.get((module, func))
        if check is None:
            continue
        checked += 1
        problem = _asked(check, output, configuration, secrets)
        if problem:
            missing.append(f"{name} ({module}.{func}): {problem}")
    return missing, checked


def missing_effects(ledger: Ledger | None, configuration: dict[str, Any] | None,
                    secrets: dict[str, Any] | None, phase: str = LIVE) -> tuple[list[str], int]:
    """(what shows no effect, how many operations were checked) for the run's ledger, by the
    checks of ``phase`` (:data:`LIVE` or :data:`SETTLED`).

    An operation no check covers is not counted; when a ledger holds done intents but no
    live check covers any of them, that is itself missing evidence.
    """
    if ledger is None:
        return [], 0
    done = _done(ledger)
    missing: list[str] = []
    checked = 0
    for intent, outcome in done:
        check = _CHECKS.get((str(intent.get("operation")), phase))
        if check is None:
            continue
        checked += 1
        problem = _asked(check, intent, outcome, configuration, secrets)
        if problem:
            missing.append(f"{intent['resource']}: {problem}")
    if phase == LIVE and done and not checked:
        missing.append("no check covers what the fault changed "
                       f"({', '.join(sorted({str(i['operation']) for i, _ in done}))}), so its "
                       "effect is not verified")
    return missing, checked
