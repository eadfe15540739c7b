"""Benchmark: how many of the scheduled samples are sent while the endpoint hangs? (docs/performance.md)

A minimal HTTP server (bench/http_server.py) answers normally, then blackholes every
request for 10 s (accepts and reads it, never answers), then answers again. Each
tool samples it for 20 s at the target rate with a 2 s request timeout:

* chaos-sre's open-loop sampler;
* Chaos Toolkit's own continuous steady-state hypothesis with its HTTP probe
  (``chaos run --hypothesis-strategy continuously --hypothesis-frequency 1/rate``);
* Locust (FastHttpUser, one process), rate / 10 users at 10 req/s each.

The server counts request arrivals, so every tool is counted the same way. Reported:
the share of the requests scheduled during the 10 s blackhole that reached the
server during it, and (for reference) the share before it. Median of ``--runs`` runs.

    make bench-peers
    .venv/bin/python -m bench.outage_fidelity [--rates 50,200] [--runs 3]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import HttpServer, machine, median_spread, published, require, table

LEAD_SECONDS = 5.0
BLACKHOLE_SECONDS = 10.0
TOTAL_SECONDS = 20.0
TIMEOUT = 2.0
LOCUST_USER_RATE = 10.0


def sampler(url: str, rate: float) -> None:
    out = Path(tempfile.mkdtemp(prefix="bench-outage-")) / "samples.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "chaos_sre.slo.sampler", "--url", url,
                                "--rate", repr(rate), "--timeout", repr(TIMEOUT), "--out", str(out)])
    time.sleep(TOTAL_SECONDS)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def chaos_toolkit(url: str, rate: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-ctk-"))
    experiment = {
        "title": "continuous HTTP steady state",
        "description": "Chaos Toolkit's own closed-loop sampling",
        "steady-state-hypothesis": {
            "title": "the endpoint answers",
            "probes": [{"type": "probe", "name": "endpoint-answers", "tolerance": 200,
                        "provider": {"type": "http", "url": url, "timeout": TIMEOUT}}]},
        "method": [{"type": "action", "name": "wait",
                    "provider": {"type": "process", "path": "sleep",
                                 "arguments": f"{TOTAL_SECONDS:g}"}}],
    }
    path = folder / "experiment.json"
    path.write_text(json.dumps(experiment))
    chaos = str(Path(sys.executable).with_name("chaos"))
    subprocess.run([chaos, "--log-file", str(folder / "chaos.log"), "run",
                    "--journal-path", str(folder / "journal.json"),
                    "--hypothesis-strategy", "continuously",
                    "--hypothesis-frequency", repr(1 / rate), "--rollback-strategy", "never",
                    str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=TOTAL_SECONDS + 120, check=False)


def locust(url: str, rate: float) -> None:
    users = max(1, round(rate / LOCUST_USER_RATE))
    prefix = Path(tempfile.mkdtemp(prefix="bench-locust-")) / "stats"
    subprocess.run(
        [require("locust", "make bench-peers"), "-f", str(Path(__file__).with_name("locustfile.py")),
         "--headless", "-u", str(users), "-r", str(users), "-t", f"{TOTAL_SECONDS:g}s",
         "--host", url, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
         "--stop-timeout", "3"],
        env={**os.environ, "BENCH_USER_RATE": repr(LOCUST_USER_RATE), "BENCH_TIMEOUT": repr(TIMEOUT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TOTAL_SECONDS + 120, check=False)


TOOLS: dict[str, Callable[[str, float], None]] = {
    "chaos-sre sampler (open loop)": sampler,
    "Chaos Toolkit continuous hypothesis, HTTP probe": chaos_toolkit,
    "Locust FastHttpUser (closed loop)": locust,
}


def one_run(tool: Callable[[str, float], None], rate: float) -> tuple[float, float]:
    """(share sent during the blackhole, share sent before it) for one run."""
    start = time.time()
    hole = start + LEAD_SECONDS
    with HttpServer(blackhole_at=hole, blackhole_seconds=BLACKHOLE_SECONDS) as server:
        tool(server.url, rate)
    during = sum(hole <= t < hole + BLACKHOLE_SECONDS for t in server.arrivals)
    before = sum(start + 2 <= t < hole for t in server.arrivals)  # after every tool's start-up
    return during / (rate * BLACKHOLE_SECONDS), before / (rate * (LEAD_SECONDS - 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,200")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    require("locust", "make bench-peers")
    rows = []
    for rate in (float(r) for r in args.rates.split(",")):
        for name, tool in TOOLS.items():
            results = [one_run(tool, rate) for _ in range(args.runs)]
            rows.append((name, f"{rate:g}", median_spread([r[0] * 100 for r in results], 1),
                         median_spread([r[1] * 100 for r in results], 1)))
            print(f"{name} {rate:g}: {rows[-1][2]} %", file=sys.stderr)
    print(f"Machine: {machine()}. {args.runs} runs per row; median [min, max]. Blackhole "
          f"{BLACKHOLE_SECONDS:g} s, request timeout {TIMEOUT:g} s.\n")
    print(table(("tool", "target req/s", "sent during the blackhole (% of scheduled)",
                 "sent before it (% of scheduled)"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
