"""Benchmark: does the verdict tell the truth? A corpus of lab runs whose truth is known.

Each run is a shipped experiment (``experiments/*.json``) against a fresh lab, made to meet
one known situation:

* ``resilient``: the resilient lab, nothing else: the service survives, truth PASS;
* ``fragile``: the fragile lab: the service does not survive the fault, truth FAIL;
* ``persistent errors``: the lab's load balancer answers a share of requests with 500 from
  the fault on, for good (``/__lab/adversity``): the service never recovers, truth FAIL;
* ``delayed outage``: every request fails from some seconds after the fault on (for good, or
  long enough that recovery comes after the RTO), also after the rollbacks: truth FAIL;
* ``slow`` / ``hang``: a share of requests answered after the SLO's 2 s timeout, or never,
  from the fault on: truth FAIL;
* ``sampler killed`` / ``sampler stalled`` / ``samples torn`` / ``samples removed``: a method
  action right after the fault breaks the observation: the run was not observed, truth not PASS;
* ``no effect``: ECS's desired count is put back at once (as a scaler would), or the throttled
  Lambda function's reservation is removed (chaostoolkit-aws ``delete_function_concurrency``, as
  an operator or a deploy would): the service never met the fault, truth not PASS;
* ``samples NaN``: a sample line with ``NaN`` times lands in the samples file during the fault:
  the observation cannot be trusted, truth not PASS;
* ``dry run``: ``chaos run --dry=actions`` or ``--dry=activities``, or the experiments'
  ``CHAOS_SRE_DRY_RUN=true``: nothing was injected, truth not PASS;
* ``flag``: a Chaos Toolkit flag that would make the verdict untrustworthy (``--dry=probes``,
  ``--dry=pause``, a hypothesis strategy other than default, a rollback strategy other than
  always), truth not PASS;
* ``journal``: after the runs, journals derived from each experiment's first PASSED run - a
  torn verdict, a string ``"false"``, no verdict, a newer verdict version, a Chaos Toolkit status
  of failed, aborted or interrupted, a deviated run, a foreign journal (no control), a journal
  that declares the control but holds no verdict, a PASSED journal whose `chaos run` exited 1:
  truth not PASS.

Every run's journal is read by every consumer (bench/consumers.py: `chaos run`'s exit code, the
journal's outcome, each report format, `chaos-sre report --fail-on not-passed`, the game day,
the pytest plugin, the history). A false PASS is a run whose truth is not PASS that any consumer
read as PASSED; a false FAIL is a run whose truth is PASS that did not pass (verdict and exit
code). Targets (issue 18): no false PASS in the corpus, false FAIL at most 2 %.

    .venv/bin/python -m bench.verdict_fidelity [--reps 1] [--jobs 2] [--only TEXT]
        [--experiment NAME] [--out FILE]
"""

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, published, table
from bench.consumers import KNOWS_EXIT_CODE, passed_by, readings
from bench.lab_process import THIS_CHECKOUT, chaos_run, running_lab
from chaos_sre.aws.client import aws_client
from chaos_sre.lab.client import LabClient

EXPERIMENTS = ("az-outage", "az-blackhole", "ecs-scale-to-zero", "rds-failover",
               "dynamodb-throttle", "lambda-throttle", "s3-access-denied", "s3-replication-paused")
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
SAMPLER = "[c]haos_sre.slo.sampler.*{samples}"
BREAKERS = {
    "sampler killed": f"pkill -KILL -f '{SAMPLER}'",
    "sampler stalled": f"(pkill -STOP -f '{SAMPLER}'; sleep 6; pkill -CONT -f '{SAMPLER}') "
                       ">/dev/null 2>&1 &",
    "samples torn": "printf 'torn{{\\n' >> {samples}",
    "samples removed": "rm {samples}",
    "samples NaN": "printf '{{\"scheduled\": NaN, \"sent\": NaN, \"latency\": 0.001, "
                   "\"outcome\": \"2xx\", \"status\": 200, \"path\": \"/\"}}\\n' >> {samples}",
}
"""Shell scripts of the method actions that break the observation (``{samples}``: its file)."""


