"""The lab's DynamoDB, driven by plain boto3 and observed over real HTTP and CloudWatch."""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, run_cli, wait_until

WAIT = {"Delay": 0.2, "MaxAttempts": 100}


def statuses(lab: RunningLab, path: str, seconds: float, pause: float = 0.02) -> Counter[int]:
    """HTTP statuses of GET ``path`` for ``seconds`` (bounded loop)."""
    seen: Counter[int] = Counter()
    session = requests.Session()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen[session.get(f"{lab.target_url}{path}", timeout=5).status_code] += 1
        time.sleep(pause)
    return seen


def metric_sum(lab: RunningLab, metric: str, dimensions: dict[str, str]) -> float:
    now = datetime.now(UTC)
    points = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(minutes=5), EndTime=now, Period=60, Statistics=["Sum"])
    return sum(p["Sum"] for p in points["Datapoints"])


def test_tables_by_profile(shared_lab: RunningLab, start_lab) -> None:
    dynamodb = shared_lab.client("dynamodb")
    sessions = dynamodb.describe_table(TableName="sessions")["Table"]
    assert sessions["TableStatus"] == "ACTIVE"
    assert sessions["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 100,
                                                 "WriteCapacityUnits": 100}
    assert [(i["IndexName"], i["ProvisionedThroughput"]) for i in sessions["GlobalSecondaryIndexes"]] == [
        ("by-user", {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 100, "WriteCapacityUnits": 100})]
    carts = dynamodb.describe_table(TableName="carts")["Table"]
    assert carts["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert carts["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
    shown = run_cli("lab", "status", lab_dir=shared_lab.lab_dir).stdout
    assert "table sessions: ACTIVE, provisioned 100 RCU / 100 WCU" in shown
    assert "table carts: ACTIVE, on-demand, reads no maximum, writes no maximum" in shown
    fragile = start_lab("--profile", "fragile").client("dynamodb")
    assert fragile.describe_table(TableName="sessions")["Table"]["ProvisionedThroughput"][
        "ReadCapacityUnits"] == 55


@pytest.mark.slow
def without_auto_scaling(lab: RunningLab) -> None:
    """Suspend the resilient lab's DynamoDB auto scaling, which raises a lowered capacity back
    to its minimum at its next evaluation."""
    scaling = lab.client("application-autoscaling")
    for target in scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]:
        scaling.register_scalable_target(
            ServiceNamespace="dynamodb", ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"], SuspendedState={
                "DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True,
                "ScheduledScalingSuspended": True})


def test_update_is_asynchronous_and_decreases_are_limited(start_lab) -> None:
    lab = start_lab()
    without_auto_scaling(lab)
    dynamodb = lab.client("dynamodb")
    lowered = dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
        "ReadCapacityUnits": 90, "WriteCapacityUnits": 90})["TableDescription"]
    assert lowered["TableStatus"] == "UPDATING"
    assert lowered["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 1
    with pytest.raises(ClientError) as busy:
        dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
            "ReadCapacityUnits": 80, "WriteCapacityUnits": 80})
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    for units in (80, 70, 60):
        dynamodb.get_waiter("table_exists").wait(TableName="sessions", WaiterConfig=WAIT)
        dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
            "ReadCapacityUnits": units, "WriteCapacityUnits": units})
    dynamodb.get_waiter("table_exists").wait(TableName="sessions", WaiterConfig=WAIT)
    with pytest.raises(ClientError) as limited:  # botocore retries LimitExceededException
        lab.client("dynamodb", retries=False).update_table(TableName="sessions", ProvisionedThroughput={
            "ReadCapacityUnits": 50, "WriteCapacityUnits": 50})
    assert limited.value.response["Error"]["Code"] == "LimitExceededException"
    assert "Number of decreases today: 4" in limited.value.response["Error"]["Message"]
    raised = dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
        "ReadCapacityUnits": 100, "WriteCapacityUnits": 100})["TableDescription"]
    assert raised["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 4  # increases are free
    assert "LastIncreaseDateTime" in raised["ProvisionedThroughput"]


def test_lowered_capacity_throttles_after_the_burst_and_cloudwatch_shows_it(start_lab) -> None:
    lab = start_lab()
    without_auto_scaling(lab)
    assert set(statuses(lab, "/session", 1.0)) == {200}
    dynamodb = lab.client("dynamodb")
    dynamodb.update_table(
        TableName="sessions", ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
        GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "by-user", "ProvisionedThroughput": {
            "ReadCapacityUnits": 2, "WriteCapacityUnits": 2}}}])
    dynamodb.get_waiter("table_exists").wait(TableName="sessions", WaiterConfig=WAIT)
    seen = statuses(lab, "/session", 6.0)
    assert seen[200] > 0 and seen[500] > 0  # the burst first, then throttling beyond the retries
    assert set(statuses(lab, "/", 0.5)) == {200}
    counted = lab.timeline()["requests"]
    assert counted["by_cause"]["500-dynamodb-throttled"] == seen[500]
    # Resilient: most throttled requests are served from the application's cached session.
    assert counted["degraded"]["200-dynamodb-stale"] > seen[500]
    assert wait_until(lambda: metric_sum(lab, "ReadThrottleEvents", {"TableName": "sessions"}) > 0,
                      timeout=5)
    assert metric_sum(lab, "ConsumedReadCapacityUnits", {"TableName": "sessions"}) > 0
    assert metric_sum(lab, "ThrottledRequests", {"TableName": "sessions", "Operation": "GetItem"}) > 0
    gsi = {"TableName": "sessions", "GlobalSecondaryIndexName": "by-user"}
    assert metric_sum(lab, "ConsumedWriteCapacityUnits", gsi) > 0
    kinds = [e["kind"] for e in lab.timeline()["events"] if e["resource"] == "sessions"]
    assert kinds[:2] == ["dynamodb-capacity-decreased", "dynamodb-update-completed"]


