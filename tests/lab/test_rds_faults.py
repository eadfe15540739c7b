"""Database failover: both AWS paths, refusals, probes, the ledger and the shipped experiment."""

import json
import time
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ROOT,
    RUNNER_KEY,
    RunningLab,
    ShippedRuns,
    denied_without_each_statement,
    extension,
    lab_settings,
    refused_then_failed,
    run_chaos,
    runner_policy,
)

from chaos_sre.aws import client as aws_clients
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults import rds as rds_faults
from chaos_sre.journal import summary
from chaos_sre.lab.rds.settings import TIMINGS as RDS_TIMINGS
from chaos_sre.probes import rds as rds_probes
from chaos_sre.report import html, markdown
from chaos_sre.report.model import load_run
from chaos_sre.safety.ledger import Ledger
from chaos_sre.timescale import ENVIRONMENT_VARIABLE as TIME_SCALE

EXPERIMENT = ROOT / "experiments" / "rds-failover.json"




def recorded_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every RDS API call the fault module makes, with its parameters."""
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(aws_clients, "_clients", {})  # the handlers die with this test's clients
    real_client = rds_faults.aws_client

    def recording_client(service: str, *args: Any, **kwargs: Any) -> Any:
        client = real_client(service, *args, **kwargs)
        client.meta.events.register(
            "provide-client-params.*.*",
            lambda model, params, **_: calls.append((model.name, dict(params))),
            unique_id="recorded-calls")  # once per client: the fault reuses its clients
        return client

    monkeypatch.setattr(rds_faults, "aws_client", recording_client)
    return calls


def test_refusals_name_the_database_and_the_way_out(start_lab, own_ledger: Path) -> None:
    lab = start_lab("--profile", "fragile")
    config = lab_settings(lab)
    refusals = [
        ("it has no reader to promote, only the writer orders-1 in us-east-1a.*set allow_reboot",
         {"db_cluster_identifier": "orders"}),
        ("RDS instance accounts: it is single-AZ", {"db_instance_identifier": "accounts"}),
        ("name exactly one database", {"db_cluster_identifier": "orders",
                                       "db_instance_identifier": "accounts"}),
        ("name exactly one database", {"db_cluster_identifier": ""}),
        ("belongs to Aurora cluster orders", {"db_instance_identifier": "orders-1"}),
        ("target_instance orders-9 is not a reader", {"db_cluster_identifier": "orders",
                                                      "target_instance": "orders-9"}),
    ]
    for message, arguments in refusals:
        with pytest.raises(ValidationError, match=message):
            rds_faults.failover(configuration=config, **arguments)
    with pytest.raises(AWSError) as missing:
        rds_faults.failover(db_cluster_identifier="nope", configuration=config)
    assert missing.value.code == "DBClusterNotFoundFault"
    assert not own_ledger.exists() or not any(own_ledger.iterdir())  # refused before any mutation
    assert lab.timeline()["faults"] == []


def test_dry_run_plans_without_changing_anything(shared_lab: RunningLab, own_ledger: Path) -> None:
    plan = rds_faults.failover(db_cluster_identifier="orders", dry_run=True,
                               configuration=lab_settings(shared_lab))
    assert plan == {"dry_run": True, "database": "orders", "kind": "aurora-failover",
                    "from_writer": "orders-1", "from_availability_zone": "us-east-1a",
                    "to_writer": "orders-2", "to_availability_zone": "us-east-1b",
                    "fail_back": False}
    assert rds_probes.database_status("orders", configuration=lab_settings(shared_lab)) == "available"
    assert shared_lab.timeline()["faults"] == []


def test_aurora_and_multi_az_failovers_take_the_aws_paths_and_record_the_ledger(
        start_lab, own_ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FailoverDBCluster and RebootDBInstance are asynchronous, and RDS status is eventually
    consistent (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverDBCluster.html):
    right after the call the lab still answers ``available`` with the old writer, so
    wait_for_failover must see the failover begin before it waits for the end (a waiter alone
    passes on its first poll and reports that the writer did not move)."""
    lab = start_lab()
    config = lab_settings(lab)
    calls = recorded_calls(monkeypatch)
    assert rds_probes.writer("orders", configuration=config) == {
        "instance": "orders-1", "availability_zone": "us-east-1a", "status": "available"}

    called = time.monotonic()
    result = rds_faults.failover(db_cluster_identifier="orders", configuration=config)
    assert (result["to_writer"], result["to_availability_zone"]) == ("orders-2", "us-east-1b")
    mutations = [(name, params) for name, params in calls if not name.startswith("Describe")]
    assert mutations == [("FailoverDBCluster", {"DBClusterIdentifier": "orders",
                                                "TargetDBInstanceIdentifier": "orders-2"})]
    # the status lags the call (3 AWS s, 0.3 s here), so the probe first waits for the failover
    # to show; a machine too loaded to ask within the lag cannot see it, and the wait below
    # must then find the failover under way or done
    status = rds_probes.database_status("orders", configuration=config)
    if time.monotonic() - called < RDS_TIMINGS.status_lag_seconds * float(lab.env[TIME_SCALE]):
        assert status == "available"
    moved = rds_probes.wait_for_failover("orders", timeout_seconds=60, poll_seconds=0.2,
                                         configuration=config)
    assert moved["changed"] is True
    assert (moved["previous_writer"], moved["writer"]) == ("orders-1", "orders-2")
    assert rds_probes.writer_availability_zone("orders", configuration=config) == "us-east-1b"

    calls.clear()
    rds_faults.failover(db_instance_identifier="accounts", configuration=config)
    assert [(n, p) for n, p in calls if not n.startswith("Describe")] == [
        ("RebootDBInstance", {"DBInstanceIdentifier": "accounts", "ForceFailover": True})]
    # a Multi-AZ failover takes 60-120 s on AWS (the lab's: 60 s, then its status lag); the wait
    # keeps to its timeout, where the boto3 waiter it used to be overshot by its calls' time
    moved = rds_probes.wait_for_failover(db_instance_identifier="accounts", timeout_seconds=120,
                                         poll_seconds=0.2, configuration=config)
    assert (moved["previous_availability_zone"], moved["availability_zone"]) == ("us-east-1a",
                                                                                 "us-east-1b")

    ledger = Ledger(next(own_ledger.glob("run-*.jsonl")))
    intents = [e for e in ledger.entries() if e["kind"] == "intent"]
    assert [(e["resource"], e["pre_state"]["instance"], e["pre_state"]["availability_zone"])
            for e in intents] == [("rds:cluster/orders", "orders-1", "us-east-1a"),
                                  ("rds:instance/accounts", "accounts", "us-east-1a")]
    assert Counter(e["kind"] for e in ledger.entries()) == {"context": 1, "intent": 2, "done": 2}
    restored = rds_faults.restore_database(configuration=config)
    assert restored == ["RDS instance accounts available, writer accounts in us-east-1b",
                        "Aurora cluster orders available, writer orders-2 in us-east-1b"]
    assert [(c["resource"], c["before"], c["after"]) for c in ledger.left_changed()] == [
        ("rds:instance/accounts", "writer accounts in us-east-1a", "writer accounts in us-east-1b"),
        ("rds:cluster/orders", "writer orders-1 in us-east-1a", "writer orders-2 in us-east-1b")]
    assert "FailoverDBCluster --target-db-instance-identifier orders-1" in ledger.left_changed()[1]["undo"]
    assert rds_faults.restore_database(configuration=config) == []  # twice is harmless