@dataclass(frozen=True)
class Case:
    """One run of the corpus: what it runs and the truth it must be judged by."""

    situation: str
    truth: str
    """``pass`` or ``not pass``."""
    experiment: str
    profile: str = "resilient"
    adversity: dict[str, Any] | None = None
    breaker: str | None = None
    """A key of BREAKERS, ``scaler`` (ECS's desired count put back), ``reservation removed``
    (the Lambda function's reserved concurrency deleted), ``policy deleted`` (the S3 bucket's
    policy, the fault's statement with it, deleted) or ``rules enabled`` (the bucket's
    replication rules enabled again)."""
    az: str | None = None
    flags: tuple[str, ...] = ()
    """`chaos run` flags."""
    environment: tuple[tuple[str, str], ...] = ()
    """More environment for `chaos run` (``CHAOS_SRE_DRY_RUN``)."""


@dataclass
class Result:
    case: Case
    exit: int | None
    """`chaos run`'s exit code (None: a derived journal, no run of its own)."""
    status: str
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0
    readings: dict[str, str] = field(default_factory=dict)
    """What each consumer read in the run's journal (bench/consumers.py)."""
    journal: str | None = None

    @property
    def passed(self) -> bool:
        """Any consumer read PASSED (or the run exited 0, or its verdict says passed)."""
        return self.exit == 0 or self.status == "passed" or bool(passed_by(self.readings))

    @property
    def telling_reason(self) -> str:
        """A failure or missing evidence first (the verdict lists those first), else the last
        positive finding (time to recover)."""
        if not self.reasons:
            return ""
        return self.reasons[-1] if self.status in ("passed", "dry-run") else self.reasons[0]

    @property
    def false_pass(self) -> bool:
        return self.passed and self.case.truth != "pass"

    @property
    def false_fail(self) -> bool:
        return not self.passed and self.case.truth == "pass"


def corpus(reps: int) -> list[Case]:
    """The corpus: ``reps`` times each row below (115 runs at ``reps`` 1). On the resilient lab
    AZ faults rotate over the three AZs (the fragile lab's web tier is in the default one);
    adversity is seeded by the run's index."""
    cases: list[Case] = []

    def add(count: int, situation: str, truth: str, experiment: str, profile: str = "resilient",
            adversity: dict[str, Any] | None = None, breaker: str | None = None,
            flags: tuple[str, ...] = (), environment: tuple[tuple[str, str], ...] = ()) -> None:
        for _ in range(count * reps):
            index = len(cases)
            cases.append(Case(situation, truth, experiment, profile,
                              {**adversity, "seed": index} if adversity else None, breaker,
                              AZS[index % 3] if experiment.startswith("az-")
                              and profile == "resilient" else None, flags, environment))

    for experiment in EXPERIMENTS:
        add(8, "resilient", "pass", experiment)
        add(3, "fragile", "not pass", experiment, "fragile")
    for experiment, share, count in (("az-outage", 0.01, 4), ("az-blackhole", 0.01, 2),
                                     ("ecs-scale-to-zero", 0.01, 2), ("az-outage", 0.005, 4),
                                     ("ecs-scale-to-zero", 0.005, 2)):
        add(count, f"persistent errors {share:.1%}", "not pass", experiment,
            adversity={"effect": "error", "share": share, "start": "fault"})
    for experiment, after, duration in (("az-outage", 4, None), ("az-outage", 6, None),
                                        ("az-outage", 8, None), ("az-outage", 5, 12),
                                        ("ecs-scale-to-zero", 6, None)):
        label = "for good" if duration is None else f"for {duration} s"
        add(2, f"delayed outage ({label})", "not pass", experiment, adversity={
            "effect": "error", "start": "fault", "after": after,
            **({"for": duration} if duration is not None else {})})
    add(4, "slow (5 % past the timeout)", "not pass", "az-outage",
        adversity={"effect": "slow", "share": 0.05, "delay": 2.5, "start": "fault"})
    add(4, "hang (2 %)", "not pass", "az-outage",
        adversity={"effect": "hang", "share": 0.02, "start": "fault"})
    for breaker, experiments in (("sampler killed", ("az-outage", "ecs-scale-to-zero") * 3),
                                 ("sampler stalled", ("az-outage", "rds-failover") * 2),
                                 ("samples torn", ("az-outage", "ecs-scale-to-zero",
                                                   "rds-failover") * 2),
                                 ("samples removed", ("az-outage", "ecs-scale-to-zero") * 2)):
        for experiment in experiments:
            add(1, breaker, "not pass", experiment, breaker=breaker)
    add(8, "no effect (ECS count put back)", "not pass", "ecs-scale-to-zero", breaker="scaler")
    add(4, "no effect (Lambda reservation removed)", "not pass", "lambda-throttle",
        breaker="reservation removed")
    add(2, "persistent errors 1.0%", "not pass", "lambda-throttle",
        adversity={"effect": "error", "share": 0.01, "start": "fault"})
    add(4, "no effect (bucket policy deleted)", "not pass", "s3-access-denied",
        breaker="policy deleted")
    add(2, "persistent errors 1.0%", "not pass", "s3-access-denied",
        adversity={"effect": "error", "share": 0.01, "start": "fault"})
    add(4, "no effect (replication rules enabled again)", "not pass", "s3-replication-paused",
        breaker="rules enabled")
    for experiment in ("az-outage", "ecs-scale-to-zero"):
        add(1, "samples NaN", "not pass", experiment, breaker="samples NaN")
    for experiment in EXPERIMENTS:
        for dry in ("actions", "activities"):
            add(1, f"dry run (--dry={dry})", "not pass", experiment, flags=(f"--dry={dry}",))
        add(1, "dry run (CHAOS_SRE_DRY_RUN=true)", "not pass", experiment,
            environment=(("CHAOS_SRE_DRY_RUN", "true"),))
        for flags in REFUSED_FLAGS:
            add(1, f"flag {' '.join(flags)}", "not pass", experiment, flags=flags)
    return cases


