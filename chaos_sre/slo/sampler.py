"""The open-loop SLI sampler.

Requests leave on a fixed schedule - request *i* is due at ``start + i / rate``
- whatever the endpoint does: a request that hangs or fails never delays the
next one, so an outage never thins the sample (no coordinated omission). One
timer callback sends every request that is due and sets itself for the next;
each request is a callback on a kept-alive connection of
:mod:`chaos_sre.slo.http_client` (a new connection when all are busy), so
thousands may be in flight while the endpoint hangs. The event loop is uvloop
where it is installed.

It runs as its own process (``python -m chaos_sre.slo.sampler``), so the Chaos
Toolkit run in the parent never competes with it for the interpreter, and
writes one JSON line per finished request (see :mod:`chaos_sre.slo.samples`),
appended every 100 ms in one write, so the live monitor reads complete lines
within its interval. Where allowed, it runs ahead of the runner's other
processes (:func:`raise_priority`).

For rates one core cannot keep, ``--processes N`` (default: one per
``PROCESS_RATE`` requests a second) forks N samplers that share the schedule:
process *k* sends the requests *i* with ``i % N == k``, from the same start, and
all append whole lines to the same file, so the samples are those of one
sampler and every check that reads them (coverage, the monitor, the verdict)
is unchanged.

It stops on SIGTERM or SIGINT (first sending every request already due, so a
stall of its own never leaves a hole in the schedule, then waiting for
in-flight requests up to their timeout), when its parent process exits
(checked every second), or after ``--max-seconds`` (0: no limit, as the
chaos-sre control runs it - it stops the sampler itself, and the verdict
checks the samples cover the run).
"""

import argparse
import asyncio
import json
import math
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from chaos_sre.errors import ValidationError
from chaos_sre.eventloop import new_event_loop
from chaos_sre.slo.http_client import Endpoint, Pool
from chaos_sre.slo.samples import format_line

FLUSH_SECONDS = 0.1
MAX_RATE = 100_000.0
PROCESS_RATE = 5000.0
"""Requests a second one sampler process is given when ``--processes`` is not set."""
MAX_PROCESS_RATE = 10_000.0
"""The most one process is given: twice the measured 5000 req/s (0.18 of a core, lag p99 1.5 ms;
docs/performance.md), so a slower runner keeps its schedule too."""
PARENT_CHECK_SECONDS = 1.0
TIMER_RESOLUTION = 0.001
"""Event loops wait in whole milliseconds (epoll, libuv), so a timer wakes the sampler up to a
millisecond before or after the moment it was set for. A wait of half a millisecond or more is set
for the whole millisecond at or before the next request and the rest is slept precisely
(``time.sleep``, under a millisecond) when the tick comes early: a tick that sent nothing and
set its timer again cost a whole wake-up (a third of all ticks at 50 req/s, measured), and a
timer rounded up costs a millisecond of lag. Requests due within one millisecond of a tick
leave together at the next one, none early."""
START_DELAY_SECONDS = 0.05
"""From the schedule's start being fixed to its first request."""
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


@dataclass(frozen=True)
class Shard:
    """Which requests of the schedule one process sends: those with ``i % count == index``."""

    index: int = 0
    count: int = 1


