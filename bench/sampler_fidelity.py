"""Benchmark: does the SLI sampler keep its schedule, and at what CPU cost? (docs/performance.md)

At each target rate (50, 200, 1000 req/s) and against two endpoints - the lab's
load balancer endpoint and a minimal static HTTP server (bench/http_server.py) -
it runs, one after the other:

* chaos-sre's open-loop sampler (``python -m chaos_sre.slo.sampler``), one process;
* Locust (FastHttpUser, one process, closed loop): rate / 10 users at 10 req/s each;
* wrk (Debian package), 1 thread and 16 connections, as fast as it can: the ceiling of
  what this machine can send to that endpoint (not rate-limited, so shown once).

Reported per tool: achieved rate (and its error against the target), scheduling lag
p50/p99 (the sampler: send time - scheduled time; Locust has no schedule), and CPU
seconds per 1000 requests (user + system time of the tool's process). Each cell is the
median of ``--runs`` runs of ``--seconds`` seconds, with the range. Loopback only.

    make bench-peers            # Locust in .venv-bench (wrk: apt-get install wrk)
    .venv/bin/python -m bench.sampler_fidelity [--rates 50,200,1000] [--seconds 5] [--runs 3]
        [--scale 5000:1,20000:4] [--scale-only]

The sampler and Locust run in turn, run by run. The scale-out table runs the sampler alone at
each RATE with PROCESSES processes against the static server, with the cores the sampler's
processes and the server used (what limits a rate the machine cannot keep).
"""

import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    HttpServer,
    cpu_seconds,
    machine,
    median_spread,
    percentile,
    published,
    rate_arguments,
    require,
    table,
    wait_with_cpu,
)
from bench.lab_process import running_lab
from chaos_sre.slo.samples import read_samples

LOCUST_USER_RATE = 10.0
WARM_UP_SECONDS = 1.5
"""Start-up (imports, spawning users) is left out of rates, lags and CPU."""


def run_sampler(url: str, rate: float, seconds: float, processes: int = 0,
                server_pid: int | None = None) -> dict[str, float]:
    """One run of the sampler (``processes``: its --processes, 0 for its default); with
    ``server_pid``, the endpoint's own CPU over the same window too."""
    out = Path(tempfile.mkdtemp(prefix="bench-sampler-")) / "samples.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "chaos_sre.slo.sampler", "--url", url,
                                "--rate", repr(rate), "--timeout", "2", "--out", str(out),
                                "--processes", str(processes)])
    time.sleep(WARM_UP_SECONDS)
    cpu_start, started = cpu_seconds(process.pid), time.time()
    server_start = cpu_seconds(server_pid) if server_pid else 0.0
    time.sleep(seconds)
    cpu_end, ended = cpu_seconds(process.pid), time.time()
    server_cpu = (cpu_seconds(server_pid) - server_start) / seconds if server_pid else 0.0
    process.send_signal(signal.SIGTERM)
    wait_with_cpu(process, timeout=30)
    samples = [s for s in read_samples(out) if started <= s.scheduled < ended]
    scheduled = sorted(s.scheduled for s in samples)
    span = scheduled[-1] - scheduled[0]
    lags = [(s.sent - s.scheduled) * 1000 for s in samples]
    return {"achieved": (len(samples) - 1) / span, "lag_p50": percentile(lags, 50),
            "lag_p99": percentile(lags, 99),
            "cpu_per_1000": (cpu_end - cpu_start) / len(samples) * 1000,
            "cpu_cores": (cpu_end - cpu_start) / seconds, "server_cores": server_cpu,
            "good": sum(s.good() for s in samples) / len(samples)}


