"""Chaos Toolkit's run flags and runtime settings: each one honoured or refused before anything runs.

A flag that changes what is observed or restored can turn a verdict into a pass
without evidence: a probe never evaluated, a fault live for milliseconds, a
hypothesis never judged after the fault, rollbacks skipped. So the control reads
the values Chaos Toolkit will use - ``chaos run``'s flags over the experiment's
``runtime`` over the settings file's, as ``chaos run`` itself resolves them -
and refuses a run it could not judge before the sampler starts or anything is
injected. docs/slo.md ("Chaos Toolkit flags") lists every answer:

=============================================  =========================================
``--dry=actions``, ``--dry=activities``          honoured: a dry run, verdict DRY-RUN
``--dry=probes``, ``--dry=pause``                refused
hypothesis strategy ``default``                  honoured (the only one)
``before-method-only``, ``after-method-only``,   refused
``during-method-only``, ``continuously``,
``skip``
rollback strategy ``always``                     required
``default``, ``never``, ``deviated``             refused
``--fail-fast``, ``--hypothesis-frequency``      no effect: they apply to the refused
                                                 during-method strategies only
=============================================  =========================================
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaos_sre.errors import ValidationError

DEFAULT = "default"
ALWAYS = "always"
DRY_RUNS = ("actions", "activities")
"""``--dry`` modes that are dry runs: no action runs, the verdict is DRY-RUN."""

REFUSED_DRY = {
    "probes": "it injects the real fault but runs no probe: no tolerance is evaluated, method "
              "probes such as wait_for_failover are skipped and the steady state reads as held; "
              "use --dry=actions to plan without injecting",
    "pause": "it skips the pauses, so the fault is live for milliseconds before the rollbacks "
             "undo it: the service never meets it",
}
REFUSED_HYPOTHESIS = {
    "before-method-only": "it never judges the steady state after the fault",
    "after-method-only": "it never checks the steady state before the fault is injected",
    "during-method-only": "it checks the steady state neither before nor after the fault",
    "continuously": "it probes the steady state while the fault is live and aborts or deviates "
                    "on what the fault itself causes; the SLO sampler already watches the fault",
    "skip": "it never checks the steady state",
}
REFUSED_HYPOTHESIS["continously"] = REFUSED_HYPOTHESIS["continuously"]  # Chaos Toolkit takes both


@dataclass(frozen=True)
class RunFlags:
    """The values a run uses, and where each came from (for the refusal's message)."""

    dry: str | None
    hypothesis_strategy: str
    hypothesis_from: str
    rollback_strategy: str
    rollback_from: str

    @property
    def dry_run(self) -> bool:
        return self.dry in DRY_RUNS


def _strategy(runtime: Any, kind: str) -> str | None:
    section = runtime.get(kind) if isinstance(runtime, Mapping) else None
    value = section.get("strategy") if isinstance(section, Mapping) else None
    return None if value is None else str(value)


def _resolved(kind: str, parameter: str, cli: Mapping[str, Any], experiment_runtime: Any,
              settings_runtime: Any) -> tuple[str, str]:
    """(strategy, where it came from) of ``kind`` as ``chaos run`` resolves it: its flag, else
    the experiment's runtime (which, when present, replaces the settings' defaults included),
    else the settings file's, else Chaos Toolkit's default."""
    given = cli.get(parameter)
    if given is not None:
        return str(given), f"chaos run --{parameter.replace('_', '-')}"
    if experiment_runtime:
        declared = _strategy(experiment_runtime, kind)
        if declared is None:
            return DEFAULT, f"Chaos Toolkit's default (the experiment's runtime sets no {kind} strategy)"
        return declared, f"the experiment's runtime.{kind}.strategy"
    declared = _strategy(settings_runtime, kind)
    if declared is not None:
        return declared, "the Chaos Toolkit settings' runtime"
    return DEFAULT, "Chaos Toolkit's default"


def effective_flags(experiment: Mapping[str, Any], cli: Mapping[str, Any] | None = None,
                    settings: Mapping[str, Any] | None = None) -> RunFlags:
    """The flags a run uses: ``cli`` (``chaos run``'s parameters) over the experiment's
    ``runtime`` over the Chaos Toolkit ``settings`` file's, as ``chaos run`` resolves them."""
    sources = (cli or {}, experiment.get("runtime"), (settings or {}).get("runtime"))
    hypothesis, hypothesis_from = _resolved("hypothesis", "hypothesis_strategy", *sources)
    rollbacks, rollbacks_from = _resolved("rollbacks", "rollback_strategy", *sources)
    dry = experiment.get("dry")
    dry_value = getattr(dry, "value", dry)  # chaos run sets chaoslib's Dry enum
    return RunFlags(dry=None if dry_value in (None, "") else str(dry_value),
                    hypothesis_strategy=hypothesis, hypothesis_from=hypothesis_from,
                    rollback_strategy=rollbacks, rollback_from=rollbacks_from)


def check_flags(flags: RunFlags) -> None:
    """Refuse, in one line, a run whose flags the verdict could not be trusted under."""
    if flags.dry is not None and flags.dry not in DRY_RUNS:
        reason = REFUSED_DRY.get(flags.dry, "chaos-sre does not know this dry mode")
        raise ValidationError(f"chaos-sre control: chaos run --dry={flags.dry} is refused: "
                              f"{reason}")
    if flags.hypothesis_strategy != DEFAULT:
        reason = REFUSED_HYPOTHESIS.get(flags.hypothesis_strategy,
                                        "chaos-sre does not know this strategy")
        raise ValidationError(
            f"chaos-sre control: hypothesis strategy {flags.hypothesis_strategy!r} (from "
            f"{flags.hypothesis_from}) is refused: {reason}; the verdict needs the steady state "
            "before and after the fault (strategy default)")
    if flags.rollback_strategy != ALWAYS:
        raise ValidationError(
            f"chaos-sre control: the rollbacks must always play (the control's stop interrupts "
            f"the run, and Chaos Toolkit skips the rollbacks of an interrupted or failed run "
            f"unless the strategy is always), got {flags.rollback_strategy!r} from "
            f"{flags.rollback_from}: set \"runtime\": {{\"rollbacks\": {{\"strategy\": "
            "\"always\"}} and leave out --rollback-strategy (or give always)")
