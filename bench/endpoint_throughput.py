"""Benchmark: how many requests per second the lab's load balancer endpoint serves.

Starts a lab (resilient profile, default time scale, dynamics running) on free
loopback ports, drives its endpoint with wrk (Debian package `wrk`) for a few
bounded runs, and prints the median and spread. With ``--compare-with DIR``, a
second lab runs the ``chaos_sre`` of checkout DIR (e.g. a `git worktree` of an
earlier commit) and the two are measured in turn, run by run. Usage:

    .venv/bin/python -m bench.endpoint_throughput [--runs 5] [--seconds 5] [--connections 16]
        [--compare-with DIR]
"""

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys

from bench.common import published
from bench.lab_process import add_compare_with, checkouts, running_lab


def wrk_rate(url: str, seconds: int, connections: int, close: bool) -> float:
    headers = ["-H", "Connection: close"] if close else []
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *headers, url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    add_compare_with(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    results: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        urls = {c.label: stack.enter_context(running_lab(checkout=c))["CHAOS_SRE_TARGET_URL"]
                for c in checkouts(args)}
        for _ in range(args.runs):
            for mode, close in (("keep-alive", False), ("new connection per request", True)):
                for name, url in urls.items():
                    results.setdefault((name, mode), []).append(
                        wrk_rate(f"{url}/", args.seconds, args.connections, close))
    print(f"lab endpoint, requests/s over {args.runs} runs of {args.seconds} s, "
          f"{args.connections} connections, one wrk thread")
    print("| lab | connections | median | min | max |\n|---|---|---|---|---|")
    for (name, mode), rates in results.items():
        print(f"| {name} | {mode} | {statistics.median(rates):.0f} | {min(rates):.0f} | {max(rates):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
