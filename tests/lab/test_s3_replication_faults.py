"""S3 replication paused: the fault with its refusals, ledger and exact restore of the replication
configuration, what it leaves changed (objects written while the rules were disabled), its
effect check, a crash replay, and the shipped experiment on the resilient lab (on the fragile lab:
bench time_scales; the fragile route alone: test_lab_s3.py)."""

import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import (
    RunningLab,
    ShippedRuns,
    account_snapshot,
    extension,
    lab_settings,
    ledger_entries,
)

from chaos_sre.errors import ValidationError
from chaos_sre.faults import s3_replication
from chaos_sre.faults.effects import missing_effects
from chaos_sre.probes import s3 as s3_probes
from chaos_sre.safety.ledger import Ledger, replay

BUCKET, REPLICA, RULE = "uploads", "uploads-replica", "all-uploads"


def test_refusals_and_a_dry_run_change_nothing(shared_lab: RunningLab, own_ledger: Path) -> None:
    """One-line refusals before anything changes: a bucket that replicates nothing, no enabled
    rule to the destination named; the dry run names the rules it would disable."""
    config = lab_settings(shared_lab)
    before = account_snapshot(shared_lab)["s3"]
    for arguments, message in (({"bucket_name": REPLICA}, "has no replication configuration"),
                               ({"bucket_name": BUCKET, "destination_buckets": ["elsewhere"]},
                                "no enabled replication rule to elsewhere: nothing to pause")):
        with pytest.raises(ValidationError, match=message) as caught:
            s3_replication.pause_replication(configuration=config, **arguments)
        assert "\n" not in str(caught.value)
    plan = s3_replication.pause_replication(bucket_name=BUCKET, destination_buckets=[f"arn:aws:s3:::{REPLICA}"],
                                            dry_run=True, configuration=config)
    assert (plan["rule_ids"], plan["destination_buckets"], plan["prefixes"]) == ([RULE], [REPLICA], [""])
    assert plan["after"]["replication"]["Rules"][0]["Status"] == "Disabled"
    assert account_snapshot(shared_lab)["s3"] == before
    assert ledger_entries(own_ledger) == []


def test_a_pause_holds_leaves_new_objects_unreplicated_and_restores_the_configuration(
        shared_lab: RunningLab, own_ledger: Path) -> None:
    """S3 has no pause outside FIS: the fault disables the rules ("Managing or pausing live
    replication"), so an object written meanwhile gets no replication status and is not
    replicated once the rule is enabled again - the restore puts the configuration back exactly
    and names those objects as left changed. The effect check sees a rule enabled again by
    someone else; a replay from the ledger file (a killed run) restores too."""
    config, s3 = lab_settings(shared_lab), shared_lab.client("s3", retries=False)
    before = account_snapshot(shared_lab)["s3"]
    result = s3_replication.pause_replication(bucket_name=BUCKET, configuration=config)
    assert result["rule_ids"] == [RULE] and result["dry_run"] is False
    assert s3_probes.replication_rules(BUCKET, configuration=config) == {RULE: "Disabled"}
    s3.put_object(Bucket=BUCKET, Key="paused/during.bin", Body=b"during")
    assert s3_probes.replication_status(BUCKET, prefix="paused/", configuration=config) == {
        "sampled": 1, "statuses": {"NONE": 1}, "oldest_pending_seconds": 0.0}
    ledger = Ledger(sorted(own_ledger.glob("*.jsonl"))[0])
    assert missing_effects(ledger, config, None) == ([], 1)
    outcome = s3_replication.restore_replication(configuration=config)
    assert outcome == {"restored": [f"S3 bucket {BUCKET} replication configuration restored (rules {RULE})"]}
    assert [c["change"] for c in ledger.left_changed()] == [
        "objects written while its replication rules were disabled are not replicated"]
    assert account_snapshot(shared_lab)["s3"] == before
    time.sleep(1.0)  # ten AWS seconds: twice the lab's replication time
    assert "ReplicationStatus" not in s3.head_object(Bucket=BUCKET, Key="paused/during.bin")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=REPLICA, Key="paused/during.bin")

    s3_replication.pause_replication(bucket_name=BUCKET, configuration=config)
    configuration = s3.get_bucket_replication(Bucket=BUCKET)["ReplicationConfiguration"]
    enabled = {**configuration, "Rules": [{**r, "Status": "Enabled"} for r in configuration["Rules"]]}
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=enabled)  # someone re-enables it
    latest = Ledger(sorted(own_ledger.glob("*.jsonl"))[-1])
    missing, _ = missing_effects(latest, config, None)  # the test's one ledger: both faults
    assert set(missing) == {f"s3:bucket/{BUCKET}: its replication rules {RULE} are enabled again: "
                            "something put them back"}
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=configuration)  # disabled again
    assert replay(latest, config) == [f"S3 bucket {BUCKET} replication configuration restored (rules {RULE})"]
    assert account_snapshot(shared_lab)["s3"] == before
    kinds = [f["kind"] for f in shared_lab.timeline()["faults"] if f["resource"] == BUCKET]
    assert kinds.count("s3-replication-paused") >= 3


def test_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab: while the replica falls behind, recent
    uploads are read from the source bucket, so the replica SLO spends nothing; the journal
    names the objects left unreplicated."""
    journal = shipped_runs.passed_degraded("s3-replication-paused", "s3-replication-paused",
                                           "200-replica-behind")
    assert journal["run"][1]["output"] == {RULE: "Disabled"}
    assert [c["change"] for c in extension(journal)["left_changed"]] == [
        "objects written while its replication rules were disabled are not replicated"]
