"""What a judged run leaves behind: the verdict in the log, its targets, a row of run history."""

import logging
from pathlib import Path
from typing import Any

from chaos_sre import history
from chaos_sre.extension import NAME, Extension, NotJudged, RunTargets
from chaos_sre.journal import left_changed_lines
from chaos_sre.safety.ledger import run_ledger
from chaos_sre.verdicts import Status, Verdict, parse

logger = logging.getLogger("chaostoolkit")


def log_verdict(extension: Extension) -> None:
    """The verdict's reasons, then one summary line (budget, detect, recover)."""
    verdict = parse(extension["verdict"], "the chaos-sre verdict")
    for reason in verdict.reasons:
        (logger.info if verdict.passed or verdict.status is Status.DRY_RUN
         else logger.error)(f"chaos-sre: {reason}")
    recovery = extension["recovery"]
    logger.info(
        "chaos-sre: verdict %s - budget spent %.3g %% of %.3g %% allowed, detect %s, recover %s",
        verdict.label,
        extension["budget"]["consumed_fraction"] * 100,
        extension["budget"]["allowed_fraction"] * 100,
        "-" if recovery["detect_seconds"] is None else f"{recovery['detect_seconds']:.2f} s",
        "-" if recovery["recover_seconds"] is None else f"{recovery['recover_seconds']:.2f} s",
    )
    for change in left_changed_lines(dict(extension)):
        logger.warning(f"chaos-sre: left changed: {change}")


def not_judged(reason: str) -> NotJudged:
    """The ``chaos_sre`` extension of a run the control refused before it started: INCONCLUSIVE,
    nothing sampled, nothing injected."""
    verdict = Verdict(Status.INCONCLUSIVE, (f"not judged, nothing was sampled or injected: "
                                            f"{reason}",))
    return {"name": NAME, "verdict": verdict.as_dict(), "refused_before_start": reason}


def run_targets() -> RunTargets:
    """The run's ledger and the resources its faults changed, for the journal extension
    (nothing when no fault opened a ledger); an unreadable ledger raises."""
    ledger = run_ledger()
    if ledger is None:
        return {}
    return {"ledger_path": str(ledger.path), "targets": ledger.targets(),
            "left_changed": ledger.left_changed()}


def record_history(state: dict[str, Any], extension: Extension, journal: Path) -> None:
    """Append the run's key figures to the local history (a ValidationError when it cannot:
    the control records it and the verdict fails, naming it)."""
    judged = {**state, "extensions": [*(state.get("extensions") or []), extension]}
    path = history.append(history.run_of(judged, str(journal.resolve())))
    logger.info(f"chaos-sre: added to the run history {path} (chaos-sre history)")
