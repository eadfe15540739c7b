"""DynamoDB throttling: provisioned and on-demand tables, GSIs, exact restore, AWS limits,
probes and the shipped experiment on both profiles."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import ROOT, RunningLab, ShippedRuns, extension, lab_settings, ran_within_the_runner_policy, run_chaos

from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults import dynamodb as dynamodb_faults
from chaos_sre.lab.dynamodb.routes import CAUSE_THROTTLED
from chaos_sre.probes import dynamodb as dynamodb_probes
from chaos_sre.safety.ledger import Ledger

EXPERIMENT = ROOT / "experiments" / "dynamodb-throttle.json"
WAIT = {"Delay": 0.2, "MaxAttempts": 100}



def described(lab: RunningLab, table: str) -> dict[str, Any]:
    """What a restore must bring back: billing mode, capacity and maximums of table and GSIs."""
    found = lab.client("dynamodb").describe_table(TableName=table)["Table"]
    throughput = found["ProvisionedThroughput"]
    return {
        "status": found["TableStatus"],
        "billing": found["BillingModeSummary"]["BillingMode"],
        "capacity": (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]),
        "on_demand": found.get("OnDemandThroughput"),
        "indexes": {i["IndexName"]: ((i["ProvisionedThroughput"]["ReadCapacityUnits"],
                                      i["ProvisionedThroughput"]["WriteCapacityUnits"]),
                                     i.get("OnDemandThroughput"))
                    for i in found.get("GlobalSecondaryIndexes", [])},
    }



def test_refusals_name_the_problem_and_change_nothing(shared_lab: RunningLab, own_ledger: Path) -> None:
    config = lab_settings(shared_lab)
    before = described(shared_lab, "sessions")
    refusals = [
        ("say how far to throttle", {}),
        ("give read_fraction or read_units, not both", {"read_fraction": 0.5, "read_units": 3}),
        ("read_fraction must be between 0 and 1", {"read_fraction": 1.5}),
        ("write_units must be a whole number of at least 1", {"write_units": 0}),
        ("throttle_table: argument read_fraction: expected a number or null, got 'half'",
         {"read_fraction": "half"}),
        ("unknown GSI by-nothing", {"read_units": 5, "indexes": ["by-nothing"]}),
        ("read target 500 is not below the current ReadCapacityUnits 100", {"read_units": 500}),
        ("consumed no read capacity in the minutes CloudWatch published of the last 60 s",
         {"read_fraction": 0.5, "consumption_window_seconds": 60}),
    ]
    for message, arguments in refusals:
        with pytest.raises(ValidationError, match=message):
            dynamodb_faults.throttle_table("sessions", configuration=config, **arguments)
    with pytest.raises(AWSError) as missing:
        dynamodb_faults.throttle_table("nope", read_units=1, configuration=config)
    assert missing.value.code == "ResourceNotFoundException"
    assert described(shared_lab, "sessions") == before
    assert not own_ledger.exists() or not any(own_ledger.iterdir())


def test_provisioned_table_with_gsi_is_throttled_and_restored_exactly(start_lab,
                                                                     own_ledger: Path) -> None:
    lab = start_lab()
    config = lab_settings(lab)
    before = described(lab, "sessions")
    result = dynamodb_faults.throttle_table("sessions", read_units=10, write_units=5,
                                            indexes="by-user", poll_seconds=0.2,
                                            configuration=config)
    assert result["after"]["table"] == {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5}
    assert result["after"]["indexes"] == {"by-user": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5}}
    throttled = described(lab, "sessions")
    assert throttled["status"] == "ACTIVE" and throttled["capacity"] == (10, 5)
    assert dynamodb_probes.capacity_settings("sessions", configuration=config) == result["after"]
    ledger = Ledger(next(own_ledger.glob("run-*.jsonl")))
    assert ledger.pending()[0]["pre_state"] == result["before"]
    restored = dynamodb_faults.restore_table(configuration=config)
    assert restored[0].startswith("table sessions restored to")
    after = described(lab, "sessions")
    assert after == before
    assert dynamodb_faults.restore_table(configuration=config) == []  # twice is harmless


def test_fraction_comes_from_the_minutes_cloudwatch_published(start_lab, own_ledger: Path) -> None:
    """Issue 19 item 6: consumption was read with a 1 s period, but DynamoDB publishes one-minute
    datapoints ("CloudWatch aggregates the following DynamoDB metrics at one-minute intervals",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html) and a
    standard-resolution metric's period "must be a multiple of 60"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html):
    the 3 s window always found nothing, and a longer one read unpublished minutes as idle. The lab
    publishes one datapoint a (scaled) minute and refuses other periods, as AWS does; the fault
    reads 60 s periods and takes the rate over the minutes CloudWatch has published, so a window
    longer than the traffic is not diluted by the minutes without datapoints."""
    lab = start_lab()
    config = lab_settings(lab)
    cloudwatch = lab.client("cloudwatch", retries=False)
    now = datetime.now(UTC)
    with pytest.raises(ClientError, match="multiple of 60"):
        cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB", MetricName="ConsumedReadCapacityUnits",
            Dimensions=[{"Name": "TableName", "Value": "sessions"}],
            StartTime=now - timedelta(minutes=5), EndTime=now, Period=1, Statistics=["Sum"])
    session = requests.Session()
    minute = 60 * float(lab.env["CHAOS_SRE_TIME_SCALE"])
    deadline, sent = time.monotonic() + 2.2 * minute, 0  # a whole minute of traffic is published
    while time.monotonic() < deadline:  # up to 40 requests/s of /session
        assert session.get(f"{lab.target_url}/session", timeout=5).status_code == 200
        sent += 1
        time.sleep(0.02)
    measured = dynamodb_probes.consumed_capacity("sessions", window_seconds=600, configuration=config)
    result = dynamodb_faults.throttle_table("sessions", read_fraction=0.5, indexes="none",
                                            consumption_window_seconds=600, poll_seconds=0.2,
                                            configuration=config)
    target = result["after"]["table"]["ReadCapacityUnits"]
    basis = result["consumption"]["table:read"]
    assert target == max(1, int(basis * 0.5))
    assert 60 <= measured["published_seconds"] <= 180
    assert measured["window_seconds"] == 600
    diluted = sent / (600 * minute / 60)  # the traffic spread over the ten minutes asked
    assert measured["read_units_per_second"] > 2 * diluted, (sent, measured)
    assert basis == pytest.approx(measured["read_units_per_second"], rel=0.5)
    assert result["after"]["table"]["WriteCapacityUnits"] == 100  # writes untouched
    assert result["after"]["indexes"] == result["before"]["indexes"]  # indexes="none"


def test_on_demand_table_gets_a_maximum_and_loses_it_again(start_lab, own_ledger: Path) -> None:
    lab = start_lab()
    config = lab_settings(lab)
    before = described(lab, "carts")
    result = dynamodb_faults.throttle_table("carts", read_units=5, write_units=5, poll_seconds=0.2,
                                            configuration=config)
    assert result["after"]["table"] == {"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 5}
    capped = described(lab, "carts")
    assert capped["billing"] == "PAY_PER_REQUEST"  # never switched
    assert capped["on_demand"] == {"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 5}
    dynamodb_faults.restore_table(configuration=config)
    assert described(lab, "carts") == before


@pytest.mark.slow
def test_decrease_limits_of_the_table_and_of_each_gsi_refuse_the_run_first(
        start_lab, own_ledger: Path, monkeypatch) -> None:
    """Issue 19 item 12: DynamoDB allows 4 capacity decreases a UTC day at any time, then one per
    hour without a decrease, 27 at most, and "table and global secondary index decrease limits
    are decoupled" ("Service, account, and table quotas",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). The
    fault checked only the table's count against 27, so it sent UpdateTable into the limit - and
    botocore's standard mode retries LimitExceededException (one of its throttling codes), five
    times before the user saw it. The lab keeps the limits per table and per GSI; the fault
    refuses from DescribeTable's counts of each part it lowers, and the one UpdateTable it makes
    is not retried. (On the fragile lab: no auto scaling raises the GSI back meanwhile.)"""
    lab = start_lab("--profile", "fragile")
    dynamodb, config = lab.client("dynamodb"), lab_settings(lab)
    for units in (50, 45, 40, 35):
        dynamodb.update_table(TableName="sessions", GlobalSecondaryIndexUpdates=[{"Update": {
            "IndexName": "by-user", "ProvisionedThroughput": {
                "ReadCapacityUnits": units, "WriteCapacityUnits": units}}}])
        dynamodb.get_waiter("table_exists").wait(TableName="sessions", WaiterConfig=WAIT)
    before = described(lab, "sessions")
    with pytest.raises(ValidationError, match="refusing to throttle table sessions GSI by-user: "
                                              "its capacity was lowered 4 times today"):
        dynamodb_faults.throttle_table("sessions", read_units=10, configuration=config)
    assert described(lab, "sessions") == before
    plan = dynamodb_faults.throttle_table("sessions", read_units=10, indexes="none",
                                          dry_run=True, configuration=config)
    assert plan["after"]["table"]["ReadCapacityUnits"] == 10  # the table's own limit is untouched

    monkeypatch.setattr(dynamodb_faults, "_refuse_past_decrease_limits", lambda *_: None,
                        raising=False)  # as if DescribeTable's counts were a moment stale
    calls_before = lab.api_calls().count("dynamodb:UpdateTable")
    with pytest.raises(AWSError, match="its capacity was not changed") as refused:
        dynamodb_faults.throttle_table("sessions", read_units=10, configuration=config)
    assert refused.value.code == "LimitExceededException"
    assert lab.api_calls().count("dynamodb:UpdateTable") == calls_before + 1
    assert described(lab, "sessions") == before
    ledger = Ledger(next(own_ledger.glob("run-*.jsonl")))
    assert ledger.pending() == [] and not ledger.mutated()


def test_auto_scaling_is_held_during_the_throttle_and_restored_exactly(start_lab,
                                                                      own_ledger: Path) -> None:
    """Issue 19 item 12: under DynamoDB auto scaling a target tracking policy raises a lowered
    capacity back to its minimum and to what the traffic needs ("Managing throughput capacity
    automatically with DynamoDB auto scaling",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html), as the
    resilient lab's does each (scaled) minute - undoing the throttle mid-hold. Right after
    UpdateTable the fault lowers each scalable target's min to the new capacity and suspends
    its scaling (RegisterScalableTarget, as the ECS fault does); the restore registers each
    again exactly as it was."""
    lab = start_lab()
    config, scaling = lab_settings(lab), lab.client("application-autoscaling")

    def targets() -> dict[tuple[str, str], Any]:
        return {(t["ResourceId"], t["ScalableDimension"]):
                (t["MinCapacity"], t["MaxCapacity"], t.get("SuspendedState"))
                for t in scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]}

    before, held_before = described(lab, "sessions"), targets()
    assert len(held_before) == 4
    result = dynamodb_faults.throttle_table("sessions", read_units=10, write_units=10,
                                            indexes="by-user", poll_seconds=0.2, configuration=config)
    assert len(result["suspended_scaling"]) == 4
    assert {v[0] for v in targets().values()} == {10}
    time.sleep(8)  # past the lab's auto scaling evaluation period (60 s at time scale 0.1)
    assert described(lab, "sessions")["capacity"] == (10, 10)
    assert not [e for e in lab.timeline()["events"] if e["kind"] == "autoscaling-capacity-changed"]
    dynamodb_faults.restore_table(configuration=config)
    assert described(lab, "sessions") == before and targets() == held_before


def test_a_global_table_is_refused_unless_asked_and_its_regions_meet_the_guardrails(
        start_lab, own_ledger: Path) -> None:
    """Issue 19 item 7: lowering the capacity of a global table reaches every replica Region
    (provisioned write capacity is the same on all replicas, "Global tables: how it works",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html),
    past allowed_regions. The lab keeps replicas (UpdateTable ReplicaUpdates) and records the
    change reaching them; the fault refuses a global table unless allow_global_table, and then
    the allowed_regions guardrail covers the replicas' Regions."""
    lab = start_lab()
    dynamodb, config = lab.client("dynamodb"), lab_settings(lab)
    dynamodb.create_table(TableName="profiles", BillingMode="PROVISIONED",
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100})
    dynamodb.get_waiter("table_exists").wait(TableName="profiles", WaiterConfig=WAIT)
    dynamodb.update_table(TableName="profiles", ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    dynamodb.get_waiter("table_exists").wait(TableName="profiles", WaiterConfig=WAIT)
    assert [r["RegionName"] for r in dynamodb.describe_table(TableName="profiles")["Table"]["Replicas"]] \
        == ["us-west-2"]
    with pytest.raises(ValidationError, match="global table with replicas in us-west-2"):
        dynamodb_faults.throttle_table("profiles", write_units=10, configuration=config)
    fenced = {**config, "guardrails": {"allowed_regions": ["us-east-1"]}}
    with pytest.raises(ValidationError, match="reaches region us-west-2"):
        dynamodb_faults.throttle_table("profiles", write_units=10, allow_global_table=True,
                                       configuration=fenced)
    assert not [e for e in lab.timeline()["events"] if e["kind"] == "dynamodb-replica-updated"]
    both = {**config, "guardrails": {"allowed_regions": ["us-east-1", "us-west-2"]}}
    dynamodb_faults.throttle_table("profiles", write_units=10, allow_global_table=True,
                                   configuration=both)
    reached = [e for e in lab.timeline()["events"] if e["kind"] == "dynamodb-replica-updated"]
    assert [e["detail"]["region"] for e in reached] == ["us-west-2"]
    dynamodb_faults.restore_table(configuration=both)


def test_a_legacy_global_table_is_refused_as_a_global_table(start_lab, own_ledger: Path) -> None:
    """Issue 36 item 10: a version 2017.11.29 (legacy) global table's DescribeTable lists no
    replicas and no GlobalTableVersion; only DescribeGlobalTable knows its Regions ("Determining
    the version of a global table",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables.DetermineVersion.html).
    The lab answers the legacy API (moto does not), with its requirement that each Region's table
    streams new and old images; the fault finds the replicas there and refuses, where before it
    took the table for a table of one Region. A legacy table's replicas keep their own capacity,
    which must stay identical for replication to keep up ("Best practices and requirements for
    managing global tables"): the refusal says that the lowered capacity throttles the writes
    the other Regions replicate into it, not that it reaches them."""
    lab = start_lab()
    config = lab_settings(lab)
    for region in ("us-east-1", "us-west-2"):
        regional = lab.client("dynamodb", region_name=region)
        regional.create_table(
            TableName="wishlists", BillingMode="PROVISIONED",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
            **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
               if region == "us-east-1" else {}))
        regional.get_waiter("table_exists").wait(TableName="wishlists", WaiterConfig=WAIT)
    dynamodb = lab.client("dynamodb")
    group = [{"RegionName": "us-east-1"}, {"RegionName": "us-west-2"}]
    with pytest.raises(ClientError, match="must have DynamoDB Streams enabled"):
        dynamodb.create_global_table(GlobalTableName="wishlists", ReplicationGroup=group)
    lab.client("dynamodb", region_name="us-west-2").update_table(
        TableName="wishlists", StreamSpecification={"StreamEnabled": True,
                                                "StreamViewType": "NEW_AND_OLD_IMAGES"})
    dynamodb.create_global_table(GlobalTableName="wishlists", ReplicationGroup=group)
    described = dynamodb.describe_table(TableName="wishlists")["Table"]
    assert "Replicas" not in described and "GlobalTableVersion" not in described
    with pytest.raises(ValidationError, match="wishlists: it is a version 2017.11.29 \\(legacy\\) "
                       "global table with replicas in us-west-2, whose replicated writes into this "
                       "replica its lowered capacity throttles"):
        dynamodb_faults.throttle_table("wishlists", write_units=10, configuration=config)
    assert dynamodb.describe_table(TableName="wishlists")["Table"]["ProvisionedThroughput"][
        "WriteCapacityUnits"] == 100
    with pytest.raises(ClientError, match="GlobalTableNotFoundException"):
        dynamodb.describe_global_table(GlobalTableName="orders")
    plan = dynamodb_faults.throttle_table("sessions", write_units=10, dry_run=True,
                                          configuration=config)
    assert plan["dry_run"] is True


