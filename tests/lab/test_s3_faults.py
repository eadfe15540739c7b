"""S3 access denied: the fault with its ledger, refusals and exact restore (a policy's text, or
none), its effect check, a crash replay, a restore that keeps someone else's change, and the
shipped experiment on the resilient lab. On the fragile lab the S3 experiments fail (bench
time_scales, at time scales 0.1 and 1, published in docs/performance.md); here the fragile routes
are tested alone (test_lab_s3.py)."""

import json
from pathlib import Path

import pytest
import requests
from conftest import (
    ROOT,
    RunningLab,
    ShippedRuns,
    account_snapshot,
    lab_settings,
    ledger_entries,
)

from chaos_sre.errors import ArgumentError, AWSError, ValidationError
from chaos_sre.faults import s3 as s3_faults
from chaos_sre.faults.effects import missing_effects
from chaos_sre.probes import s3 as s3_probes
from chaos_sre.safety.ledger import Ledger, replay

EXPERIMENT = ROOT / "experiments" / "s3-access-denied.json"
BUCKET, ROLE = "uploads", "web-app"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"
OTHER = {"Sid": "ReplicationReads", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::123456789012:role/s3-replication"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def test_bad_arguments_refusals_and_a_dry_run_change_nothing(shared_lab: RunningLab,
                                                             own_ledger: Path) -> None:
    """One-line refusals before anything changes: actions outside S3, a role or bucket the
    account lacks, a policy past S3's 20 KB with the statement ("Bucket policy examples"), and a
    public policy that Block Public Access now blocks - S3 keeps a public policy put before
    BlockPublicPolicy but refuses to store one ("Blocking public access to your Amazon S3
    storage"), so the changed policy and the restore would both be refused."""
    config, s3 = lab_settings(shared_lab), shared_lab.client("s3", retries=False)
    before = account_snapshot(shared_lab)["s3"]
    refusals = [
        (ArgumentError, "argument actions", {"actions": "s3:GetObject"}),
        (ValidationError, "actions must be S3 actions (s3:GetObject, s3:Put*): not ec2:*",
         {"actions": ["s3:GetObject", "ec2:*"]}),
        (AWSError, "NoSuchEntity", {"role_name": "no-such-role"}),
        (AWSError, "NoSuchBucket", {"bucket_name": "no-such-bucket"}),
    ]
    for error, message, arguments in refusals:
        with pytest.raises(error) as caught:
            s3_faults.deny_bucket_access(configuration=config, **{"bucket_name": BUCKET,
                                                                  "role_name": ROLE, **arguments})
        assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)

    plan = s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, dry_run=True,
                                        configuration=config)
    assert plan["before"] == {"policy": None} and plan["role_arn"] == ROLE_ARN
    assert json.loads(plan["after"]["policy"])["Statement"] == [s3_faults.deny_statement(
        "ChaosSreDenywebapp", ROLE_ARN, BUCKET, ["s3:GetObject", "s3:PutObject"])]

    def compact(count: int) -> str:
        return json.dumps({"Statement": [dict(OTHER, Resource=[f"arn:aws:s3:::{BUCKET}/{n:05d}/*"
                                                               for n in range(count)])]},
                          separators=(",", ":"))

    count = 600
    while len(compact(count + 1)) < 20_400:
        count += 1  # a policy S3 takes, short of room for the deny statement
    public = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{BUCKET}/assets/*"}
    try:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=compact(count))
        with pytest.raises(ValidationError, match=r"would be \d+ bytes with the deny statement, more "
                                                  r"than S3's 20480"):
            s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, configuration=config)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(public))
        s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})
        with pytest.raises(ValidationError, match="grants public access that its Block Public Access "
                                                  "now blocks"):
            s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, configuration=config)
    finally:
        s3.delete_public_access_block(Bucket=BUCKET)
        s3.delete_bucket_policy(Bucket=BUCKET)
    assert account_snapshot(shared_lab)["s3"] == before
    assert ledger_entries(own_ledger) == []


def test_a_deny_holds_shows_its_effect_and_restores_none_or_the_exact_text(
        shared_lab: RunningLab, own_ledger: Path) -> None:
    """An explicit Deny in the bucket policy wins over the role's own Allow ("Policy evaluation
    logic", IAM User Guide): /assets falls back to the cache on the resilient lab, the effect
    check sees the statement held, and the restore deletes the policy the bucket did not have.
    A bucket with its own policy gets that exact text back - here from the ledger file another
    process replays, as after a killed run - and a policy someone changed during the run keeps
    their change: only the fault's statement is taken out."""
    config, s3 = lab_settings(shared_lab), shared_lab.client("s3", retries=False)
    url = shared_lab.env["CHAOS_SRE_TARGET_URL"]
    before = account_snapshot(shared_lab)["s3"]
    result = s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, configuration=config)
    assert result["dry_run"] is False and result["before"] == {"policy": None}
    assert requests.get(f"{url}/assets/logo.svg", timeout=5).headers.get("X-Lab-Fallback") == "s3"
    assert s3_probes.bucket_access(BUCKET, ROLE, configuration=config) == {
        "role_arn": ROLE_ARN, "denied": ["s3:GetObject", "s3:PutObject"], "reachable": False}
    intents = [e for e in ledger_entries(own_ledger) if e["kind"] == "intent"]
    assert [(e["resource"], e["inverse"]["op"], e["inverse"]["policy"]) for e in intents] == [
        (f"s3:bucket/{BUCKET}", "restore_bucket_policy", None)]
    ledger = Ledger(sorted(own_ledger.glob("*.jsonl"))[0])
    assert missing_effects(ledger, config, None) == ([], 1)
    s3.delete_bucket_policy(Bucket=BUCKET)  # someone takes the deny out mid-run
    missing, _ = missing_effects(ledger, config, None)
    assert missing == [f"s3:bucket/{BUCKET}: its policy no longer denies s3:GetObject, s3:PutObject "
                       f"to {ROLE_ARN}: something changed it back"]
    assert s3_faults.restore_bucket_access(configuration=config) == {
        "restored": [f"S3 bucket {BUCKET} already has its policy as it was"]}
    assert account_snapshot(shared_lab)["s3"] == before

    own = policy(OTHER)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=own)
    try:
        s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, configuration=config)
        assert s3_probes.bucket_reachable(BUCKET, ROLE, configuration=config) is False
        outcomes = replay(Ledger(sorted(own_ledger.glob("*.jsonl"))[-1]), config)
        assert outcomes == [f"S3 bucket {BUCKET} restored to its policy as it was"]
        assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == own  # the same text, whitespace too

        s3_faults.deny_bucket_access(bucket_name=BUCKET, role_name=ROLE, actions=["s3:PutObject"],
                                     configuration=config)
        changed = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        changed["Statement"].append(dict(OTHER, Sid="AddedDuringTheRun", Action="s3:ListBucket",
                                         Resource=f"arn:aws:s3:::{BUCKET}"))
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(changed))
        outcomes = replay(Ledger(sorted(own_ledger.glob("*.jsonl"))[-1]), config)
        assert outcomes == [f"S3 bucket {BUCKET}: statement ChaosSreDenywebapp taken out; the rest of "
                            "its policy changed during the run and was kept"]
        kept = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
        assert [s["Sid"] for s in kept] == ["ReplicationReads", "AddedDuringTheRun"]
        assert s3_probes.bucket_reachable(BUCKET, ROLE, configuration=config) is True
    finally:
        s3.delete_bucket_policy(Bucket=BUCKET)
    assert account_snapshot(shared_lab)["s3"] == before
    kinds = [(f["kind"], f["detail"]["actions"]) for f in shared_lab.timeline()["faults"]
             if f["resource"] == BUCKET]
    assert ("s3-bucket-access-denied", ["s3:GetObject", "s3:PutObject"]) in kinds
    assert ("s3-bucket-access-denied", ["s3:PutObject"]) in kinds


def test_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab: uploads are queued and assets served from
    the cache while the role is denied, so the upload SLO spends nothing; the lab saw access
    taken once, and the refusals as fallbacks on /upload and /assets only."""
    journal = shipped_runs.passed_degraded("s3-access-denied", "s3-bucket-access-denied", "200-upload-queued")
    assert journal["run"][1]["output"] == {"role_arn": ROLE_ARN, "denied": ["s3:GetObject", "s3:PutObject"],
                                           "reachable": False}
    assert shipped_runs.lab_truth("s3-access-denied").causes["200-asset-cached"] > 0
