"""What a judged run leaves behind: the verdict in the log, its targets, a row of run history."""

import logging
from pathlib import Path
from typing import Any

from chaos_sre import history
from chaos_sre.errors import ValidationError
from chaos_sre.safety.ledger import run_ledger
from chaos_sre.slo.verdict import label

logger = logging.getLogger("chaostoolkit")


def log_verdict(extension: dict[str, Any]) -> None:
    """The verdict's reasons, then one summary line (budget, detect, recover)."""
    verdict = extension["verdict"]
    for reason in verdict["reasons"]:
        (logger.info if verdict["passed"] else logger.error)(f"chaos-sre: {reason}")
    recovery = extension["recovery"]
    logger.info(
        "chaos-sre: verdict %s - budget spent %.3g %% of %.3g %% allowed, detect %s, recover %s",
        label(verdict),
        extension["budget"]["consumed_fraction"] * 100,
        extension["budget"]["allowed_fraction"] * 100,
        "-" if recovery["detect_seconds"] is None else f"{recovery['detect_seconds']:.2f} s",
        "-" if recovery["recover_seconds"] is None else f"{recovery['recover_seconds']:.2f} s",
    )


def note_targets(extension: dict[str, Any]) -> None:
    """Add the run's ledger and the resources its faults changed to the journal extension."""
    ledger = run_ledger()
    if ledger is None:
        return
    extension["ledger_path"] = str(ledger.path)
    try:
        extension["targets"] = ledger.targets()
    except ValidationError as exc:
        logger.error(f"chaos-sre: {exc}")


def record_history(state: dict[str, Any], extension: dict[str, Any], journal: Path) -> None:
    """Append the run's key figures to the local history (a problem there never fails the run)."""
    title = str((state.get("experiment") or {}).get("title") or "(untitled)")
    try:
        path = history.append(history.run_of(title, extension, str(journal.resolve())))
    except ValidationError as exc:
        logger.error(f"chaos-sre: the run was not added to the history: {exc}")
        return
    logger.info(f"chaos-sre: added to the run history {path} (chaos-sre history)")