def test_experiment_passes_on_resilient(shipped_runs: ShippedRuns) -> None:
    """The session's shipped run on the resilient lab. That the run restores table and indexes
    exactly, under API faults too, is tests/e2e/test_api_faults.py's (its account snapshot holds
    what :func:`described` reads)."""
    journal = shipped_runs.journal("dynamodb-throttle")
    ext = extension(journal)
    assert ext["verdict"]["passed"] is True
    throttled = journal["run"][0]["output"]["after"]
    assert throttled["table"]["ReadCapacityUnits"] < 100 and throttled["table"]["WriteCapacityUnits"] < 100
    assert throttled["indexes"]["by-user"]["WriteCapacityUnits"] < 100
    # It degraded: the lab's ground truth counts requests failed by throttling and the verdict
    # saw the SLI drop. (The method's own probe reads CloudWatch's ThrottledRequests over the
    # hold only, and burst capacity absorbs most of the 15 s hold - up to 300 s of the new
    # capacity, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html -
    # so throttling may start in its last second or only during the restore.)
    assert shipped_runs.lab_truth("dynamodb-throttle").causes[CAUSE_THROTTLED] > 0
    assert ext["recovery"]["detect_seconds"] is not None
    assert isinstance(journal["run"][1]["output"], int)


@pytest.mark.e2e
def test_experiment_on_an_on_demand_table_restores_exactly(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    before = described(lab, "carts")
    status, journal, stderr = run_chaos(lab, EXPERIMENT, tmp_path, env={
        "CHAOS_SRE_TABLE": "carts", "CHAOS_SRE_SLO": "probes/cart.yaml",
        "CHAOS_SRE_READ_FRACTION": "0.9", "CHAOS_SRE_WRITE_FRACTION": "0.9",
        "CHAOS_SRE_HOLD_SECONDS": "50"})
    assert status == 0, stderr[-3000:]
    capped = journal["run"][0]["output"]["after"]["table"]
    assert 0 < capped["MaxReadRequestUnits"] < 50 and 0 < capped["MaxWriteRequestUnits"] < 50
    assert described(lab, "carts") == before


@pytest.mark.e2e
def test_experiment_fails_on_fragile_with_a_reason_and_still_restores(start_lab,
                                                                     tmp_path: Path) -> None:
    lab = start_lab("--profile", "fragile")
    before = described(lab, "sessions")
    status, journal, _ = run_chaos(lab, EXPERIMENT, tmp_path)
    assert status != 0
    reasons = extension(journal)["verdict"]["reasons"]
    assert any("of the error budget" in r and "more than" in r for r in reasons), reasons
    assert described(lab, "sessions") == before
    ran_within_the_runner_policy(lab)
