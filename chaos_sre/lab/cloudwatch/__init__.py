"""CloudWatch in the lab: the metrics the lab's services publish, as CloudWatch serves them, and
its alarms, evaluated once a (scaled) minute (:mod:`chaos_sre.lab.cloudwatch.simulation`)."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.cloudwatch.alarms import ALARM, INSUFFICIENT_DATA, OK
from chaos_sre.lab.core.plugin import LabService

STATES = (ALARM, OK, INSUFFICIENT_DATA)


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each alarm the lab evaluates and its state, and how many it leaves to their owners
    (Application Auto Scaling's target tracking alarms: the lab scales on its own counts)."""
    alarms = status.get("cloudwatch_alarms") or {}
    lines = [f"cloudwatch alarm {name}: {state}" for name, state in sorted(alarms.items())
             if state in STATES]
    others = len(alarms) - len(lines)
    return lines + ([f"cloudwatch: {others} alarm(s) the lab does not evaluate"] if others else [])


SERVICE = LabService(name="cloudwatch", package=__name__, order=50,
                     botocore_services=("cloudwatch",), status_lines=status_lines)
