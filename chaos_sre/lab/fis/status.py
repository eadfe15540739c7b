"""FIS's lines in ``chaos-sre lab status``."""

from collections.abc import Mapping
from typing import Any


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each experiment the lab runs: its id, status and its actions' statuses."""
    return [f"fis experiment {e['id']}: {e['status']} ("
            + ", ".join(f"{name} {state}" for name, state in e["actions"].items()) + ")"
            for e in status.get("fis_experiments", [])]
