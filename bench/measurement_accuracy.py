"""Benchmark: how close are chaos-sre's measurements to the lab's ground truth? (docs/performance.md)

Runs ``experiments/az-outage.json`` ``--runs`` times (default 20), each against a fresh
lab, and compares the journal's numbers with what the lab's load balancer endpoint
observed (``/__lab/timeline``), both measured from the control's fault injection mark:

* time to detect: journal ``detect_seconds`` vs the lab's first failed answer;
* time to recover: journal ``recover_seconds`` vs the lab's last failed answer;
* budget spent: journal ``consumed_fraction`` vs the lab's failed-answer count, each
  standing for 1 / rate seconds of errors (DESIGN.md section 3).

Target: |time-to-recover error| <= max(2 / rate, 0.25 s) in at least 95 % of runs.

    .venv/bin/python bench/measurement_accuracy.py [--runs 20] [--profile resilient]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from common import ROOT, machine, median_spread, percentile, table
from lab_process import running_lab

CHAOS = str(Path(sys.executable).with_name("chaos"))


def one_run(profile: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-accuracy-"))
    with running_lab("--profile", profile) as lab:
        result = subprocess.run(
            [CHAOS, "--log-file", str(folder / "chaos.log"), "run", "--journal-path",
             str(folder / "journal.json"), "experiments/az-outage.json"],
            cwd=ROOT, env={**os.environ, **lab, "CHAOS_SRE_LEDGER_DIR": str(folder / "ledgers"),
                           "CHAOS_SRE_HISTORY": str(folder / "history.sqlite")},
            capture_output=True, text=True, timeout=300, check=False)
        with urllib.request.urlopen(f"{lab['CHAOS_SRE_TARGET_URL']}/__lab/timeline",
                                    timeout=10) as response:
            truth = json.load(response)
    journal = json.loads((folder / "journal.json").read_text())
    extension = next(e for e in journal["extensions"] if e["name"] == "chaos_sre")
    fault = extension["fault_started_at"]
    rate = extension["sampling"]["rate"]
    slo = extension["slo"]
    impact = truth["impact"]
    true_spent = truth["requests"]["failed"] / rate / slo["window_seconds"] / (1 - slo["target"])
    recovery = extension["recovery"]
    return {
        "exit": result.returncode, "rate": rate,
        "detect": recovery["detect_seconds"], "true_detect": impact["first_failure"] - fault,
        "recover": recovery["recover_seconds"], "true_recover": impact["last_failure"] - fault,
        "spent": extension["budget"]["consumed_fraction"], "true_spent": true_spent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", default="resilient")
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        run = one_run(args.profile)
        runs.append(run)
        print(f"run {index + 1}/{args.runs}: recover {run['recover']:.3f} s (truth "
              f"{run['true_recover']:.3f} s), detect {run['detect']:.3f} s (truth "
              f"{run['true_detect']:.3f} s)", file=sys.stderr)
    rate = runs[0]["rate"]
    bound = max(2 / rate, 0.25)
    recover_errors = [r["recover"] - r["true_recover"] for r in runs]
    detect_errors = [r["detect"] - r["true_detect"] for r in runs]
    budget_errors = [(r["spent"] - r["true_spent"]) / r["true_spent"] * 100 for r in runs]
    within = sum(abs(e) <= bound for e in recover_errors) / len(runs) * 100

    def row(name: str, errors: list[float], unit: str, digits: int) -> tuple[str, ...]:
        absolute = [abs(e) for e in errors]
        return (name, f"{median_spread(errors, digits)} {unit}",
                f"{percentile(absolute, 50):.{digits}f} {unit}",
                f"{percentile(absolute, 95):.{digits}f} {unit}",
                f"{max(absolute):.{digits}f} {unit}")

    print(f"Machine: {machine()}. {args.runs} runs of experiments/az-outage.json, "
          f"{args.profile} lab, sampler at {rate:g} req/s; error = chaos-sre - lab truth.\n")
    print(table(("measurement", "error median [min, max]", "|error| p50", "|error| p95",
                 "|error| max"),
                [row("time to detect", detect_errors, "s", 3),
                 row("time to recover", recover_errors, "s", 3),
                 row("budget spent (relative)", budget_errors, "%", 2)]))
    print(f"\nTime to recover within max(2 / rate, 0.25 s) = {bound:g} s: {within:.0f} % of runs "
          f"(target >= 95 %). Truth: recover median "
          f"{median_spread([r['true_recover'] for r in runs], 3)} s, detect median "
          f"{median_spread([r['true_detect'] for r in runs], 3)} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
