"""Benchmark: where the SLI sampler's CPU goes, per request (docs/performance.md).

Runs the sampler of this checkout (and, with ``--compare-with DIR``, of another checkout) under
cProfile against the static server (bench/http_server.py) for ``--seconds`` at each rate, and
groups the profiled time of the steady state (start-up left out) by what it was for:

* waiting in the event loop's poll (idle: not CPU, shown for scale);
* the event loop itself (asyncio's or uvloop's callbacks, timers, tasks);
* the HTTP client (aiohttp, or chaos_sre/slo/http_client.py; socket calls included);
* sample records (building, encoding and writing sample lines);
* the schedule (the sampler's own loop, timers it sets, wait_for).

cProfile adds its own cost to every Python call, so the shares are what to read, not the
totals; CPU per request without a profiler is bench/sampler_fidelity.py's. Loopback only.

    .venv/bin/python -m bench.sampler_profile [--rates 50,1000] [--seconds 10] [--compare-with DIR]
"""

import argparse
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import HttpServer, published, table
from bench.lab_process import THIS_CHECKOUT, Checkout, checkouts
from chaos_sre.slo.samples import read_samples

WARM_UP_SECONDS = 1.5
GROUPS = (
    ("poll (idle)", ("method 'poll' of 'select.epoll'", "uvloop.loop.Loop.run_forever (poll)")),
    ("HTTP client", ("aiohttp/", "http_client.py", "method 'send' of '_socket", "method 'recv",
                     "_ssl.")),
    ("sample records", ("samples.py", "json/", "dataclasses.py", "copy.py", "posix.write",
                        "method 'write' of '_io", "method 'flush'")),
    ("schedule", ("slo/sampler.py", "tasks.py:436(wait_for)", "locks.py")),
    ("event loop", ("asyncio/", "selectors.py", "contextvars", "uvloop", "runners.py")),
)


def group_of(function: str) -> str:
    for name, needles in GROUPS:
        if any(needle in function for needle in needles):
            return name
    return "other"


PROFILED_SAMPLER = """
import atexit, cProfile, runpy, signal, sys
profiler = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
stats_file = sys.argv[1]
def dump():
    profiler.disable()
    profiler.dump_stats(stats_file)
atexit.register(dump)
sys.argv = ["sampler", *sys.argv[2:]]
runpy.run_module("chaos_sre.slo.sampler", run_name="__main__")
"""
"""The sampler with cProfile switched on by SIGUSR1: start-up is left out."""


def profile(checkout: Checkout, url: str, rate: float, seconds: float) -> dict[str, float]:
    """Seconds of profiled own time per group over the steady state, and its request count."""
    folder = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    out, stats = folder / "samples.jsonl", folder / "sampler.prof"
    process = subprocess.Popen(
        [checkout.python, "-c", PROFILED_SAMPLER, str(stats), "--url", url, "--rate", repr(rate),
         "--timeout", "2", "--out", str(out), "--max-seconds", "0"],
        env=checkout.env(), cwd=checkout.root)
    time.sleep(WARM_UP_SECONDS)
    process.send_signal(signal.SIGUSR1)
    profiled_from = time.time()
    time.sleep(seconds)
    profiled_until = time.time()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    requests = sum(profiled_from <= s.scheduled < profiled_until for s in read_samples(out))
    totals: dict[str, float] = {"requests": requests}
    for (filename, line, name), row in pstats.Stats(str(stats)).stats.items():  # type: ignore[attr-defined]
        function = f"{filename}:{line}({name})" if line else name
        group = "poll (idle)" if name.endswith("run_forever") and "uvloop" in filename else \
            group_of(function)
        totals[group] = totals.get(group, 0.0) + row[2]
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--compare-with")
    args = parser.parse_args()
    rows = []
    with HttpServer() as static:
        for checkout in checkouts(args):
            for rate in (float(r) for r in args.rates.split(",")):
                found = profile(checkout, static.url, rate, args.seconds)
                requests = found.pop("requests")
                busy = sum(v for k, v in found.items() if k != "poll (idle)")
                label = "this checkout" if checkout is THIS_CHECKOUT else checkout.label
                rows.append((label, f"{rate:g}", f"{busy / requests * 1e6:.0f}",
                             *(f"{found.get(name, 0.0) / busy * 100:.0f} %"
                               for name, _ in GROUPS[1:]),
                             f"{found.get('other', 0.0) / busy * 100:.0f} %"))
                print(f"{label} {rate:g}: {rows[-1][2]} us/request profiled", file=sys.stderr)
    print(f"cProfile own time over {args.seconds:g} s of steady state per cell (start-up left "
          "out), grouped; the shares are of the profiled busy time.\n")
    print(table(("sampler", "req/s", "profiled µs / request", *(name for name, _ in GROUPS[1:]),
                 "other"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