class Sampler:
    """Sends GETs to ``base_url`` + path at ``rate`` per second, open loop, and appends one
    sample line per request to the file open as ``out_fd`` (O_APPEND)."""

    def __init__(self, base_url: str, *, rate: float, timeout: float,
                 paths: Sequence[tuple[str, int]], out_fd: int, shard: Shard = Shard()) -> None:
        self.endpoint = Endpoint.parse(base_url)
        self.rate = rate
        self.timeout = timeout
        self.cycle = weighted_cycle(paths)
        self.payloads = {path: self.endpoint.request(path) for path in set(self.cycle)}
        self.path_json = {path: json.dumps(path) for path in set(self.cycle)}
        self.out_fd = out_fd
        self.shard = shard
        self.pending: list[str] = []
        self.requests: dict[int, tuple[float, float, str]] = {}
        """In flight: slot -> (scheduled epoch, sent epoch, path)."""
        self.stopping = asyncio.Event()
        self.drained = asyncio.Event()
        self._pool: Pool | None = None
        self._epoch = 0.0
        """Epoch seconds minus monotonic seconds: a clock that does not jump, read as epoch. The
        monotonic clock is also the event loop's (asyncio's and uvloop's ``loop.time()``)."""
        self._start = 0.0
        self._next = shard.index
        self._deadline = math.inf
        self._wake = 0.0
        """When the tick's timer is for (epoch seconds); 0 when it need not be met precisely."""
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interval = shard.count / rate
        """Between two requests of this process."""
        self._parent = 0
        self._next_housekeeping = 0.0
        self._next_parent_check = 0.0

    def _scheduled(self, slot: int) -> float:
        """Epoch time request ``slot`` is due."""
        return self._start + slot / self.rate

    def _send_due(self, until: float) -> None:
        """Send every request of this shard due up to ``until`` (epoch seconds)."""
        assert self._pool is not None
        step, cycle, length = self.shard.count, self.cycle, len(self.cycle)
        slot = self._next
        scheduled = self._scheduled(slot)
        while scheduled <= until and scheduled < self._deadline:
            path = cycle[slot % length]
            self.requests[slot] = (scheduled, self._epoch + time.monotonic(), path)
            self._pool.get(slot, self.payloads[path])
            slot += step
            scheduled = self._scheduled(slot)
        self._next = slot

    def _tick(self) -> None:
        """Send what is due, keep house when it is (nearly) time, and set the one timer: for the
        next request, or for the next housekeeping when that comes first (below 10 req/s).
        Housekeeping rides on a request's tick up to one interval early: a wake-up of its own
        would cost about as much as a request."""
        self._timer = None
        if self.stopping.is_set():
            return
        assert self._loop is not None
        now = self._epoch + time.monotonic()
        early = self._wake - now
        if 0 < early <= 2 * TIMER_RESOLUTION:
            time.sleep(early)
            now = self._epoch + time.monotonic()
        self._send_due(now)
        if now + self._interval >= self._next_housekeeping:
            self._housekeeping()
        due = self._scheduled(self._next)
        if due >= self._deadline:
            self.stopping.set()
            return
        self._arm(min(due, self._next_housekeeping))

    def _arm(self, wake: float) -> None:
        """Set the tick's timer for ``wake`` (epoch seconds), as TIMER_RESOLUTION says."""
        assert self._loop is not None
        at = wake - self._epoch  # on the monotonic clock, the loop's
        if at - time.monotonic() >= TIMER_RESOLUTION / 2:
            self._wake = wake
            when = math.floor(at / TIMER_RESOLUTION) * TIMER_RESOLUTION
        else:  # due within a millisecond: at the next one, with whatever else is due then
            self._wake = 0.0
            when = math.ceil(at / TIMER_RESOLUTION) * TIMER_RESOLUTION
        self._timer = self._loop.call_at(when, self._tick)

    def _done(self, slot: int, status: int | None, latency: float | None, outcome: str) -> None:
        scheduled, sent, path = self.requests.pop(slot)
        self.pending.append(format_line(scheduled, sent, latency, outcome, status,
                                        self.path_json[path]))
        if not self.requests and self.stopping.is_set():
            self.drained.set()

    def flush(self) -> None:
        """Append the finished samples as whole lines, in one write where the OS allows."""
        if not self.pending:
            return
        lines, self.pending = self.pending, []
        data = ("\n".join(lines) + "\n").encode("utf-8")
        while data:
            written = os.write(self.out_fd, data)
            data = data[written:]

    def _housekeeping(self) -> None:
        """Append the finished samples, time out late requests, and stop when the parent process
        is gone (every PARENT_CHECK_SECONDS)."""
        assert self._pool is not None
        self.flush()
        self._pool.expire()
        now = self._epoch + time.monotonic()
        self._next_housekeeping = now + FLUSH_SECONDS
        if now >= self._next_parent_check:
            self._next_parent_check = now + PARENT_CHECK_SECONDS
            if os.getppid() != self._parent:
                self.stopping.set()

    async def run(self, max_seconds: float, start: float | None = None) -> None:
        """Sample until stopped, the parent exits, or ``max_seconds`` (0: no limit) passed.

        ``start`` (epoch seconds) is the schedule's origin that the processes of one sampler
        share; by default a moment from now.
        """
        self._loop = loop = asyncio.get_running_loop()
        self._parent = os.getppid()
        self._epoch = time.time() - time.monotonic()
        self._start = start if start is not None else time.time() + START_DELAY_SECONDS
        self._deadline = self._start + max_seconds if max_seconds > 0 else math.inf
        self._next_housekeeping = time.time() + FLUSH_SECONDS
        self._next_parent_check = time.time() + PARENT_CHECK_SECONDS
        self._pool = Pool(self.endpoint, timeout=self.timeout, done=self._done, loop=loop)
        self._arm(min(self._scheduled(self._next), self._next_housekeeping))
        await self.stopping.wait()
        if self._timer is not None:
            self._timer.cancel()
        # Every request already due is sent: a stall of the sampler's own leaves no hole.
        self._send_due(self._epoch + time.monotonic())
        drain_until = time.monotonic() + self.timeout + 1
        while self.requests and time.monotonic() < drain_until:
            self._housekeeping()
            try:
                await asyncio.wait_for(self.drained.wait(), FLUSH_SECONDS)
            except TimeoutError:
                pass
        self._pool.close()
        self.flush()


