"""Benchmark: how close are chaos-sre's measurements to the lab's ground truth? (docs/performance.md)

Runs ``experiments/az-outage.json`` ``--runs`` times (default 20), each against a fresh
lab, and compares the journal's numbers with what the lab's load balancer endpoint
observed (``/__lab/timeline``), both measured from the control's fault injection mark:

* time to detect: journal ``detect_seconds`` vs the lab's first failed answer;
* time to recover: journal ``recover_seconds`` vs the lab's last failed answer;
* budget spent: journal ``consumed_fraction`` vs the lab's failed-answer count, each
  standing for 1 / rate seconds of errors (DESIGN.md section 3).

Target: |time-to-recover error| <= max(2 / rate, 0.25 s) in at least 95 % of runs. With
``--compare-with DIR`` the runs alternate between this checkout and checkout DIR (each with its
own lab, control and experiment file), and each gets its rows.

    .venv/bin/python -m bench.measurement_accuracy [--runs 20] [--profile resilient] [--compare-with DIR]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.common import machine, median_spread, percentile, published, table
from bench.lab_process import Checkout, add_compare_with, chaos_run, checkouts, running_lab, runs_in_turn
from chaos_sre.lab.client import LabClient


def one_run(profile: str, checkout: Checkout) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-accuracy-"))
    with running_lab("--profile", profile, checkout=checkout) as lab:
        result = chaos_run(checkout, lab, "experiments/az-outage.json", folder)
        truth = LabClient(lab["CHAOS_SRE_TARGET_URL"]).timeline()
    journal = json.loads((folder / "journal.json").read_text())
    extension = next(e for e in journal["extensions"] if e["name"] == "chaos_sre")
    fault = extension["fault_started_at"]
    rate = extension["sampling"]["rate"]
    slo = extension["slo"]
    impact = truth["impact"]
    # the journal speaks AWS seconds (older checkouts: wall seconds, scale 1); the lab's
    # timeline, wall seconds: compared on the wall clock
    scale = float(extension.get("time_scale", 1.0))
    true_spent = (truth["requests"]["failed"] / rate / scale / slo["window_seconds"]
                  / (1 - slo["target"]))
    recovery = extension["recovery"]
    return {
        "exit": result.returncode, "rate": rate,
        "detect": recovery["detect_seconds"] * scale, "true_detect": impact["first_failure"] - fault,
        "recover": recovery["recover_seconds"] * scale, "true_recover": impact["last_failure"] - fault,
        "spent": extension["budget"]["consumed_fraction"], "true_spent": true_spent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", default="resilient")
    add_compare_with(parser)
    args = parser.parse_args()
    runs = runs_in_turn(
        checkouts(args), args.runs, lambda checkout: one_run(args.profile, checkout),
        lambda run: (f"exit {run['exit']:g}, recover {run['recover']:.3f} s (truth "
                     f"{run['true_recover']:.3f} s), detect {run['detect']:.3f} s (truth "
                     f"{run['true_detect']:.3f} s)"))
    print(f"Machine: {machine()}. {args.runs} runs of experiments/az-outage.json per checkout, "
          f"{args.profile} lab; error = chaos-sre - lab truth.\n")
    rows, notes = [], []
    for label, found in runs.items():
        checkout_rows, note = accuracy(label, found)
        rows += checkout_rows
        notes.append(note)
    print(table(("checkout", "measurement", "error median [min, max]", "|error| p50",
                 "|error| p95", "|error| max"), rows))
    print("\n" + "\n".join(notes))
    return 0


def accuracy(label: str, runs: list[dict[str, float]]) -> tuple[list[tuple[str, ...]], str]:
    """One checkout's table rows and its note on the target."""
    rate = runs[0]["rate"]
    bound = max(2 / rate, 0.25)
    recover_errors = [r["recover"] - r["true_recover"] for r in runs]
    detect_errors = [r["detect"] - r["true_detect"] for r in runs]
    budget_errors = [(r["spent"] - r["true_spent"]) / r["true_spent"] * 100 for r in runs]
    within = sum(abs(e) <= bound for e in recover_errors) / len(runs) * 100

    def row(name: str, errors: list[float], unit: str, digits: int) -> tuple[str, ...]:
        absolute = [abs(e) for e in errors]
        return (label, name, f"{median_spread(errors, digits)} {unit}",
                f"{percentile(absolute, 50):.{digits}f} {unit}",
                f"{percentile(absolute, 95):.{digits}f} {unit}",
                f"{max(absolute):.{digits}f} {unit}")

    note = (f"{label}: sampler at {rate:g} req/s; time to recover within max(2 / rate, 0.25 s) = "
            f"{bound:g} s in {within:.0f} % of runs (target >= 95 %); exit status "
            f"{sorted({int(r['exit']) for r in runs})}. Truth: recover median "
            f"{median_spread([r['true_recover'] for r in runs], 3)} s, detect median "
            f"{median_spread([r['true_detect'] for r in runs], 3)} s.")
    return [row("time to detect", detect_errors, "s", 3),
            row("time to recover", recover_errors, "s", 3),
            row("budget spent (relative)", budget_errors, "%", 2)], note


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
