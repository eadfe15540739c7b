"""Watches the samples while an experiment runs: the stop condition and the live view.

The monitor tails the sampler's JSON-lines file every 100 ms. From fault
injection until the rollbacks start it checks the stop condition - budget spent
beyond the allowance, or a short-window burn rate beyond the configured
threshold - and calls ``on_stop(reason)`` once when it trips. It also prints a
compact status (phase, current SLI, budget spent, elapsed): one redrawn line on
a terminal, a plain log line every few seconds otherwise. After the rollbacks it
tells the control when the samples have been clean long enough to call the
service recovered (:meth:`Monitor.clean_for`).
"""

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from chaos_sre.slo import math as slo_math
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.samples import Sample, parse_lines

logger = logging.getLogger("chaostoolkit")
POLL_SECONDS = 0.1
LOG_EVERY_SECONDS = 5.0


class SampleTail:
    """Reads the complete lines appended to a samples file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""

    def read_new(self) -> list[Sample]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            return []
        text = self.partial + chunk
        complete, _, self.partial = text.rpartition("\n")
        return list(parse_lines(complete.splitlines())) if complete else []


class Monitor:
    """Background thread: stop condition and live status over the samples."""

    def __init__(self, *, samples_path: Path, slo: SLODefinition, rate: float,
                 budget_allowance: float, burn_rate_stop: float | None,
                 burn_window_seconds: float, on_stop: Callable[[str], None],
                 stream: IO[str] | None = None) -> None:
        self.tail = SampleTail(samples_path)
        self.slo = slo
        self.rate = rate
        self.allowance = budget_allowance
        self.burn_rate_stop = burn_rate_stop
        self.burn_window = burn_window_seconds
        self.on_stop = on_stop
        self.stream = stream or sys.stderr
        self.is_tty = self.stream.isatty()
        self.phase = "baseline"
        self.started = time.time()
        self.fault_at: float | None = None
        self.watching = False
        self.tripped = False
        self.total = 0
        self.bad = 0
        self.span_total = 0
        self.span_bad = 0
        self.recent: deque[tuple[float, bool]] = deque()
        self.last_bad_at: float | None = None
        self.last_sample_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-sre-monitor", daemon=True)
        self._last_log = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.is_tty:
            self.stream.write("\n")
            self.stream.flush()

    def fault_started(self, at: float) -> None:
        """Start budget accounting and the stop condition from ``at``."""
        self.fault_at = at
        self.watching = True
        self.phase = "fault"

    def fault_withdrawn(self) -> None:
        """The fault turned out not to have started (AWS refused it): no budget, no stop."""
        self.fault_at = None
        self.watching = False
        self.phase = "baseline"

    def rollbacks_started(self) -> None:
        """The stop condition no longer applies once rollbacks run."""
        self.watching = False
        self.phase = "rollback"

    def budget_spent(self) -> float:
        """Budget spent since the fault, as a fraction of the window's budget."""
        if self.fault_at is None or not self.span_total or self.last_sample_at is None:
            return 0.0
        return slo_math.spent_since_fault(self.span_bad, self.span_total, self.fault_at,
                                          self.last_sample_at, self.rate,
                                          self.slo.window_seconds, self.slo.target)

    def clean_for(self, seconds: float) -> bool:
        """True when the samples of the last ``seconds`` (sampler time) were all good."""
        if self.last_sample_at is None:
            return False
        since = self.last_bad_at if self.last_bad_at is not None else self.started
        return self.last_sample_at - since >= seconds

    def short_burn_rate(self) -> float:
        if not self.recent:
            return 0.0
        bad = sum(1 for _, good in self.recent if not good)
        return slo_math.burn_rate(bad / len(self.recent), self.slo.target)

    def _ingest(self) -> None:
        for sample in self.tail.read_new():
            good = sample.good(self.slo.latency_threshold_seconds)
            self.total += 1
            self.bad += not good
            if self.fault_at is not None and sample.scheduled >= self.fault_at:
                self.span_total += 1
                self.span_bad += not good
            self.recent.append((sample.scheduled, good))
            self.last_sample_at = sample.scheduled
            if not good:
                self.last_bad_at = sample.scheduled
        if self.recent:
            horizon = self.recent[-1][0] - self.burn_window
            while self.recent and self.recent[0][0] < horizon:
                self.recent.popleft()

    def _check_stop(self) -> None:
        if not self.watching or self.tripped:
            return
        spent = self.budget_spent()
        reason = None
        if spent > self.allowance:
            reason = (f"error budget spent {spent * 100:.3g} % exceeded the allowance "
                      f"{self.allowance * 100:.3g} %")
        elif self.burn_rate_stop is not None and self.recent and \
                self.recent[-1][0] - self.recent[0][0] >= self.burn_window * 0.9:
            burn = self.short_burn_rate()
            if burn > self.burn_rate_stop:
                reason = (f"burn rate {burn:.1f}x over {self.burn_window:g} s exceeded "
                          f"the stop threshold {self.burn_rate_stop:g}x")
        if reason is not None:
            self.tripped = True
            self.on_stop(reason)

    def status_line(self) -> str:
        sli = 1 - self.bad / self.total if self.total else None
        current = (1 - sum(1 for _, g in self.recent if not g) / len(self.recent)
                   if self.recent else None)
        parts = [
            f"chaos-sre [{self.phase}]",
            f"{time.time() - self.started:5.1f} s",
            f"samples {self.total}",
            f"SLI now {current * 100:.2f} %" if current is not None else "SLI now -",
            f"run {sli * 100:.3f} %" if sli is not None else "run -",
            f"budget {self.budget_spent() * 100:.3g}/{self.allowance * 100:.3g} %",
        ]
        return " | ".join(parts)

    def _show(self) -> None:
        now = time.time()
        if self.is_tty:
            self.stream.write("\r\x1b[K" + self.status_line())
            self.stream.flush()
        elif now - self._last_log >= LOG_EVERY_SECONDS:
            self._last_log = now
            logger.info(self.status_line())

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._ingest()
            self._check_stop()
            self._show()
        self._ingest()
