"""Benchmark: one experiment file, the same verdict at every lab time scale.

Experiments state their times in AWS seconds (chaos_sre.timescale); the lab plays them at its
time scale and the control converts. This runs every shipped experiment, unchanged, against the
resilient and the fragile lab at each time scale asked (default 0.1, the lab's default, and 1.0,
AWS's own speed) and reports each run's verdict, budget spent and recovery time in AWS seconds,
with the wall time the run took. Issue 19's target: the same verdict at every scale, on both
profiles (resilient PASSED, fragile FAILED). Each run signs as a runner the lab holds to the
least-privilege policy generated for the shipped experiments (`chaos-sre iam policy --target-tag
env=staging`) and nothing more; a call that policy denied is reported beside the verdict.

    .venv/bin/python -m bench.time_scales [--scales 0.1,1.0] [--jobs 3] [--experiment NAME]
        [--out FILE]
"""

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import machine, published, table
from bench.lab_process import THIS_CHECKOUT, chaos_run, running_lab
from chaos_sre import iam
from chaos_sre.lab.client import LabClient

EXPERIMENTS = ("az-outage", "az-blackhole", "rds-failover", "dynamodb-throttle",
               "ecs-scale-to-zero", "lambda-throttle", "s3-access-denied", "s3-replication-paused")
PROFILES = ("resilient", "fragile")
EXPECTED = {"resilient": "passed", "fragile": "failed"}
RUN_TIMEOUT_AWS_SECONDS = 3000.0
"""The longest an experiment may take, in AWS seconds (scaled per run)."""
RUNNER_KEY = "bench-runner"
"""The access key the runs sign with; the lab holds it to :func:`runner_policy`."""


def runner_policy() -> dict[str, Any]:
    """The generated least-privilege policy for every shipped experiment."""
    return iam.policy_for([THIS_CHECKOUT.root / "experiments" / f"{e}.json" for e in EXPERIMENTS],
                          region="us-east-1", target_tags={"env": "staging"})


@dataclass(frozen=True)
class Run:
    """One `chaos run` of one experiment on one lab."""

    experiment: str
    profile: str
    scale: float
    status: str
    budget: float | None
    recover: float | None
    wall_seconds: float
    denied: tuple[str, ...] = ()
    """IAM actions the runner policy denied during the run."""


def one_run(experiment: str, profile: str, scale: float) -> Run:
    """Run ``experiment`` against a fresh ``profile`` lab at time scale ``scale``."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-scale-{experiment}-"))
    started = time.monotonic()
    with running_lab("--profile", profile, "--time-scale", f"{scale:g}") as lab:
        client = LabClient(lab["CHAOS_SRE_TARGET_URL"])
        client.attach_policy(runner_policy(), RUNNER_KEY)
        result = chaos_run(THIS_CHECKOUT, {**lab, "AWS_ACCESS_KEY_ID": RUNNER_KEY},
                           Path("experiments") / f"{experiment}.json", folder,
                           timeout=max(300.0, RUN_TIMEOUT_AWS_SECONDS * scale))
        evaluated = client.iam_requests(RUNNER_KEY)
    denied = tuple(sorted({r["action"] for r in evaluated if not r["allowed"]}))
    wall = time.monotonic() - started
    journal_path = folder / "journal.json"
    if not journal_path.exists():
        return Run(experiment, profile, scale, f"no journal (exit {result.returncode})", None,
                   None, wall, denied)
    journal: dict[str, Any] = json.loads(journal_path.read_text())
    found = [e for e in journal.get("extensions", []) if e.get("name") == "chaos_sre"]
    if not found:
        return Run(experiment, profile, scale, "no verdict", None, None, wall, denied)
    extension = found[0]
    return Run(experiment, profile, scale, str(extension["verdict"]["status"]),
               extension["budget"]["consumed_fraction"], extension["recovery"]["recover_seconds"],
               wall, denied)


def _cell(run: Run | None) -> str:
    if run is None:
        return "-"
    budget = "-" if run.budget is None else f"{run.budget * 100:.3g} %"
    recover = "-" if run.recover is None else f"{run.recover:.0f} s"
    denied = f", DENIED {', '.join(run.denied)}" if run.denied else ""
    return (f"{run.status.upper()}, budget {budget}, recover {recover} "
            f"({run.wall_seconds:.0f} s wall){denied}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.1,1.0", help="lab time scales (comma-separated)")
    parser.add_argument("--jobs", type=int, default=3, help="runs at once (each its own lab)")
    parser.add_argument("--experiment", action="append", choices=EXPERIMENTS,
                        help="only this experiment (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    plan = [(e, p, s) for s in scales for e in (args.experiment or EXPERIMENTS) for p in PROFILES]
    runs: dict[tuple[str, str, float], Run] = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(one_run, *item): item for item in plan}
        for future in as_completed(futures):
            run = future.result()
            runs[futures[future]] = run
            print(f"{run.experiment} {run.profile} x{run.scale:g}: {_cell(run)}", file=sys.stderr)
    rows, agreeing = [], 0
    for experiment in args.experiment or EXPERIMENTS:
        for profile in PROFILES:
            found = [runs.get((experiment, profile, s)) for s in scales]
            statuses = {r.status for r in found if r is not None}
            same = statuses == {EXPECTED[profile]} and not any(r is not None and r.denied
                                                               for r in found)
            agreeing += same
            rows.append([experiment, profile, *(_cell(r) for r in found),
                         "yes" if same else "NO"])
    header = ["experiment", "profile", *(f"time scale {s:g}" for s in scales),
              f"all {EXPECTED['resilient']}/{EXPECTED['fragile']} as expected"]
    report = (f"Time scales ({machine()}; {time.strftime('%Y-%m-%d')}): every shipped experiment, "
              f"unchanged, at lab time scales {', '.join(f'{s:g}' for s in scales)}; budget and "
              f"recovery in AWS seconds.\n\n{table(header, rows)}\n\n"
              f"{agreeing} of {len(rows)} experiment/profile pairs give the expected verdict at "
              "every scale.\n")
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0 if agreeing == len(rows) else 1


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
