"""Benchmark: one AZ's instances of 20 services taken at once, through `chaos run` and through
`chaos-sre fis run`, at 100 and 1000 instances (docs/performance.md, "FIS at scale").

For each size and engine, in turn, on a fresh resilient lab (time scale 0.1): 20 Auto Scaling
groups ``svc-01`` .. ``svc-20`` (launch template ``web``, three /20 subnets of their own in the
web VPC - a /24 holds 251 instances -, tagged
``tier=scale``, ``--per-service`` instances each) are created and awaited at their capacity;
then experiments/az-outage.json runs with its targets set by environment to every running
instance tagged ``tier=scale`` in us-east-1b: a third of each service. FIS matches one group
name per target, so the fault names no group and sets ``allow_instances_outside_groups`` (the
only change to the file; every tagged instance is in a group).
Per run:

* what the fault took: `chaos run`'s terminated ids (the fault's output), FIS's resolved targets
  (ListExperimentResolvedTargets), and the instances the lab saw terminated;
* the AWS API requests the runner made (the journal's ``aws_calls``, retries included): all, reads
  (Describe/List/Get/Simulate), mutations, and the busiest action;
* FIS's own requests (``fis run``): its AssumeRole, target resolution and TerminateInstances,
  made with the experiment's role through the lab's API and counted by the lab
  (``lab status``: ``fis_experiments[].api_calls``), retries included; all and mutations;
* the verdict, and the wall seconds the fault's action took (the whole chaos run action, or
  `start_experiment` until FIS reported its actions running).

    .venv/bin/python -m bench.fis_scale [--runs 1] [--per-service 5,50]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench.common import ROOT, machine, published, table
from bench.lab_process import THIS_CHECKOUT, chaos_run, fis_run, running_lab
from chaos_sre.lab.client import LabClient
from chaos_sre.lab.core.mutations import is_mutation

SERVICES = 20
AZ = "us-east-1b"
ENGINES = {"chaos run": chaos_run, "fis run": fis_run}
READY_SECONDS = 600.0
TARGETS = {"CHAOS_SRE_TAGS": "tier=scale", "CHAOS_SRE_ASG": "", "CHAOS_SRE_AZ": AZ,
           "CHAOS_SRE_SLO": str(ROOT / "probes" / "web.yaml")}
"""The shipped az-outage experiment, aimed at every service's instances in the AZ."""


def clients(lab: dict[str, str]) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id=lab["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=lab["AWS_SECRET_ACCESS_KEY"],
                                    region_name=lab["AWS_DEFAULT_REGION"])
    return {name: session.client(name, endpoint_url=lab["AWS_ENDPOINT_URL"])
            for name in ("ec2", "autoscaling", "fis")}


def scale_out(lab: dict[str, str], per_service: int) -> int:
    """Create the 20 services and wait until all their instances run; how many run."""
    aws = clients(lab)
    vpc = aws["ec2"].describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["web"]}])["Vpcs"][0]["VpcId"]
    subnets = [aws["ec2"].create_subnet(VpcId=vpc, CidrBlock=f"10.0.{64 + 16 * index}.0/20", AvailabilityZone=zone,
                                        TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                            {"Key": "Name", "Value": f"scale-{zone}"}]}])["Subnet"]["SubnetId"]
               for index, zone in enumerate(("us-east-1a", "us-east-1b", "us-east-1c"))]
    for number in range(1, SERVICES + 1):
        name = f"svc-{number:02d}"
        aws["autoscaling"].create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": "web", "Version": "$Latest"},
            MinSize=per_service, MaxSize=per_service * 2, DesiredCapacity=per_service,
            VPCZoneIdentifier=",".join(subnets),
            Tags=[{"Key": key, "Value": value, "PropagateAtLaunch": True, "ResourceId": name,
                   "ResourceType": "auto-scaling-group"}
                  for key, value in (("tier", "scale"), ("service", name), ("env", "staging"))])
    wanted, deadline = SERVICES * per_service, time.monotonic() + READY_SECONDS
    while True:
        running = sum(len(r["Instances"]) for page in aws["ec2"].get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag:tier", "Values": ["scale"]}, {"Name": "instance-state-name", "Values": ["running"]}])
            for r in page["Reservations"])
        if running >= wanted or time.monotonic() > deadline:
            return running
        time.sleep(1)


