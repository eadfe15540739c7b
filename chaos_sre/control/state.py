"""One run as the control sees it: its settings, its sampler and monitor, what happened."""

import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos_sre.aws import call_counts
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.monitor import Monitor
from chaos_sre.slo.verdict import RunRecord, RunSettings


@dataclass
class ControlRun:
    """The state the control's hooks share during one ``chaos run``."""

    slo: SLODefinition
    settings: RunSettings
    target_url: str
    samples_path: Path
    record: RunRecord = field(default_factory=RunRecord)
    sampler: subprocess.Popen[bytes] | None = None
    monitor: Monitor | None = None
    budget_gate: bool = True
    window_traffic_from_cloudwatch: bool = False
    configuration: dict[str, Any] | None = None
    secrets: dict[str, Any] | None = None
    in_method: bool = False
    method_done: bool = False
    clock_activity: str | None = None
    """The method action that started the fault's clock (a dry run of it withdraws it)."""
    aws_calls_at_start: Counter[str] = field(default_factory=call_counts.snapshot)
    """The process's AWS requests before the run (the journal counts those after)."""
    other_faults: list[tuple[str, str, str, Any]] = field(default_factory=list)
    """(module, function, activity name, output) of each method action of another extension
    that succeeded: their effect is checked from their output."""
