"""The open-loop SLI sampler.

Requests leave on a fixed schedule - request *i* is due at ``start + i / rate``
- whatever the endpoint does: a request that hangs or fails never delays the
next one, so an outage never thins the sample (no coordinated omission). Each
request is an asyncio task on one aiohttp session; the scheduler only creates
tasks, so thousands may be in flight while the endpoint hangs.

It runs as its own process (``python -m chaos_sre.slo.sampler``), so the Chaos
Toolkit run in the parent never competes with it for the interpreter, and
writes one JSON line per finished request (see :mod:`chaos_sre.slo.samples`),
flushed every 100 ms; where allowed, it runs ahead of the runner's other processes
(:func:`raise_priority`). It stops on SIGTERM or SIGINT (first sending every
request already due, so a stall of its own never leaves a hole in the
schedule, then waiting for in-flight requests up to their timeout), when its
parent process exits (checked every second), or after ``--max-seconds`` (0:
no limit, as the chaos-sre control runs it - it stops the sampler itself, and
the verdict checks the samples cover the run).
"""

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import IO

import aiohttp

from chaos_sre.slo.samples import Sample, outcome_of_status, to_line

FLUSH_SECONDS = 0.1
MAX_RATE = 5000.0
PARENT_CHECK_SECONDS = 1.0
PRIORITY_BOOST = 10
"""Nice levels the sampler asks for above its parent, where the OS allows it."""


def weighted_cycle(paths: Sequence[tuple[str, int]]) -> list[str]:
    """One cycle of paths in smooth weighted round-robin order."""
    current = [0] * len(paths)
    total = sum(w for _, w in paths)
    order = []
    for _ in range(total):
        for index, (_, weight) in enumerate(paths):
            current[index] += weight
        best = max(range(len(paths)), key=lambda i: current[i])
        current[best] -= total
        order.append(paths[best][0])
    return order


class Sampler:
    """Sends GETs to ``base_url`` + path at ``rate`` per second, open loop."""

    def __init__(self, base_url: str, *, rate: float, timeout: float,
                 paths: Sequence[tuple[str, int]], out: IO[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate = rate
        self.timeout = timeout
        self.cycle = weighted_cycle(paths)
        self.out = out
        self.pending: list[str] = []
        self.in_flight: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()

    async def _one(self, session: aiohttp.ClientSession, scheduled: float, path: str) -> None:
        sent = time.time()
        started = time.perf_counter()
        status: int | None = None
        latency: float | None = None
        try:
            async with session.get(self.base_url + path, allow_redirects=False) as response:
                await response.read()
                status = response.status
                latency = time.perf_counter() - started
                outcome = outcome_of_status(status)
        except TimeoutError:
            outcome = "timeout"
        except aiohttp.ClientError:
            outcome = "connection-error"
        self.pending.append(to_line(Sample(scheduled, sent, latency, outcome, status, path)))

    def _flush(self) -> None:
        if self.pending:
            lines, self.pending = self.pending, []
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()

    async def _flusher(self) -> None:
        while not self.stopping.is_set():
            await asyncio.sleep(FLUSH_SECONDS)
            self._flush()

    async def run(self, max_seconds: float) -> None:
        """Sample until stopped, the parent exits, or ``max_seconds`` (0: no limit) passed."""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        loop = asyncio.get_running_loop()
        parent = os.getppid()
        flusher = asyncio.create_task(self._flusher())
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            start = time.time() + 0.05
            deadline = start + max_seconds if max_seconds > 0 else float("inf")
            index = 0
            parent_checked = start

            def send(scheduled: float) -> None:
                nonlocal index
                path = self.cycle[index % len(self.cycle)]
                task = loop.create_task(self._one(session, scheduled, path))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                index += 1

            while not self.stopping.is_set():
                scheduled = start + index / self.rate
                if scheduled >= deadline:
                    break
                delay = scheduled - time.time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self.stopping.wait(), delay)
                        break
                    except TimeoutError:
                        pass
                send(scheduled)
                if scheduled - parent_checked >= PARENT_CHECK_SECONDS:
                    parent_checked = scheduled
                    if os.getppid() != parent:
                        break
            stopped_at = min(time.time(), deadline)
            while start + index / self.rate < stopped_at:
                send(start + index / self.rate)
            if self.in_flight:
                await asyncio.wait(set(self.in_flight), timeout=self.timeout + 1)
        self.stopping.set()
        await flusher
        self._flush()


def parse_paths(text: str) -> list[tuple[str, int]]:
    """Parse ``/:3,/checkout:1`` into [(path, weight)]."""
    paths = []
    for item in text.split(","):
        path, _, weight = item.strip().rpartition(":")
        if not path:
            path, weight = weight, "1"
        paths.append((path if path.startswith("/") else "/" + path, int(weight)))
    return paths


def raise_priority() -> bool:
    """Ask to be scheduled ahead of the runner's other processes (``PRIORITY_BOOST`` nice
    levels), so a busy runner - the Chaos Toolkit run, a lab, other jobs - does not hold back the
    schedule: a stall leaves a gap the verdict calls INCONCLUSIVE. Without the privilege
    (CAP_SYS_NICE, as for most users) the sampler runs at its inherited priority; True when
    raised."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) - PRIORITY_BOOST)
    except PermissionError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos_sre.slo.sampler",
                                     description="Open-loop SLI sampler.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--paths", default="/:1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-seconds", type=float, default=7200.0,
                        help="stop after this many seconds (0: no limit); default 7200")
    args = parser.parse_args(argv)
    if not 0 < args.rate <= MAX_RATE:
        print(f"error: rate must be in (0, {MAX_RATE:g}]", file=sys.stderr)
        return 2
    raise_priority()
    with open(args.out, "a", encoding="utf-8") as out:
        sampler = Sampler(args.url, rate=args.rate, timeout=args.timeout,
                          paths=parse_paths(args.paths), out=out)

        async def _main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, sampler.stopping.set)
            await sampler.run(args.max_seconds)

        asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
