"""CloudWatch in the lab: the metrics the lab's services publish, as CloudWatch serves them, and
its alarms, evaluated once a (scaled) minute (:mod:`chaos_sre.lab.cloudwatch.simulation`)."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import LabService


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each alarm of the account and its state (or why the lab does not evaluate it)."""
    return [f"cloudwatch alarm {name}: {state}"
            for name, state in sorted((status.get("cloudwatch_alarms") or {}).items())]


SERVICE = LabService(name="cloudwatch", package=__name__, order=50,
                     botocore_services=("cloudwatch",), status_lines=status_lines)
