"""Benchmark: `make demo` wall time and peak memory; CLI start-up next to `chaos --help`.

* ``make demo`` after install (the virtualenv exists): wall time, and peak memory of the
  whole process tree (the RSS of ``make`` and every descendant, summed, read from /proc
  every 0.1 s) and of its largest single process (the kernel's maxrss of the children).
* ``chaos-sre --help`` and ``chaos --help``: wall time of each, ``--repeat`` times.

Target: ``make demo`` <= 90 s. Medians, with the range.

    .venv/bin/python -m bench.end_to_end [--demo-runs 3] [--repeat 10]
"""

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import ROOT, machine, median_spread, published, table

BIN = Path(sys.executable).parent


def tree_rss_bytes(root: int) -> int:
    """Summed RSS of ``root`` and its descendants (from /proc; vanished processes skipped)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def demo_run() -> tuple[float, float, float, int]:
    """(wall s, peak tree RSS MiB, largest process maxrss MiB, exit status) of one `make demo`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    process = subprocess.Popen(["make", "demo"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.1):
            peak = max(peak, tree_rss_bytes(process.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    status = process.wait(timeout=600)
    wall = time.monotonic() - started
    done.set()
    watcher.join()
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak / 2**20, max(largest, before) / 1024, status


def startup(command: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
        times.append((time.monotonic() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    demos = []
    for index in range(args.demo_runs):
        demos.append(demo_run())
        print(f"make demo {index + 1}/{args.demo_runs}: {demos[-1][0]:.1f} s, exit {demos[-1][3]}",
              file=sys.stderr)
    helps = {name: startup([str(BIN / name), "--help"], args.repeat) for name in ("chaos-sre", "chaos")}
    print(f"Machine: {machine()}.\n")
    print(table(("measurement", "median [min, max]", "runs"), [
        ("`make demo` wall time (s)", median_spread([d[0] for d in demos], 1), len(demos)),
        ("`make demo` peak memory, whole process tree (MiB)",
         median_spread([d[1] for d in demos], 0), len(demos)),
        ("`make demo` largest single process, maxrss (MiB)",
         median_spread([d[2] for d in demos], 0), len(demos)),
        ("`make demo` exit status", ", ".join(str(d[3]) for d in demos), len(demos)),
        ("`chaos-sre --help` (ms)", median_spread(helps["chaos-sre"], 0), args.repeat),
        ("`chaos --help` (ms)", median_spread(helps["chaos"], 0), args.repeat),
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
