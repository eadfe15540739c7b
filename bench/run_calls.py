"""How many AWS API requests a run of each shipped experiment makes (its journal's ``aws_calls``).

Each run is the real `chaos run` of a shipped experiment against a fresh resilient lab at time
scale 0.1, its default configuration; the journal counts every request the run made (faults,
probes, rollbacks, the control; retries included) by IAM action. A table row per experiment:
the median over the runs of all requests, of reads (Describe/List/Get/Simulate) and of
mutations, with the busiest action; docs/safety.md copies it.

Usage: python -m bench.run_calls [--runs 3]
"""

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import ROOT, published, table
from bench.lab_process import THIS_CHECKOUT, chaos_run, running_lab
from chaos_sre.lab.core.mutations import is_mutation

EXPERIMENTS = ("az-outage", "az-blackhole", "rds-failover", "dynamodb-throttle", "ecs-scale-to-zero",
               "lambda-throttle", "s3-access-denied", "s3-replication-paused")


def counted(experiment: str) -> dict[str, int]:
    """The ``aws_calls`` of one run of ``experiment`` on a fresh lab."""
    folder = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    with running_lab("--time-scale", "0.1") as lab:
        done = chaos_run(THIS_CHECKOUT, lab, ROOT / "experiments" / f"{experiment}.json", folder,
                         timeout=600)
    journal = json.loads((folder / "journal.json").read_text())
    extension = next(e for e in journal["extensions"] if e.get("name") == "chaos_sre")
    if done.returncode != 0 or not extension["verdict"]["passed"]:
        sys.exit(f"error: {experiment} did not pass on the lab: {extension['verdict']['reasons']}")
    return dict(extension["aws_calls"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for experiment in EXPERIMENTS:
        runs = []
        for index in range(args.runs):
            runs.append(counted(experiment))
            print(f"{experiment} run {index + 1}/{args.runs}: {sum(runs[-1].values())} requests",
                  file=sys.stderr)
        mutating = [sum(n for a, n in run.items() if is_mutation(a.split(":", 1)[1])) for run in runs]
        busiest = Counter()  # type: Counter[str]
        for run in runs:
            busiest.update(run)
        action, total = busiest.most_common(1)[0]
        rows.append((experiment, statistics.median(sum(run.values()) for run in runs),
                     statistics.median(sum(run.values()) - m for run, m in zip(runs, mutating)),
                     statistics.median(mutating), f"{action} ({total / len(runs):.0f})"))
    print(f"AWS API requests per run of each shipped experiment, median of {args.runs} runs on "
          "the resilient lab at time scale 0.1 (journal `aws_calls`):\n")
    print(table(("experiment", "requests", "reads", "mutations", "busiest action (per run)"), rows))


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