def test_wait_for_failover_fails_when_no_failover_shows(shared_lab: RunningLab,
                                                       own_ledger: Path) -> None:
    """Without a failover the database stays available with its writer: the probe does not
    take that for a finished failover."""
    with pytest.raises(AWSError, match="still shows no failover: available, writer orders-1 in us-east-1a"):
        rds_probes.wait_for_failover("orders", previous_writer="orders-1", timeout_seconds=5,
                                     poll_seconds=0.5, configuration=lab_settings(shared_lab))
    with pytest.raises(ValidationError, match="poll_seconds"):
        rds_probes.wait_for_failover("orders", timeout_seconds=1, poll_seconds=2,
                                     configuration=lab_settings(shared_lab))


def test_experiment_passes_on_resilient_and_the_writer_changes_az(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab: the fault's own account of the writer it
    moved, and the method's probe of the writer after the failover, in the journal."""
    journal = shipped_runs.journal("rds-failover")
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True
    assert ext["recovery"]["recover_seconds"] is not None
    assert 0 < ext["budget"]["consumed_fraction"] <= ext["budget"]["allowed_fraction"]
    outputs = {entry["activity"]["name"]: entry["output"] for entry in journal["run"]}
    moved, after = outputs["failover-database"], outputs["writer-after-failover"]
    assert moved["from_availability_zone"] == "us-east-1a" and moved["dry_run"] is False
    assert after["availability_zone"] == "us-east-1b" and after["instance"] != moved["from_writer"]
    assert [(c["resource"], c["before"], c["after"]) for c in ext["left_changed"]] == [
        ("rds:cluster/orders", "writer orders-1 in us-east-1a", f"writer {after['instance']} in us-east-1b")]
    run = load_run(shipped_runs.journals / "rds-failover.json")
    said = "rds:cluster/orders: writer moved by the failover: writer orders-1 in us-east-1a ->"
    assert f"- left changed: {said}" in markdown.render([run])
    page = html.render([run])
    assert "<h3>Left changed</h3>" in page and escape(said) in page
    assert f"left changed: {said}" in summary(shipped_runs.journals / "rds-failover.json")


@pytest.mark.e2e
def test_fail_back_restores_the_original_writer_inside_the_judged_run(start_lab,
                                                                       tmp_path: Path) -> None:
    """Issue 36 item 8: a failover leaves the writer in the other AZ ("the primary instance
    switches over to the standby replica", and stays there: RDS does not fail back by itself,
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html;
    Aurora likewise promotes a reader, https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html),
    and nothing said so. Without fail_back the journal names the move as left changed (the
    shipped run above); with it the rollback fails back to the original writer
    (FailoverDBCluster with it as target) before the run ends, and the restore's outage is
    judged with the run: the verdict's restore figures cover it, the writer is back, and
    nothing is left changed. Its RTO is 150 s, not the experiment's 100 s: recovery ends after
    the fail-back's own outage, about 95 s after the fault, 101.5 s on a loaded machine."""
    lab = start_lab()
    status, journal, stderr = run_chaos(lab, EXPERIMENT, tmp_path,
                                        env={"CHAOS_SRE_DB_FAIL_BACK": "true",
                                             "CHAOS_SRE_RTO_SECONDS": "150"})
    assert status == 0, stderr[-3000:]
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True, ext["verdict"]
    assert ext["left_changed"] == []
    rollback = next(r for r in journal["rollbacks"] if r["activity"]["name"] == "database-available-again")
    assert rollback["output"] == ["Aurora cluster orders failed back: available, writer orders-1 "
                                  "in us-east-1a again"]
    phases = ext["phases"]
    samples = [json.loads(line) for line in Path(ext["samples_path"]).read_text().splitlines()]
    assert any(s["outcome"] != "2xx" for s in samples
               if phases["rollbacks_started_at"] <= s["scheduled"] <= phases["rollbacks_ended_at"])
    # recovery is measured to the end of the fail-back's outage, not the failover's
    assert ext["recovery"]["recover_seconds"] * ext["time_scale"] >= \
        phases["rollbacks_started_at"] - ext["fault_started_at"]
    assert rds_probes.writer("orders", configuration=lab_settings(lab)) == {
        "instance": "orders-1", "availability_zone": "us-east-1a", "status": "available"}
    moves = [e for e in lab.timeline()["events"] if e["kind"] == "db-failover-started"]
    assert [(e["detail"]["from_instance"], e["detail"]["to_instance"]) for e in moves] == [
        ("orders-1", "orders-2"), ("orders-2", "orders-1")]


@pytest.mark.e2e
def test_experiment_on_a_multi_az_instance(start_lab, tmp_path: Path) -> None:
    """The run holds the runner policy alone (conftest.run_chaos); its RebootDBInstance
    statement, which the shipped runs on Aurora never use, is the one its reboot needs."""
    lab = start_lab()
    status, journal, stderr = run_chaos(lab, EXPERIMENT, tmp_path, env={
        "CHAOS_SRE_DB_CLUSTER": "", "CHAOS_SRE_DB_INSTANCE": "accounts",
        "CHAOS_SRE_SLO": "probes/account.yaml"})
    assert status == 0, stderr[-3000:]
    assert extension(journal)["verdict"]["passed"] is True
    made = lab.iam_requests(RUNNER_KEY)
    assert made and all(r["allowed"] for r in made)
    policy = runner_policy()
    needed = denied_without_each_statement(policy, made)
    reboot = next(s["Sid"] for s in policy["Statement"] if "rds:RebootDBInstance" in s["Action"])
    assert needed[reboot] == ["rds:RebootDBInstance"]
    assert rds_probes.writer_availability_zone(db_instance_identifier="accounts",
                                               configuration=lab_settings(lab)) == "us-east-1b"


@pytest.mark.e2e
def test_experiment_fails_on_fragile_with_a_reason(start_lab, tmp_path: Path) -> None:
    lab = start_lab("--profile", "fragile")
    reasons = refused_then_failed(
        lab, EXPERIMENT, tmp_path,
        refusal="refusing to fail over Aurora cluster orders: it has no reader",
        allow={"CHAOS_SRE_ALLOW_REBOOT": "true"})
    assert any("more than the RTO" in r for r in reasons), reasons  # the 120 s reboot
    assert rds_probes.writer("orders", configuration=lab_settings(lab)) == {
        "instance": "orders-1", "availability_zone": "us-east-1a", "status": "available"}


def test_chaostoolkit_aws_failover_without_a_target_fails_validation(
        shared_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why chaos-sre has its own failover: chaosaws passes TargetDBInstanceIdentifier=None."""
    from chaosaws.rds.actions import failover_db_cluster
    from chaoslib.exceptions import FailedActivity

    monkeypatch.setenv("AWS_ENDPOINT_URL", shared_lab.env["AWS_ENDPOINT_URL"])
    with pytest.raises(FailedActivity, match="TargetDBInstanceIdentifier"):
        failover_db_cluster("orders", configuration={"aws_region": "us-east-1"})
    assert rds_probes.database_status("orders", configuration=lab_settings(shared_lab)) == "available"


def create_cluster(lab: RunningLab, identifier: str,
                   members: list[tuple[str, str, str, int]], **cluster: Any) -> None:
    """An Aurora PostgreSQL cluster whose members are (name, instance class, AZ, promotion tier),
    the first of them its writer."""
    rds = lab.client("rds")
    rds.create_db_cluster(DBClusterIdentifier=identifier, Engine="aurora-postgresql",
                          MasterUsername="app", ManageMasterUserPassword=True, **cluster)
    for name, instance_class, zone, tier in members:
        rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier=identifier,
                               Engine="aurora-postgresql", DBInstanceClass=instance_class,
                               AvailabilityZone=zone, PromotionTier=tier)


def test_the_aurora_target_is_the_reader_aurora_would_promote(start_lab, own_ledger: Path) -> None:
    """Aurora promotes the reader with the lowest promotion tier and, among equals, "the replica
    that is largest in size" (Aurora User Guide, "Fault tolerance for an Aurora DB cluster",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html).
    An Aurora Serverless v2 reader in tiers 2-15 "scales independently" of the writer (Aurora
    User Guide, "Choosing the promotion tier for an Aurora Serverless v2 reader",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-administration.html),
    so it is not chosen unless named."""
    lab = start_lab()
    config = lab_settings(lab)
    create_cluster(lab, "catalog", [("catalog-1", "db.r6g.2xlarge", "us-east-1a", 0),
                                    ("catalog-a", "db.t4g.medium", "us-east-1b", 1),
                                    ("catalog-b", "db.r6g.2xlarge", "us-east-1c", 1)])
    plan = rds_faults.failover(db_cluster_identifier="catalog", dry_run=True, configuration=config)
    assert (plan["to_writer"], plan["to_availability_zone"]) == ("catalog-b", "us-east-1c")

    create_cluster(lab, "search", [("search-1", "db.serverless", "us-east-1a", 0),
                                   ("search-2", "db.serverless", "us-east-1b", 2)],
                   ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 16})
    with pytest.raises(ValidationError, match="search-2: it is an Aurora Serverless v2 reader in "
                                              "promotion tier 2, which scales independently"):
        rds_faults.failover(db_cluster_identifier="search", configuration=config)
    named = rds_faults.failover(db_cluster_identifier="search", target_instance="search-2",
                                dry_run=True, configuration=config)
    assert named["to_writer"] == "search-2"

    # Without a target (chaostoolkit-aws, the console) the lab promotes as Aurora does.
    lab.client("rds").failover_db_cluster(DBClusterIdentifier="catalog")
    moved = rds_probes.wait_for_failover("catalog", previous_writer="catalog-1", timeout_seconds=60,
                                         poll_seconds=0.2, configuration=config)
    assert moved["writer"] == "catalog-b"


def test_a_mysql_multi_az_db_cluster_fails_over_without_a_target(start_lab, own_ledger: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """FailoverDBCluster's TargetDBInstanceIdentifier "isn't supported for RDS for MySQL
    Multi-AZ DB clusters" (RDS API reference,
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverDBCluster.html): the
    lab refuses it as RDS does, and the fault lets RDS pick the readable standby."""
    lab = start_lab()
    config = lab_settings(lab)
    lab.client("rds").create_db_cluster(
        DBClusterIdentifier="ledger", Engine="mysql", DBClusterInstanceClass="db.m6gd.large",
        AllocatedStorage=100, StorageType="io1", Iops=1000, MasterUsername="app",
        ManageMasterUserPassword=True)
    assert rds_probes.writer("ledger", configuration=config) == {
        "instance": "ledger-instance-1", "availability_zone": "us-east-1a", "status": "available"}
    with pytest.raises(ValidationError, match="target_instance cannot be used with ledger"):
        rds_faults.failover(db_cluster_identifier="ledger", target_instance="ledger-instance-2",
                            configuration=config)
    with pytest.raises(ValidationError, match="fail_back cannot be used with ledger: .* cannot "
                                              "name the original writer"):
        rds_faults.failover(db_cluster_identifier="ledger", fail_back=True, configuration=config)
    calls = recorded_calls(monkeypatch)
    result = rds_faults.failover(db_cluster_identifier="ledger", configuration=config)
    assert result["to_writer"] is None
    assert [(n, p) for n, p in calls if not n.startswith("Describe")] == [
        ("FailoverDBCluster", {"DBClusterIdentifier": "ledger"})]
    moved = rds_probes.wait_for_failover("ledger", timeout_seconds=60, poll_seconds=0.2,
                                         configuration=config)
    assert moved["changed"] is True and moved["writer"] in ("ledger-instance-2", "ledger-instance-3")
