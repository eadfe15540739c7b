"""Benchmark: the same Aurora failover experiment with and without RDS Proxy in the lab.

Runs ``experiments/rds-failover.json`` against a fresh resilient lab per run,
alternating "direct" (the application connects to the cluster endpoint) and
"RDS Proxy" (``chaos-sre lab up --rds-proxy``), and reports per mode the
medians and spread of: time to recover and budget spent (from the chaos_sre
journal extension), failed checkout requests, and the latency the sampler saw
after the fault (p99 and max). Loopback only; each run is bounded by the
experiment's own timeouts. Usage:

    .venv/bin/python -m bench.rds_proxy [--runs 5] [--time-scale 0.1] [--env NAME=VALUE ...]

The experiment's times are AWS seconds (docs/slo.md), so it runs unchanged at
any time scale; at time scale 1 the failover takes AWS's real 30 s.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import published
from bench.lab_process import running_lab
from chaos_sre.slo import math as slo_math
from chaos_sre.slo.samples import read_samples

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "rds-failover.json"
CHAOS = str(Path(sys.executable).with_name("chaos"))
MODES = {"direct": (), "RDS Proxy": ("--rds-proxy",)}
RUN_TIMEOUT_SECONDS = 300


def one_run(mode_args: tuple[str, ...], time_scale: str, extra_env: dict[str, str]) -> dict[str, Any]:
    """Run the experiment once against a fresh lab; return its key figures."""
    work = Path(tempfile.mkdtemp(prefix="bench-rds-"))
    journal = work / "journal.json"
    with running_lab("--time-scale", time_scale, *mode_args) as exports:
        env = {**os.environ, **exports, "CHAOS_SRE_LEDGER_DIR": str(work / "ledgers"), **extra_env}
        done = subprocess.run(
            [CHAOS, "--log-file", str(work / "chaos.log"), "run", "--journal-path", str(journal),
             str(EXPERIMENT)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
            check=False)
    ext = next(e for e in json.loads(journal.read_text())["extensions"] if e["name"] == "chaos_sre")
    samples = [s for s in read_samples(ext["samples_path"]) if s.scheduled >= ext["fault_started_at"]]
    latencies = [s.latency for s in samples if s.latency is not None]
    return {
        "exit": done.returncode,
        "passed": ext["verdict"]["passed"],
        "recover": ext["recovery"]["recover_seconds"],
        "budget": ext["budget"]["consumed_fraction"] * 100,
        "failed": sum(1 for s in samples if not s.good()),
        "p99": slo_math.percentile(latencies, 99) * 1000,
        "max": max(latencies) * 1000,
    }


def spread(values: list[float], fmt: str) -> str:
    return (f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"
            if values else "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--time-scale", default="0.1", help="lab time scale (default 0.1)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="experiment setting, e.g. CHAOS_SRE_RTO_SECONDS=120 (repeatable)")
    options = parser.parse_args()
    extra_env = {}
    for item in options.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env needs NAME=VALUE, got {item!r}")
        extra_env[name] = value
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    started = time.monotonic()
    for index in range(options.runs):
        for mode, args in MODES.items():
            outcome = one_run(args, options.time_scale, extra_env)
            results[mode].append(outcome)
            print(f"run {index + 1}/{options.runs} {mode}: {outcome}", file=sys.stderr, flush=True)
    settings = " ".join(options.env) or "experiment defaults"
    print(f"\n{options.runs} runs per mode, time scale {options.time_scale}, {settings}, "
          f"{time.monotonic() - started:.0f} s in all\n")
    print("| application reaches the writer | verdict passed | time to recover s | "
          "budget spent % | failed requests | latency p99 ms | latency max ms |")
    print("|---|---|---|---|---|---|---|")
    for mode, runs in results.items():
        recovered = [r["recover"] for r in runs if r["recover"] is not None]
        print(f"| {mode} | {sum(r['passed'] for r in runs)}/{len(runs)} | "
              f"{spread(recovered, '.2f')} | {spread([r['budget'] for r in runs], '.3f')} | "
              f"{spread([r['failed'] for r in runs], '.0f')} | "
              f"{spread([r['p99'] for r in runs], '.0f')} | {spread([r['max'] for r in runs], '.0f')} |")


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