STATUSES = ("passed", "failed", "inconclusive", "dry-run")
LABELS = {status.upper() for status in STATUSES}
REFUSED_FLAGS = (("--dry=probes",), ("--dry=pause",),
                 ("--hypothesis-strategy", "before-method-only"),
                 ("--hypothesis-strategy", "after-method-only"),
                 ("--hypothesis-strategy", "during-method-only"),
                 ("--hypothesis-strategy", "continuously", "--fail-fast"),
                 ("--rollback-strategy", "default"), ("--rollback-strategy", "never"),
                 ("--rollback-strategy", "deviated"))
"""Flags whose runs the verdict could not be trusted under (docs/slo.md, "Chaos Toolkit flags")."""


def lab_client(lab: dict[str, str], service: str) -> Any:
    """A client of the lab's moto server (chaos-sre's own client factory)."""
    return aws_client(service, {"aws_endpoint_url": lab["AWS_ENDPOINT_URL"],
                                "aws_region": lab["AWS_DEFAULT_REGION"]},
                      {"aws_access_key_id": lab["AWS_ACCESS_KEY_ID"],
                       "aws_secret_access_key": lab["AWS_SECRET_ACCESS_KEY"]})


def shell_action(name: str, script: str) -> dict[str, Any]:
    return {"type": "action", "name": name, "pauses": {"after": 40},  # AWS seconds
            "provider": {"type": "process", "path": "sh", "arguments": ["-c", script]}}


def scaler_action(lab: dict[str, str]) -> dict[str, Any]:
    """chaostoolkit-aws puts the ECS service's desired count back, as a scaler would."""
    ecs = lab_client(lab, "ecs")
    service = ecs.describe_services(cluster="staging", services=["api"])["services"][0]
    return {"type": "action", "name": "a-scaler-puts-the-count-back", "pauses": {"after": 10},
            "provider": {"type": "python", "module": "chaosaws.ecs.actions",
                         "func": "update_desired_count",
                         "arguments": {"cluster": "staging", "service": "api",
                                       "desired_count": service["desiredCount"]}}}


def reservation_removed_action() -> dict[str, Any]:
    """chaostoolkit-aws removes the throttled function's reservation, as an operator or a deploy
    would: the throttle no longer holds."""
    return {"type": "action", "name": "someone-removes-the-reservation", "pauses": {"after": 10},
            "provider": {"type": "python", "module": "chaosaws.awslambda.actions",
                         "func": "delete_function_concurrency",
                         "arguments": {"function_name": "api-worker"}}}


