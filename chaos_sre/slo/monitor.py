"""Watches the samples while an experiment runs: the stop condition and the live view.

The monitor tails the sampler's JSON-lines file every 100 ms. From fault
injection until the rollbacks start it checks the stop condition - budget spent
beyond the allowance, or a short-window burn rate beyond the configured
threshold, a line of the samples file that is not a sample, or no sample
arriving for the request timeout + 1 s (the sampler stalled or died: the
watchdog) - and calls ``on_stop(reason)`` once when it trips. The check and the
end of watching (:meth:`Monitor.rollbacks_started`) hold one lock, so a stop is
never delivered once the rollbacks began. It also prints a compact status
(phase, current SLI, budget spent, elapsed): one redrawn line on a terminal, a
plain log line every few seconds otherwise. After the rollbacks it tells the
control when the samples have been clean long enough to call the service
recovered (:meth:`Monitor.clean_since`).
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
from chaos_sre.slo.budget import TrafficModel
from chaos_sre.slo.definition import SLODefinition
from chaos_sre.slo.samples import Sample, parse_tolerantly

logger = logging.getLogger("chaostoolkit")
POLL_SECONDS = 0.1
LOG_EVERY_SECONDS = 5.0
WATCHDOG_GRACE_SECONDS = 1.0
"""With a fault live, no sample for the request timeout + this trips the stop."""
WRITE_LAG_SECONDS = 0.5
"""Beyond the request timeout: the sampler's flush and the monitor's poll."""


class SampleTail:
    """Reads the complete lines appended to a samples file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""
        self.lines = 0

    def read_new(self) -> tuple[list[Sample], list[str]]:
        """The new complete samples, and one message per new line that is not a sample."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            return [], [f"the samples file cannot be read: {exc}"]
        text = self.partial + chunk.decode("utf-8", errors="replace")
        complete, _, self.partial = text.rpartition("\n")
        if not complete:
            return [], []
        lines = complete.split("\n")
        found = parse_tolerantly(lines, first_number=self.lines + 1)
        self.lines += len(lines)
        return found


class Monitor:
    """Background thread: stop condition and live status over the samples."""

    def __init__(self, *, samples_path: Path, slo: SLODefinition, rate: float,
                 budget_allowance: float, burn_rate_stop: float | None,
                 burn_window_seconds: float, on_stop: Callable[[str], None],
                 stream: IO[str] | None = None, traffic: TrafficModel | None = None) -> None:
        self.tail = SampleTail(samples_path)
        self.slo = slo
        self.rate = rate
        self.traffic = traffic or TrafficModel(slo.window_seconds, slo.target, rate)
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
        self.last_arrival: float | None = None
        """Wall-clock time the last new sample was read."""
        self.malformed: list[str] = []
        self._lock = threading.Lock()
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

    def use_traffic(self, traffic: TrafficModel) -> None:
        """Judge the budget by ``traffic`` from now on (the window's rate read at the gate)."""
        self.traffic = traffic

    def fault_started(self, at: float) -> None:
        """Start budget accounting, the stop condition and the watchdog from ``at``."""
        with self._lock:
            self.fault_at = at
            self.watching = True
            self.phase = "fault"

    def fault_withdrawn(self) -> None:
        """The fault turned out not to have started (AWS refused it): no budget, no stop."""
        with self._lock:
            self.fault_at = None
            self.watching = False
            self.phase = "baseline"

    def rollbacks_started(self) -> None:
        """The stop condition no longer applies once rollbacks run (no stop is delivered after)."""
        with self._lock:
            self.watching = False
            self.phase = "rollback"

    def budget_spent(self) -> float:
        """Budget spent since the fault, as a fraction of the window's budget."""
        if self.fault_at is None or not self.span_total or self.last_sample_at is None:
            return 0.0
        return self.traffic.spent(self.span_bad, self.span_total, self.fault_at,
                                  self.last_sample_at)

    def clean_since(self, since: float, seconds: float) -> bool:
        """True when every sample scheduled from ``since`` (or the last bad sample after it) up
        to the settled horizon - now less the request timeout, when every request scheduled
        before has ended and been read - is good, and that stretch lasts ``seconds``; also
        that samples did arrive up to the horizon (a dead sampler shows nothing bad)."""
        horizon = time.time() - self.slo.timeout_seconds - WRITE_LAG_SECONDS
        start = max(since, self.last_bad_at if self.last_bad_at is not None else since)
        arrived = self.last_sample_at is not None and \
            self.last_sample_at >= horizon - WRITE_LAG_SECONDS
        return arrived and horizon - start >= seconds

    def short_burn_rate(self) -> float:
        if not self.recent:
            return 0.0
        bad = sum(1 for _, good in self.recent if not good)
        return slo_math.burn_rate(bad / len(self.recent), self.slo.target)

    def _ingest(self) -> None:
        samples, malformed = self.tail.read_new()
        self.malformed.extend(malformed)
        if samples:
            self.last_arrival = time.time()
        for sample in samples:
            good = sample.good(self.slo.latency_threshold_seconds)
            self.total += 1
            self.bad += not good
            if self.fault_at is not None and sample.scheduled >= self.fault_at:
                self.span_total += 1
                self.span_bad += not good
            self.recent.append((sample.scheduled, good))
            self.last_sample_at = max(self.last_sample_at or sample.scheduled, sample.scheduled)
            if not good:
                self.last_bad_at = max(self.last_bad_at or sample.scheduled, sample.scheduled)
        if self.recent:
            horizon = self.recent[-1][0] - self.burn_window
            while self.recent and self.recent[0][0] < horizon:
                self.recent.popleft()

    def _stop_reason(self) -> str | None:
        """Why the run must stop now, or None."""
        if self.malformed:
            return f"the samples can no longer be trusted: {self.malformed[0]}"
        silent_since = max(self.last_arrival or 0.0, self.fault_at or 0.0)
        silence = time.time() - silent_since
        if silence > self.slo.timeout_seconds + WATCHDOG_GRACE_SECONDS:
            return (f"no SLI sample arrived for {silence:.1f} s with the fault live: the sampler "
                    "stalled or died, and the service is not observed")
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
        return reason

    def _check_stop(self) -> None:
        with self._lock:
            if not self.watching or self.tripped:
                return
            reason = self._stop_reason()
            if reason is None:
                return
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