def scale_outage(folder: Path) -> Path:
    """experiments/az-outage.json whose fault takes the tagged instances of every group."""
    document = json.loads((ROOT / "experiments" / "az-outage.json").read_text())
    fault = next(step for step in document["method"] if step.get("type") == "action")
    fault["provider"]["arguments"]["allow_instances_outside_groups"] = True
    path = folder / "scale-outage.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def one_run(per_service: int, engine: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-fis-scale-"))
    with running_lab("--profile", "resilient") as lab:
        running = scale_out(lab, per_service)
        if running < SERVICES * per_service:
            sys.exit(f"error: only {running} of {SERVICES * per_service} instances ran within {READY_SECONDS:g} s")
        started = time.monotonic()
        result = ENGINES[engine](THIS_CHECKOUT, {**lab, **TARGETS}, scale_outage(folder), folder,
                                 timeout=900)
        wall = time.monotonic() - started
        journal_path = folder / "journal.json"
        if not journal_path.exists():
            sys.exit(f"error: {engine} wrote no journal (exit {result.returncode}): {result.stderr[-400:]}")
        journal = json.loads(journal_path.read_text())
        action = journal["run"][0]
        output = action.get("output") or {}
        if engine == "fis run":
            taken = [t["targetInformation"]["arn"].rsplit("/", 1)[-1]
                     for page in clients(lab)["fis"].get_paginator("list_experiment_resolved_targets").paginate(
                         experimentId=output["experiment_id"]) for t in page["resolvedTargets"]]
        else:
            taken = list(output.get("instance_ids") or [])
        api = LabClient(lab["CHAOS_SRE_TARGET_URL"])
        terminated = {f["resource"] for f in api.timeline()["faults"] if f["kind"] == "instance-terminated"}
        fis_calls = Counter({str(k): int(v) for e in api.status().get("fis_experiments") or []
                             if e["id"] == output.get("experiment_id") for k, v in e["api_calls"].items()})
    extension = next(e for e in journal["extensions"] if e.get("name") == "chaos_sre")
    calls = Counter({str(k): int(v) for k, v in (extension.get("aws_calls") or {}).items()})
    mutations = sum(n for action_name, n in calls.items() if is_mutation(action_name.split(":", 1)[1]))
    return {"instances": running, "taken": len(taken), "terminated": len(terminated & set(taken)),
            "verdict": extension["verdict"]["status"], "calls": sum(calls.values()), "mutations": mutations,
            "busiest": calls.most_common(1)[0] if calls else ("-", 0),
            "fis_calls": sum(fis_calls.values()),
            "fis_mutations": sum(n for name, n in fis_calls.items() if is_mutation(name.split(":", 1)[1])),
            "fis_busiest": fis_calls.most_common(1)[0] if fis_calls else ("-", 0),
            "action_seconds": _seconds(action), "wall": wall}


def _seconds(action: dict[str, Any]) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(action["end"]) - datetime.fromisoformat(action["start"])).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--per-service", default="5,50",
                        help="instances per service, comma-separated sizes (default: 5,50 = 100 and 1000)")
    args = parser.parse_args()
    rows = []
    for per_service in (int(n) for n in args.per_service.split(",")):
        for engine in ENGINES:
            runs = []
            for index in range(args.runs):
                run = one_run(per_service, engine)
                runs.append(run)
                print(f"{SERVICES * per_service} instances {engine} {index + 1}/{args.runs}: {run['verdict']}, "
                      f"took {run['taken']}, {run['calls']} requests", file=sys.stderr)
            median = {key: statistics.median(r[key] for r in runs)
                      for key in ("calls", "mutations", "action_seconds", "taken", "terminated",
                                  "fis_calls", "fis_mutations")}
            busiest = Counter(r["busiest"] for r in runs).most_common(1)[0][0]
            fis_busiest = Counter(r["fis_busiest"] for r in runs).most_common(1)[0][0]
            fis = (f"{median['fis_calls']:g}", f"{median['fis_mutations']:g}",
                   f"{fis_busiest[0]} ({fis_busiest[1]})") if engine == "fis run" else ("-", "-", "-")
            rows.append((SERVICES * per_service, engine, "/".join(sorted({r["verdict"] for r in runs})),
                         f"{median['taken']:g}", f"{median['terminated']:g}", f"{median['calls']:g}",
                         f"{median['calls'] - median['mutations']:g}", f"{median['mutations']:g}",
                         f"{busiest[0]} ({busiest[1]})", *fis,
                         f"{median['calls'] + median['fis_calls']:g}", f"{median['action_seconds']:.1f}"))
    print(f"Machine: {machine()}. {args.runs} run(s) per size and engine, each on a fresh resilient lab "
          f"(time scale 0.1), medians; {SERVICES} services over 3 AZs, the fault takes every one's "
          f"instances in {AZ}. Requests: the runner's (the journal's aws_calls) and FIS's own (made with "
          "the experiment's role through the lab's API, counted by the lab), retries included.\n")
    print(table(("instances", "engine", "verdict", "targets", "terminated", "runner requests", "reads",
                 "mutations", "busiest action", "FIS requests", "FIS mutations", "FIS busiest action",
                 "all requests", "fault action s"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