def policy_deleted_action() -> dict[str, Any]:
    """boto3 deletes the bucket's policy, as an operator cleaning it up would: the deny no
    longer holds (chaostoolkit-aws has no bucket policy action)."""
    script = "import boto3; boto3.client('s3').delete_bucket_policy(Bucket='uploads')"
    return {"type": "action", "name": "someone-deletes-the-bucket-policy", "pauses": {"after": 10},
            "provider": {"type": "process", "path": sys.executable, "arguments": ["-c", script]}}


def rules_enabled_action() -> dict[str, Any]:
    """boto3 enables the bucket's replication rules again, as an operator would: the pause no
    longer holds."""
    script = ("import boto3; s3 = boto3.client('s3'); "
              "c = s3.get_bucket_replication(Bucket='uploads')['ReplicationConfiguration']; "
              "c['Rules'] = [{**r, 'Status': 'Enabled'} for r in c['Rules']]; "
              "s3.put_bucket_replication(Bucket='uploads', ReplicationConfiguration=c)")
    return {"type": "action", "name": "someone-enables-the-rules", "pauses": {"after": 10},
            "provider": {"type": "process", "path": sys.executable, "arguments": ["-c", script]}}


def experiment_for(case: Case, lab: dict[str, str], folder: Path) -> Path:
    """The shipped experiment, or a copy with the case's breaking action right after the fault."""
    shipped = ROOT / "experiments" / f"{case.experiment}.json"
    if case.breaker is None:
        return shipped
    document = json.loads(shipped.read_text())
    if case.breaker == "scaler":
        action = scaler_action(lab)
    elif case.breaker == "reservation removed":
        action = reservation_removed_action()
    elif case.breaker == "policy deleted":
        action = policy_deleted_action()
    elif case.breaker == "rules enabled":
        action = rules_enabled_action()
    else:
        samples = folder / "run.samples.jsonl"
        document["controls"][0]["provider"]["arguments"]["samples_path"] = str(samples)
        action = shell_action(case.breaker.replace(" ", "-"),
                              BREAKERS[case.breaker].format(samples=samples))
    document["method"].insert(1, action)
    path = folder / f"{case.experiment}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def set_adversity(lab: dict[str, str], rule: dict[str, Any]) -> None:
    LabClient(lab["CHAOS_SRE_TARGET_URL"]).set_adversity(rule)


def run_case(case: Case) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
    started = time.monotonic()
    with running_lab("--profile", case.profile) as lab:
        if case.adversity is not None:
            set_adversity(lab, case.adversity)
        if case.az is not None:
            lab = {**lab, "CHAOS_SRE_AZ": case.az}
        result = chaos_run(THIS_CHECKOUT, {**lab, **dict(case.environment)},
                           experiment_for(case, lab, folder), folder, flags=case.flags)
    journal_path = folder / "journal.json"
    journal = json.loads(journal_path.read_text()) if journal_path.exists() else {}
    extension: dict[str, Any] = next((e for e in journal.get("extensions", [])
                                      if e.get("name") == "chaos_sre"), {})
    verdict = extension.get("verdict") or {}
    return Result(case, result.returncode, str(verdict.get("status", "no verdict")),
                  list(verdict.get("reasons", [])) or [result.stderr.strip()[-300:]],
                  time.monotonic() - started, readings(journal_path, result.returncode),
                  str(journal_path) if journal_path.exists() else None)


def _torn(journal: dict[str, Any], change: Any) -> dict[str, Any]:
    """``journal`` with its chaos-sre extension's verdict replaced (``None``: removed)."""
    derived = copy.deepcopy(journal)
    extension = next(e for e in derived["extensions"] if e.get("name") == "chaos_sre")
    if change is None:
        del extension["verdict"]
    else:
        extension["verdict"] = change
    return derived


def _status(journal: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(journal), **changes}


