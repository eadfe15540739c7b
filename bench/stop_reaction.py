"""Benchmark: how fast does the stop condition pull the fault back? (docs/performance.md)

Runs ``experiments/ecs-scale-to-zero.json`` against fresh ``fragile`` labs (one task,
slow start, web pages fail without it), where the error budget allowance is crossed
while the service is scaled to zero. From the run's own samples it finds the moment
the allowance was crossed - when the answer of the sample that pushed the spend over
the allowance arrived - and measures from there to:

* the stop decision (the control's ``stopped.at``), and
* the rollback being issued (the start of the first rollback activity in the journal).

Anchor: AWS FIS stop conditions act on CloudWatch alarms, whose periods are 10 s
(high resolution) or 60 s and more, plus the alarm's evaluation. Target: <= 1 s.

The experiment also runs through ``chaos-sre fis run`` (``--engines``; default both, in turn run
by run): the scale-in is then a FIS action, an SSM Automation the lab runs, and the stop is also
measured to StopExperiment reaching the lab (its API call log), the call that ends the FIS
experiment. With ``--compare-with DIR`` the runs alternate between this checkout and checkout DIR.

    .venv/bin/python -m bench.stop_reaction [--runs 5] [--engines chaos,fis] [--compare-with DIR]
"""

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench.common import machine, median_spread, percentile, published, table
from bench.lab_process import (
    Checkout,
    add_compare_with,
    chaos_run,
    checkouts,
    fis_run,
    running_lab,
)
from chaos_sre.lab.client import LabClient
from chaos_sre.slo.samples import read_samples


def crossing_moment(samples_path: Path, extension: dict) -> float:
    """When the answer that took the budget spent over the allowance arrived (epoch s)."""
    slo, fault = extension["slo"], extension["fault_started_at"]
    scale = float(extension.get("time_scale", 1.0))  # budget in AWS seconds, samples wall-clock
    per_bad = 1 / extension["sampling"]["rate"] / scale / slo["window_seconds"] / (1 - slo["target"])
    allowance = extension["budget"]["allowed_fraction"]
    threshold = slo.get("latency_threshold_seconds")
    spent = 0.0
    for sample in sorted(read_samples(samples_path), key=lambda s: s.scheduled):
        if sample.scheduled < fault or sample.good(threshold):
            continue
        spent += per_bad
        if spent > allowance:
            return sample.sent + (sample.latency if sample.latency is not None else 2.0)
    raise SystemExit("error: the allowance was never crossed in this run")


EXPERIMENT = "experiments/ecs-scale-to-zero.json"
STOP_CALL = "fis:StopExperiment"


def one_run(checkout: Checkout, engine: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-stop-"))
    with running_lab("--profile", "fragile", checkout=checkout) as lab:
        if engine == "fis":
            fis_run(checkout, lab, EXPERIMENT, folder)
            calls = LabClient(lab["CHAOS_SRE_TARGET_URL"]).api_calls()
        else:
            chaos_run(checkout, lab, EXPERIMENT, folder)
    journal = json.loads((folder / "journal.json").read_text())
    extension = next(e for e in journal["extensions"] if e["name"] == "chaos_sre")
    if not extension.get("stopped"):
        raise SystemExit("error: the stop condition did not fire in this run")
    crossed = crossing_moment(Path(extension["samples_path"]), extension)
    rollback = datetime.fromisoformat(journal["rollbacks"][0]["start"]).timestamp()
    measured = {"decision": extension["stopped"]["at"] - crossed, "rollback": rollback - crossed}
    if engine == "fis":
        stops = [at for at, name in calls if name == STOP_CALL]
        if not stops:
            raise SystemExit("error: no StopExperiment reached the lab in this run")
        measured["stop_call"] = stops[0] - crossed
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="chaos,fis",
                        help="comma-separated: chaos (chaos run), fis (chaos-sre fis run, which also "
                        "measures StopExperiment); default both, run by run in turn")
    add_compare_with(parser)
    args = parser.parse_args()
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    if not engines or set(engines) - {"chaos", "fis"}:
        sys.exit("error: --engines takes chaos, fis or both")
    measured = [(checkout, engine) for checkout in checkouts(args) for engine in engines]
    runs: dict[str, list[dict[str, float]]] = {}
    for index in range(args.runs):
        for checkout, engine in measured:
            label = f"{checkout.label}, {'chaos-sre fis run' if engine == 'fis' else 'chaos run'}"
            run = one_run(checkout, engine)
            runs.setdefault(label, []).append(run)
            print(f"run {index + 1}/{args.runs} ({label}): stop {run['decision']:.3f} s, rollback "
                  f"{run['rollback']:.3f} s after the crossing"
                  + (f", StopExperiment {run['stop_call']:.3f} s" if "stop_call" in run else ""),
                  file=sys.stderr)

    def row(label: str, name: str, key: str) -> tuple[str, ...]:
        values = [r[key] for r in runs[label]]
        return (label, name, median_spread(values, 3), f"{percentile(values, 95):.3f}",
                f"{max(values):.3f}")

    measures = [("the stop decision", "decision"), ("the rollback issued", "rollback"),
                ("StopExperiment reaching FIS", "stop_call")]
    rows = [row(label, name, key) for label in runs for name, key in measures if key in runs[label][0]]
    print(f"Machine: {machine()}. {args.runs} runs of {EXPERIMENT} per checkout and engine on the "
          "fragile lab, the engines in turn run by run; seconds after the budget allowance was "
          "crossed.\n")
    print(table(("checkout and engine", "from the allowance crossed to", "median [min, max] s",
                 "p95 s", "max s"),
                [*rows, ("-", "AWS FIS stop condition (CloudWatch alarm period)", "10 or 60+", "-",
                         "-")]))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
