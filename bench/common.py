"""Shared by the benchmarks: statistics, CPU time of child processes, markdown tables, peers, and
the result file each writes."""

import argparse
import contextlib
import io
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from chaos_sre.slo import math as slo_math

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / ".venv-bench"
"""Peer tools that must not share chaos-sre's virtualenv (Locust): `make bench-peers`."""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100) of a non-empty sequence: the SLO engine's own
    (chaos_sre.slo.math.percentile), so a benchmark and a verdict rank alike."""
    found = slo_math.percentile(values, q)
    if found is None:
        raise ValueError("percentile of no values")
    return found


def median_spread(values: Sequence[float], digits: int = 2) -> str:
    """``median [min, max]`` of several runs."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{statistics.median(values):.{digits}f} "
            f"[{min(values):.{digits}f}, {max(values):.{digits}f}]")


def wait_with_cpu(process: "subprocess.Popen[bytes] | subprocess.Popen[str]",
                  timeout: float) -> float:
    """Wait for ``process`` (at most ``timeout`` s, then kill it); return its user+system CPU seconds.

    ``os.wait4`` reaps the process and reports its own resource usage (children
    it waited for included), which ``Popen.wait`` would throw away.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            process.kill()
            deadline = float("inf")
        time.sleep(0.02)


def cpu_seconds(pid: int) -> float:
    """CPU seconds a running process and its live descendants (a sampler's forked processes)
    have used so far: the scheduler's nanosecond run time of every thread
    (/proc/PID/task/TID/schedstat), or user + system time in 10 ms ticks where that is
    missing. A 5 s window at 50 req/s holds 250 requests: 10 ms ticks would be 0.04 s per
    1000 requests."""
    return sum(_own_cpu_seconds(each) for each in (pid, *_descendants(pid)))


def _own_cpu_seconds(pid: int) -> float:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (from /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def peer(name: str) -> str | None:
    """A peer tool: from the bench virtualenv (locust), else from PATH (wrk)."""
    candidate = PEERS_VENV / "bin" / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def require(name: str, hint: str) -> str:
    found = peer(name)
    if found is None:
        sys.exit(f"error: {name} is needed for this benchmark ({hint})")
    return found


def rate_arguments(description: str,
                   extra: Sequence[tuple[str, str, str | None]] = ()) -> argparse.Namespace:
    """``--rates`` (comma-separated req/s), ``--seconds`` per run and ``--runs``; rates parsed.
    ``extra``: (option, help, default) more options, a flag where the default is None."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rates", default="50,200,1000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    for option, help_text, default in extra:
        if default is None:
            parser.add_argument(option, action="store_true", help=help_text)
        else:
            parser.add_argument(option, default=default, help=help_text)
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    return args


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line about the machine the numbers come from."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, Python "
            f"{sys.version.split()[0]}")


class HttpServer:
    """bench/http_server.py in its own process; ``arrivals`` are filled in when it stops."""

    def __init__(self, blackhole_at: float | None = None, blackhole_seconds: float = 10.0) -> None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="bench-http-"))
        self._port_file = folder / "port"
        self._arrivals_file = folder / "arrivals"
        command = [sys.executable, str(ROOT / "bench" / "http_server.py"),
                   "--port-file", str(self._port_file), "--arrivals", str(self._arrivals_file)]
        if blackhole_at is not None:
            command += ["--blackhole-at", repr(blackhole_at),
                        "--blackhole-seconds", repr(blackhole_seconds)]
        self._process = subprocess.Popen(command)
        self.pid = self._process.pid
        self.arrivals: list[float] = []
        self.url = ""

    def __enter__(self) -> "HttpServer":
        import time

        deadline = time.monotonic() + 10
        while not (self._port_file.exists() and self._port_file.read_text()):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self._process.kill()
                sys.exit("error: the benchmark HTTP server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self._port_file.read_text()}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._arrivals_file.exists():
            self.arrivals = [float(x) for x in self._arrivals_file.read_text().split()]


RESULTS = ROOT / "bench" / "results"
"""Where each benchmark writes its result (``bench/results/NAME.md``); docs/performance.md holds
a copy of each between include markers (``python -m bench.publish``)."""


class _Tee(io.TextIOBase):
    """Writes to the console and keeps a copy."""

    def __init__(self, console: TextIO) -> None:
        self.console, self.kept = console, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.console.write(text)

    def flush(self) -> None:
        self.console.flush()


def published(module: str, main: Callable[[], int | None]) -> int:
    """Run a benchmark's ``main`` and write what it prints (its result: progress goes to stderr)
    to ``bench/results/NAME.md``, with the command, date and commit it was measured at; a
    benchmark that fails writes nothing. ``CHAOS_SRE_BENCH_RESULTS=off`` writes no file (a trial
    run)."""
    name = module.rsplit(".", 1)[-1]
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        status = main() or 0
    if status == 0 and os.environ.get("CHAOS_SRE_BENCH_RESULTS") != "off":
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip() or "unknown"
        command = shlex.join(["python", "-m", module, *sys.argv[1:]])
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.md").write_text(
            f"<!-- {command}; {time.strftime('%Y-%m-%d')}; commit {commit}; {machine()} -->\n"
            + tee.kept.getvalue().strip() + "\n", encoding="utf-8")
        print(f"result written to bench/results/{name}.md (python -m bench.publish puts it in "
              "docs/performance.md)", file=sys.stderr)
    return int(status)