def _foreign(journal: dict[str, Any], *, declared: bool) -> dict[str, Any]:
    derived = copy.deepcopy(journal)
    derived["extensions"] = [e for e in derived.get("extensions", []) if e.get("name") != "chaos_sre"]
    if not declared:
        derived["experiment"].pop("controls", None)
    return derived


DERIVED: dict[str, Any] = {
    "torn: passed but inconclusive": lambda j: _torn(j, {"passed": True, "status": "inconclusive",
                                                         "reasons": []}),
    "torn: passed is the string false": lambda j: _torn(j, {"passed": "false", "status": "passed",
                                                            "reasons": []}),
    "torn: no verdict": lambda j: _torn(j, None),
    "torn: newer verdict version": lambda j: _torn(j, {"version": 99, "passed": True,
                                                       "status": "passed", "reasons": []}),
    "Chaos Toolkit status failed": lambda j: _status(j, status="failed"),
    "Chaos Toolkit status aborted": lambda j: _status(j, status="aborted"),
    "Chaos Toolkit status interrupted": lambda j: _status(j, status="interrupted"),
    "deviated": lambda j: _status(j, deviated=True),
    "foreign (no control)": lambda j: _foreign(j, declared=False),
    "control declared, no verdict": lambda j: _foreign(j, declared=True),
}
"""Journals derived from a PASSED one, each of which no consumer may read as PASSED."""


def derived_results(results: list[Result]) -> list[Result]:
    """Each DERIVED journal of each experiment's first PASSED run (read without an exit code:
    no `chaos run` made it), and that run's journal read with a `chaos run` exit code of 1, each
    read by every consumer."""
    sources: dict[str, Result] = {}
    for result in results:
        if result.status == "passed" and result.journal and result.case.flags == () \
                and result.case.experiment not in sources:
            sources[result.case.experiment] = result
    derived: list[Result] = []
    for experiment, source in sorted(sources.items()):
        journal = json.loads(Path(str(source.journal)).read_text())
        folder = Path(tempfile.mkdtemp(prefix="bench-fidelity-journals-"))
        variants = {name: make(journal) for name, make in DERIVED.items()}
        exit_codes: dict[str, int | None] = {**{n: None for n in variants},
                                             "PASSED journal, chaos run exited 1": 1}
        for name, exit_code in exit_codes.items():
            document = variants.get(name, journal)
            path = folder / f"{len(derived)}.json"
            path.write_text(json.dumps(document))
            found = readings(path, exit_code)
            if exit_code is not None:  # the journal alone says PASSED: only these can know
                found = {k: v for k, v in found.items() if k in KNOWS_EXIT_CODE}
            model = found.get("game day", "")  # the verdict model's reading, exit code and all
            derived.append(Result(Case(f"journal: {name}", "not pass", experiment), exit_code,
                                  model.lower() if model in LABELS else "unreadable",
                                  [f"{k}: {v}" for k, v in found.items()], 0.0, found, str(path)))
    return derived


def run_all(cases: list[Case], jobs: int) -> Iterator[Result]:
    """Run the cases ``jobs`` at a time; results as they finish. Each lab variant is started
    once first (its lab server seeds it), so the timed runs all fork a seeded lab; a case whose
    lab does not start is a result with status ``error`` (its command's last output), not the
    end of the corpus."""
    for profile in sorted({case.profile for case in cases}):
        with running_lab("--profile", profile):
            pass
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_case, case): case for case in cases}
        for future in as_completed(futures):
            try:
                yield future.result()
            except subprocess.CalledProcessError as error:
                yield Result(futures[future], error.returncode, "error",
                             [f"{' '.join(error.cmd[-6:])}: {str(error.stderr).strip()[-300:]}"], 0.0)


def reread(path: Path) -> Iterator[Result]:
    """The lab runs of an earlier ``--out`` file, their journals read again by every consumer."""
    for saved in json.loads(path.read_text()):
        if str(saved["case"]["situation"]).startswith("journal: "):
            continue  # derived again afterwards
        case = Case(**{**saved["case"], "flags": tuple(saved["case"]["flags"]),
                       "environment": tuple(map(tuple, saved["case"]["environment"]))})
        journal = saved.get("journal")
        found = readings(Path(journal), saved["exit"]) if journal else {}
        yield Result(case, saved["exit"], saved["status"], saved["reasons"], saved["seconds"],
                     found, journal)