def test_auto_scaling_raises_a_lowered_capacity_back_unless_suspended(start_lab) -> None:
    """DynamoDB auto scaling (target tracking) brings a capacity below the scalable target's
    minimum back into it ("Managing throughput capacity automatically with DynamoDB auto
    scaling", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html),
    at its next (scaled) one-minute evaluation; with dynamic scaling suspended it does not."""
    lab = start_lab()
    dynamodb = lab.client("dynamodb")

    def capacity() -> int:
        return int(dynamodb.describe_table(TableName="sessions")["Table"]["ProvisionedThroughput"][
            "ReadCapacityUnits"])

    dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
        "ReadCapacityUnits": 20, "WriteCapacityUnits": 100})
    assert capacity() == 20
    assert wait_until(lambda: capacity() == 100, timeout=15)
    changed = [e for e in lab.timeline()["events"] if e["kind"] == "autoscaling-capacity-changed"]
    assert changed[0]["resource"] == "table/sessions" and changed[0]["detail"]["capacity"] == 100
    dynamodb.get_waiter("table_exists").wait(TableName="sessions", WaiterConfig=WAIT)
    without_auto_scaling(lab)
    dynamodb.update_table(TableName="sessions", ProvisionedThroughput={
        "ReadCapacityUnits": 20, "WriteCapacityUnits": 100})
    time.sleep(8)  # past the next evaluation
    assert capacity() == 20


def test_on_demand_maximum_is_kept_and_enforced(start_lab) -> None:
    lab = start_lab()
    dynamodb = lab.client("dynamodb")
    capped = dynamodb.update_table(TableName="carts", OnDemandThroughput={
        "MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 5})["TableDescription"]
    assert capped["OnDemandThroughput"] == {"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 5}
    dynamodb.get_waiter("table_exists").wait(TableName="carts", WaiterConfig=WAIT)
    assert dynamodb.describe_table(TableName="carts")["Table"]["OnDemandThroughput"] == {
        "MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 5}
    # no burst for on-demand maximums: throttled at once, once the lab applies the ACTIVE table's
    # maximum (its next tick - later on a loaded machine, hence the bounded retry)
    assert wait_until(lambda: statuses(lab, "/cart", 0.5)[500] > 0, timeout=10, interval=0)
    dynamodb.update_table(TableName="carts", OnDemandThroughput={
        "MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1})
    dynamodb.get_waiter("table_exists").wait(TableName="carts", WaiterConfig=WAIT)
    assert set(statuses(lab, "/cart", 1.0)) == {200}