def parse_paths(text: str) -> list[tuple[str, int]]:
    """Parse ``/:3,/checkout:1`` into [(path, weight)]."""
    paths = []
    for item in text.split(","):
        path, _, weight = item.strip().rpartition(":")
        if not path:
            path, weight = weight, "1"
        if not weight.isdigit() or int(weight) < 1:
            raise ValidationError(f"--paths takes PATH:WEIGHT items with whole weights >= 1, "
                                  f"not {item.strip()!r}")
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


def raise_open_files_limit() -> None:
    """Allow as many connections as the hard limit permits: while the endpoint hangs, every
    request of the timeout holds its own (1000 req/s with a 2 s timeout: 2000)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def processes_for(rate: float, asked: int) -> int:
    """How many processes share the schedule: ``asked``, or with 0 one per PROCESS_RATE."""
    return asked if asked > 0 else max(1, math.ceil(rate / PROCESS_RATE))


def run_process(args: argparse.Namespace, shard: Shard, start: float, out_fd: int,
                children: Sequence[int] = ()) -> None:
    """One sampler process: its shard of the schedule until it is told to stop; a stop signal
    is passed on at once to the ``children`` sharing the schedule."""
    sampler = Sampler(args.url, rate=args.rate, timeout=args.timeout,
                      paths=parse_paths(args.paths), out_fd=out_fd, shard=shard)

    def stop(signum: int) -> None:
        sampler.stopping.set()
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    async def _main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        await sampler.run(args.max_seconds, start=start)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_main())


def fork_shards(args: argparse.Namespace, count: int, start: float, out_fd: int) -> list[int]:
    """Fork processes 1..count-1 of the sampler (this one is 0); their process ids."""
    children = []
    for index in range(1, count):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                run_process(args, Shard(index, count), start, out_fd)
                status = 0
            finally:  # a forked process never returns into its parent's code
                os._exit(status)
        children.append(pid)
    return children


def stop_children(children: Sequence[int], timeout: float) -> int:
    """SIGTERM the forked processes, wait for them (``timeout``, then SIGKILL); worst exit code."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    worst, deadline = 0, time.monotonic() + timeout
    for pid in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                worst = max(worst, os.waitstatus_to_exitcode(status) != 0)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                worst = 1
                break
            time.sleep(0.02)
    return worst


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
    parser.add_argument("--processes", type=int, default=0,
                        help=f"processes sharing the schedule (default: one per {PROCESS_RATE:g} req/s)")
    args = parser.parse_args(argv)
    if not 0 < args.rate <= MAX_RATE:
        print(f"error: rate must be in (0, {MAX_RATE:g}]", file=sys.stderr)
        return 2
    if args.processes < 0:
        print("error: --processes must be 0 (automatic) or more", file=sys.stderr)
        return 2
    count = processes_for(args.rate, args.processes)
    if args.rate / count > MAX_PROCESS_RATE:
        print(f"error: {args.rate:g} req/s over {count} process(es) is more than "
              f"{MAX_PROCESS_RATE:g} req/s each: pass --processes {math.ceil(args.rate / PROCESS_RATE)}",
              file=sys.stderr)
        return 2
    try:
        Endpoint.parse(args.url)
        parse_paths(args.paths)
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    raise_priority()
    raise_open_files_limit()
    out_fd = os.open(args.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.time() + START_DELAY_SECONDS * count
    children = fork_shards(args, count, start, out_fd) if count > 1 else []
    try:
        run_process(args, Shard(0, count), start, out_fd, children)
    finally:
        worst = stop_children(children, args.timeout + 5) if children else 0
        os.close(out_fd)
    return worst


if __name__ == "__main__":
    sys.exit(main())