def summary(results: list[Result]) -> str:
    rows: dict[tuple[str, str, str], Counter[str]] = {}
    for result in results:
        key = (result.case.situation, result.case.experiment, result.case.truth)
        counts = rows.setdefault(key, Counter())
        counts["runs"] += 1
        counts[result.status] += 1
        counts["false PASS"] += result.false_pass
        counts["false FAIL"] += result.false_fail
    lines: list[tuple[object, ...]] = [(situation, experiment, truth, c["runs"], c["passed"], c["failed"],
              c["inconclusive"], c["dry-run"], c["runs"] - sum(c[s] for s in STATUSES),
              c["false PASS"], c["false FAIL"])
             for (situation, experiment, truth), c in rows.items()]
    total = len(results)
    truly_passing = sum(r.case.truth == "pass" for r in results)
    false_pass = sum(r.false_pass for r in results)
    false_fail = sum(r.false_fail for r in results)
    lines.append(("**all**", "", "", total, *(sum(r.status == s for r in results) for s in STATUSES),
                  sum(r.status not in STATUSES for r in results), false_pass, false_fail))
    text = table(("situation", "experiment", "truth", "runs", "PASSED", "FAILED", "INCONCLUSIVE",
                  "DRY-RUN", "unreadable", "false PASS", "false FAIL"), lines)
    text += (f"\n\nFalse PASS: {false_pass} of {total - truly_passing} runs whose truth is not "
             f"PASS (target 0). False FAIL: {false_fail} of {truly_passing} runs whose truth is "
             f"PASS ({false_fail / max(truly_passing, 1):.1%}; {false_fail / max(total, 1):.1%} of "
             "the corpus; target <= 2 %).")
    wrong = [r for r in results if r.false_pass or r.false_fail]
    if wrong:
        text += "\n\nWrong verdicts:\n" + "\n".join(
            f"- {r.case.situation}, {r.case.experiment} ({r.case.az or r.case.profile}): "
            f"{r.status}, exit {r.exit}, read PASSED by {', '.join(passed_by(r.readings)) or '-'}: "
            f"{'; '.join(r.reasons)[:400]}" for r in wrong)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1, help="repeat the corpus's rows (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--only", help="only situations containing this text")
    parser.add_argument("--experiment", choices=EXPERIMENTS, help="only runs of this experiment")
    parser.add_argument("--out", type=Path, help="also write every run's result here (JSON)")
    parser.add_argument("--no-derived", action="store_true",
                        help="do not derive torn and foreign journals from the PASSED runs")
    parser.add_argument("--reread", type=Path, metavar="FILE",
                        help="run nothing: read again the journals of an earlier --out FILE with "
                             "every consumer (their journals must still exist), then derive")
    args = parser.parse_args()
    cases = [c for c in corpus(args.reps) if (not args.only or args.only in c.situation)
             and (not args.experiment or c.experiment == args.experiment)]
    if not cases:
        parser.error("no run of the corpus matches --only and --experiment")
    started = time.monotonic()
    results: list[Result] = []
    for result in (reread(args.reread) if args.reread else run_all(cases, args.jobs)):
        results.append(result)
        flag = " FALSE PASS" if result.false_pass else " FALSE FAIL" if result.false_fail else ""
        print(f"[{len(results)}/{len(cases)} {time.monotonic() - started:.0f} s] "
              f"{result.case.situation}, {result.case.experiment}: {result.status} "
              f"(exit {result.exit}, {result.seconds:.0f} s){flag}: "
              f"{result.telling_reason[:160]}", file=sys.stderr, flush=True)
    if not args.no_derived:
        derived = derived_results(results)
        results.extend(derived)
        print(f"{len(derived)} derived journals read by every consumer", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps([{**asdict(r), "passed": r.passed} for r in results],
                                       indent=1))
    print(f"Machine: {machine()}. {len(results)} runs, {args.jobs} at a time, "
          f"{time.monotonic() - started:.0f} s.\n")
    print(summary(results))
    return 1 if any(r.false_pass for r in results) else 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
