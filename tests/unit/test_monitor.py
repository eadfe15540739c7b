"""The run monitor: incremental reading, budget accounting, stop condition, live view."""

import io
import json
import time
from pathlib import Path

import pytest

from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.monitor import Monitor, SampleTail

SLO = SLODefinition(name="web", target=0.999, window_seconds=30 * 86400, paths=(("/", 1),),
                    timeout_seconds=2.0, latency_threshold_seconds=None, load_balancer=None,
                    source="web.yaml")


def write(path: Path, samples: list[tuple[float, str]], partial: str = "") -> None:
    with path.open("a") as handle:
        for at, outcome in samples:
            handle.write(json.dumps({"scheduled": at, "sent": at, "latency": 0.003,
                                     "outcome": outcome, "status": 200, "path": "/"}) + "\n")
        handle.write(partial)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def monitor(path: Path, stops: list[str], **overrides: object) -> Monitor:
    settings = {"samples_path": path, "slo": SLO, "rate": 10.0, "budget_allowance": 1.0,
                "burn_rate_stop": None, "burn_window_seconds": 1.0, "on_stop": stops.append,
                "stream": io.StringIO()}
    settings.update(overrides)
    return Monitor(**settings)  # type: ignore[arg-type]


def test_tail_reads_only_complete_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    tail = SampleTail(path)
    assert tail.read_new() == ([], [])
    write(path, [(1.0, "2xx")], partial='{"scheduled": 2.0, "se')
    assert [s.scheduled for s in tail.read_new()[0]] == [1.0]
    with path.open("a") as handle:
        handle.write('nt": 2.0, "latency": null, "outcome": "timeout", "status": null, "path": "/"}\n')
    assert [s.outcome for s in tail.read_new()[0]] == ["timeout"]
    assert tail.read_new() == ([], [])


def test_budget_allowance_trips_once_after_the_fault(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    stops: list[str] = []
    watcher = monitor(path, stops, budget_allowance=1e-7)
    write(path, [(100.0 + i / 10, "5xx") for i in range(5)])  # before the fault: not counted
    watcher._ingest()
    watcher._check_stop()
    assert stops == [] and watcher.budget_spent() == 0.0
    watcher.fault_started(101.0)
    write(path, [(101.0 + i / 10, "2xx" if i < 5 else "5xx") for i in range(10)])
    watcher._ingest()
    # 5 bad of 10 over 1 s: 0.5 x (1 / 30 d) / 0.001
    assert watcher.budget_spent() == pytest.approx(0.5 * (1 / (30 * 86400)) / 0.001)
    watcher._check_stop()
    watcher._check_stop()
    assert len(stops) == 1 and "exceeded the allowance" in stops[0]


def test_burn_rate_stop_needs_a_full_window(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    stops: list[str] = []
    watcher = monitor(path, stops, burn_rate_stop=100.0, burn_window_seconds=1.0)
    watcher.fault_started(0.0)
    write(path, [(i / 10, "5xx") for i in range(5)])
    watcher._ingest()
    watcher._check_stop()
    assert stops == []  # half a window is not enough to judge
    write(path, [(0.5 + i / 10, "5xx") for i in range(6)])
    watcher._ingest()
    watcher._check_stop()
    assert len(stops) == 1 and stops[0].startswith("burn rate 1000.0x over 1 s")


def test_rollbacks_end_the_stop_condition(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    stops: list[str] = []
    watcher = monitor(path, stops, budget_allowance=1e-9)
    watcher.fault_started(0.0)
    watcher.rollbacks_started()
    write(path, [(i / 10, "5xx") for i in range(10)])
    watcher._ingest()
    watcher._check_stop()
    assert stops == []


def test_live_view_redraws_on_a_terminal_and_logs_otherwise(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.jsonl"
    write(path, [(time.time(), "2xx")])
    tty = Tty()
    live = monitor(path, [], stream=tty)
    live._ingest()
    live._show()
    assert tty.getvalue().startswith("\r\x1b[Kchaos-sre [baseline]")
    assert "SLI now 100.00 %" in tty.getvalue()
    caplog.set_level("INFO", logger="chaostoolkit")
    plain = monitor(path, [])
    plain._ingest()
    plain._show()
    plain._show()  # within 5 s: no second line
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("chaos-sre [")]
    assert len(lines) == 1 and "budget 0/100 %" in lines[0]
