"""What the running ``chaos run`` was given: its journal path and its experiment file.

Read from click's context of the ``chaos run`` command, so the control needs no
argument for them; outside ``chaos run`` (chaoslib's API) the defaults apply.
"""

from pathlib import Path
from typing import Any

import click


def chaos_run_parameter(name: str) -> Any:
    """A parameter of the running ``chaos run`` command (from its click context), None when the
    experiment runs some other way (chaoslib's API)."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.params.get(name)


def chaos_run_parameters() -> dict[str, Any]:
    """Every parameter of the running ``chaos run`` command (empty outside ``chaos run``)."""
    context = click.get_current_context(silent=True)
    return {} if context is None else dict(context.params)


def journal_path() -> Path:
    """The journal path of the running `chaos run` (its --journal-path, or ./journal.json)."""
    return Path(chaos_run_parameter("journal_path") or "journal.json")


def experiment_file() -> Path | None:
    """The experiment file `chaos run` was given (None for a URL or outside `chaos run`)."""
    source = chaos_run_parameter("source")
    return Path(source) if isinstance(source, str) and Path(source).is_file() else None


def samples_path_for(journal: Path) -> Path:
    """Where the raw samples of a journal live: beside it, ``<stem>.samples.jsonl``."""
    return journal.with_name(f"{journal.stem}.samples.jsonl")
