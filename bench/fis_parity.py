"""Benchmark: does `chaos-sre fis run` give the verdict `chaos run` gives? (docs/performance.md)

For every shipped experiment with a method action, on both lab profiles, ``--runs`` times: the
experiment through ``chaos run`` and through ``chaos-sre fis run``, each against a fresh lab, the
two in turn. For each run: the verdict, and time to detect and to recover against the lab's
ground truth (``/__lab/timeline``: first and last failed answer, from the run's fault mark), as
bench/measurement_accuracy.py measures them. Target: the same verdict status in every pair, and
time to recover within max(2 / rate, 0.25 s) of the truth (docs/performance.md's bound); the last
line counts the pairs and errors that miss it (the result is written either way).

    .venv/bin/python -m bench.fis_parity [--runs 1] [--experiments az-outage,rds-failover]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, median_spread, published, table
from bench.lab_process import THIS_CHECKOUT, chaos_run, fis_run, running_lab
from chaos_sre.lab.client import LabClient

PROFILES = ("resilient", "fragile")
ENGINES = {"chaos run": chaos_run, "fis run": fis_run}
BOUND_SECONDS = 0.25


def shipped() -> list[str]:
    return sorted(p.stem for p in (ROOT / "experiments").glob("*.json")
                  if any(step.get("type") == "action" for step in json.loads(p.read_text()).get("method", [])))


def one_run(experiment: str, profile: str, engine: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-fis-parity-"))
    with running_lab("--profile", profile) as lab:
        result = ENGINES[engine](THIS_CHECKOUT, lab, f"experiments/{experiment}.json", folder)
        truth = LabClient(lab["CHAOS_SRE_TARGET_URL"]).timeline()
    journal_path = folder / "journal.json"
    if not journal_path.exists():
        return {"status": f"no journal (exit {result.returncode}): {result.stderr.strip()[-200:]}"}
    journal = json.loads(journal_path.read_text())
    extension = next(e for e in journal.get("extensions", []) if e.get("name") == "chaos_sre")
    found: dict[str, Any] = {"status": extension["verdict"]["status"],
                             "reasons": extension["verdict"]["reasons"]}
    fault, recovery = extension.get("fault_started_at"), extension.get("recovery") or {}
    impact, scale = truth.get("impact") or {}, float(extension.get("time_scale", 1.0))
    if fault and recovery.get("recover_seconds") is not None and impact.get("last_failure"):
        found["recover_error"] = recovery["recover_seconds"] * scale - (impact["last_failure"] - fault)
    if fault and recovery.get("detect_seconds") is not None and impact.get("first_failure"):
        found["detect_error"] = recovery["detect_seconds"] * scale - (impact["first_failure"] - fault)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--experiments", default=",".join(shipped()),
                        help="comma-separated experiment names (default: every shipped one)")
    args = parser.parse_args()
    rows, mismatches, outside = [], 0, 0
    for experiment in args.experiments.split(","):
        for profile in PROFILES:
            runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in ENGINES}
            for index in range(args.runs):
                for engine in ENGINES:
                    run = one_run(experiment, profile, engine)
                    runs[engine].append(run)
                    print(f"{experiment} {profile} {index + 1}/{args.runs} {engine}: {run['status']}",
                          file=sys.stderr)
            statuses = {engine: sorted({r["status"] for r in found}) for engine, found in runs.items()}
            same = statuses["chaos run"] == statuses["fis run"] and len(statuses["chaos run"]) == 1
            mismatches += not same
            for engine, found in runs.items():
                recover = [r["recover_error"] for r in found if "recover_error" in r]
                detect = [r["detect_error"] for r in found if "detect_error" in r]
                outside += sum(abs(e) > BOUND_SECONDS for e in recover)
                rows.append((experiment, profile, engine, "/".join(statuses[engine]),
                             "yes" if same else "NO",
                             median_spread(detect, 3) if detect else "-",
                             median_spread(recover, 3) if recover else "-"))
    print(f"Machine: {machine()}. {args.runs} run(s) per experiment, profile and engine, each on "
          "a fresh lab; errors = chaos-sre - lab truth, wall seconds.\n")
    print(table(("experiment", "profile", "engine", "verdict", "same verdict", "detect error s",
                 "recover error s"), rows))
    print(f"\n{mismatches} experiment/profile pair(s) with different verdicts; {outside} recover "
          f"error(s) outside {BOUND_SECONDS} s.")
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