def run_locust(locust: str, url: str, rate: float, seconds: float) -> dict[str, float]:
    users = max(1, round(rate / LOCUST_USER_RATE))
    prefix = Path(tempfile.mkdtemp(prefix="bench-locust-")) / "stats"
    process = subprocess.Popen(
        [locust, "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
         "-u", str(users), "-r", str(users), "-t", f"{math.ceil(seconds + WARM_UP_SECONDS + 1)}s",
         "--host", url, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
         "--stop-timeout", "2"],
        env={**os.environ, "BENCH_USER_RATE": repr(LOCUST_USER_RATE)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(WARM_UP_SECONDS)
    cpu_start, started = cpu_seconds(process.pid), time.time()
    time.sleep(seconds)
    cpu_end, ended = cpu_seconds(process.pid), time.time()
    wait_with_cpu(process, timeout=seconds + 60)
    rows = (prefix.parent / "stats_stats.csv").read_text().splitlines()
    aggregated = dict(zip(rows[0].split(","), rows[-1].split(",")))
    # The rate while every user runs, from Locust's per-second history.
    lines = (prefix.parent / "stats_stats_history.csv").read_text().splitlines()
    history = [dict(zip(lines[0].split(","), line.split(","))) for line in lines[1:]]
    steady = [(float(h["Timestamp"]), int(h["Total Request Count"])) for h in history
              if h["Name"] == "Aggregated" and int(h["User Count"]) == users
              and started - 1 <= float(h["Timestamp"]) <= ended + 1]
    elapsed = steady[-1][0] - steady[0][0]
    count = steady[-1][1] - steady[0][1]
    return {"achieved": count / elapsed,
            "cpu_per_1000": (cpu_end - cpu_start) / (count / elapsed * (ended - started)) * 1000,
            "good": 1 - int(aggregated["Failure Count"]) / max(int(aggregated["Request Count"]), 1)}


def run_wrk(wrk: str, url: str, seconds: float) -> dict[str, float]:
    process = subprocess.Popen([wrk, "-t1", "-c16", f"-d{seconds:g}s", url],
                               stdout=subprocess.PIPE, text=True)
    output = process.stdout.read() if process.stdout else ""
    cpu = wait_with_cpu(process, timeout=seconds + 30)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return {"achieved": rate, "cpu_per_1000": cpu / (rate * seconds) * 1000}


def summary_row(endpoint: str, tool: str, rate: str, target: float,
                results: list[dict[str, float]]) -> tuple[str, ...]:
    """One table row: medians [min, max] over runs."""
    achieved = [r["achieved"] for r in results]
    error = [abs(a - target) / target * 100 for a in achieved]
    lag = ((median_spread([r["lag_p50"] for r in results]),
            median_spread([r["lag_p99"] for r in results]))
           if "lag_p50" in results[0] else ("-", "-"))
    return (endpoint, tool, rate, median_spread(achieved, 1), median_spread(error, 2), *lag,
            median_spread([r["cpu_per_1000"] for r in results], 3),
            median_spread([r["good"] * 100 for r in results], 1))


def scale_out(url: str, server_pid: int, rates: list[tuple[float, int]], seconds: float,
              runs: int) -> list[tuple[str, ...]]:
    """The sampler alone at rates one process (or several) must keep, against the static
    server; the cores it and the server used say what limited it."""
    rows = []
    for rate, processes in rates:
        results = [run_sampler(url, rate, seconds, processes, server_pid) for _ in range(runs)]
        rows.append((*summary_row("static", f"chaos-sre sampler, {processes} process(es)",
                                  f"{rate:g}", rate, results),
                     median_spread([r["cpu_cores"] for r in results], 2),
                     median_spread([r["server_cores"] for r in results], 2)))
        print(f"scale {rate:g} x{processes}: {rows[-1][3]} req/s", file=sys.stderr)
    return rows


def main() -> int:
    args = rate_arguments(__doc__.splitlines()[0], extra=[
        ("--scale", "RATE:PROCESSES,... for the scale-out table (empty: none)", "5000:1,20000:4"),
        ("--scale-only", "only the scale-out table", None)])
    locust = require("locust", "make bench-peers")
    wrk = require("wrk", "apt-get install wrk")
    rates = args.rates
    rows = []
    with running_lab() as lab, HttpServer() as static:
        endpoints = () if args.scale_only else (("lab", lab["CHAOS_SRE_TARGET_URL"]),
                                                ("static", static.url))
        for endpoint, url in endpoints:
            for rate in rates:
                # In turn, run by run, so that a slower minute of the machine weighs on both.
                sampler, peers = [], []
                for _ in range(args.runs):
                    sampler.append(run_sampler(url, rate, args.seconds))
                    peers.append(run_locust(locust, url, rate, args.seconds))
                for tool, results in (("chaos-sre sampler", sampler), ("Locust FastHttpUser", peers)):
                    rows.append(summary_row(endpoint, tool, f"{rate:g}", rate, results))
                    print(f"{endpoint} {tool} {rate:g}: {rows[-1][3]} req/s", file=sys.stderr)
            ceiling = [run_wrk(wrk, url, args.seconds) for _ in range(args.runs)]
            rows.append((endpoint, "wrk -t1 -c16 (ceiling)", "max",
                         median_spread([r["achieved"] for r in ceiling], 0), "-", "-", "-",
                         median_spread([r["cpu_per_1000"] for r in ceiling], 3), "-"))
        scale = [(float(rate), int(processes)) for rate, _, processes in
                 (item.partition(":") for item in args.scale.split(",") if item)]
        scaled = scale_out(static.url, static.pid, scale, args.seconds, args.runs)
    header = ("endpoint", "tool", "target req/s", "achieved req/s", "rate error %",
              "lag p50 ms", "lag p99 ms", "CPU s / 1000 req", "good %")
    print(f"Machine: {machine()}. {args.runs} runs of {args.seconds:g} s per cell; "
          "median [min, max].\n")
    if rows:
        print(table(header, rows))
    if scaled:
        print()
        print(table((*header, "sampler cores", "server cores"), scaled))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
