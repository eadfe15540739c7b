"""The lab's database tier, driven by plain boto3 and observed over real HTTP."""

import time
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, run_cli, wait_until

from chaos_sre.lab.rds.settings import RdsTimings
from chaos_sre.timescale import wall_seconds

RDS_STATUS_LAG_SECONDS = RdsTimings().status_lag_seconds

POLL = 0.05


def cluster_view(lab: RunningLab) -> dict[str, Any]:
    rds = lab.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    zones = {i["DBInstanceIdentifier"]: i["AvailabilityZone"]
             for i in rds.describe_db_instances()["DBInstances"]}
    writers = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]
    return {"status": cluster["Status"], "writer": writers[0], "zone": zones[writers[0]],
            "members": sorted(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"])}


def instance_view(lab: RunningLab) -> dict[str, Any]:
    found = lab.client("rds").describe_db_instances(DBInstanceIdentifier="accounts")["DBInstances"][0]
    return {"status": found["DBInstanceStatus"], "zone": found["AvailabilityZone"],
            "standby": found.get("SecondaryAvailabilityZone"), "multi_az": found["MultiAZ"]}


def status_of(lab: RunningLab, path: str) -> tuple[int, float]:
    started = time.monotonic()
    answer = requests.get(f"{lab.target_url}{path}", timeout=5)
    return answer.status_code, time.monotonic() - started


def watch(lab: RunningLab, path: str, view: Any, until: Any, timeout: float) -> list[tuple[Any, ...]]:
    """(describe view, HTTP status, latency) every POLL s until ``until(view)`` holds after the
    database showed a status other than ``available`` (it lags the call); bounded."""
    seen = []
    began = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = view(lab)
        status, latency = status_of(lab, path)
        seen.append((current, status, latency))
        began = began or current["status"] != "available"
        if began and until(current):
            break
        time.sleep(POLL)
    return seen


def shown(seen: list[tuple[Any, ...]]) -> list[Any]:
    """The views from the first one that shows the disruption on."""
    views = [view for view, _, _ in seen]
    return views[next(i for i, v in enumerate(views) if v["status"] != "available"):]


def test_resilient_data_tier_has_a_reader_and_a_standby_in_other_azs(shared_lab: RunningLab) -> None:
    assert cluster_view(shared_lab) == {"status": "available", "writer": "orders-1",
                                        "zone": "us-east-1a", "members": ["orders-1", "orders-2"]}
    reader = shared_lab.client("rds").describe_db_instances(
        DBInstanceIdentifier="orders-2")["DBInstances"][0]
    assert reader["AvailabilityZone"] == "us-east-1b"
    assert instance_view(shared_lab) == {"status": "available", "zone": "us-east-1a",
                                         "standby": "us-east-1b", "multi_az": True}
    assert shared_lab.client("rds").describe_db_proxies()["DBProxies"] == []
    assert [status_of(shared_lab, p)[0] for p in ("/checkout", "/account", "/")] == [200, 200, 200]


def test_fragile_data_tier_has_no_standby_and_refuses_force_failover(start_lab) -> None:
    lab = start_lab("--profile", "fragile")
    assert cluster_view(lab)["members"] == ["orders-1"]
    assert instance_view(lab) == {"status": "available", "zone": "us-east-1a", "standby": None,
                                  "multi_az": False}
    rds = lab.client("rds")
    with pytest.raises(ClientError) as refused:
        rds.reboot_db_instance(DBInstanceIdentifier="accounts", ForceFailover=True)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as lonely:
        rds.failover_db_cluster(DBClusterIdentifier="orders")
    assert lonely.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"

    rds.reboot_db_instance(DBInstanceIdentifier="accounts")
    seen = watch(lab, "/account", instance_view, lambda v: v["status"] == "available", timeout=30)
    statuses = [s for _, s, _ in seen]
    assert shown(seen)[0]["status"] == "rebooting" and 500 in statuses
    assert seen[-1][0] == {"status": "available", "zone": "us-east-1a", "standby": None,
                           "multi_az": False}
    assert wait_until(lambda: status_of(lab, "/account")[0] == 200, timeout=5)
    kinds = [e["kind"] for e in lab.timeline()["events"] if e["resource"] == "accounts"]
    assert kinds == ["db-reboot-started", "db-reboot-completed"]


def test_aurora_failover_from_plain_boto3_moves_the_writer_after_an_outage(start_lab) -> None:
    """RDS status is eventually consistent: the failover is asynchronous (FailoverDBCluster API
    reference, https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverDBCluster.html),
    so for a moment DescribeDBClusters still answers ``available`` and the old writer - while a
    second failover is already refused."""
    lab = start_lab()
    rds = lab.client("rds")
    rds.describe_db_clusters(DBClusterIdentifier="orders")  # the client warm before the clock
    answer = rds.failover_db_cluster(DBClusterIdentifier="orders",
                                     TargetDBInstanceIdentifier="orders-2")
    answered = time.monotonic()
    # One read on the same client (a new client takes longer than the 0.3 s lag under load).
    lagging = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    read_within_the_lag = time.monotonic() - answered < wall_seconds(RDS_STATUS_LAG_SECONDS)
    assert answer["DBCluster"]["Status"] == "available"
    if read_within_the_lag:  # a loaded machine may answer after the lag: nothing to say then
        writers = [m["DBInstanceIdentifier"] for m in lagging["DBClusterMembers"]
                   if m["IsClusterWriter"]]
        assert (lagging["Status"], writers) == ("available", ["orders-1"])
    with pytest.raises(ClientError) as again:
        rds.failover_db_cluster(DBClusterIdentifier="orders", TargetDBInstanceIdentifier="orders-2")
    assert again.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    seen = watch(lab, "/checkout", cluster_view, lambda v: v["status"] == "available", timeout=30)
    during = [v for v, _, _ in seen if v["status"] == "failing-over"]
    assert during and all(v["writer"] == "orders-1" for v in during)
    assert 500 in [s for _, s, _ in seen]
    assert seen[-1][0]["writer"] == "orders-2" and seen[-1][0]["zone"] == "us-east-1b"
    assert wait_until(lambda: status_of(lab, "/checkout")[0] == 200, timeout=5)
    assert status_of(lab, "/")[0] == 200
    timeline = lab.timeline()
    assert timeline["requests"]["by_cause"].get("500-database-unavailable", 0) > 0
    started = [e for e in timeline["faults"] if e["kind"] == "db-failover-started"]
    assert started[0]["detail"]["from_instance"] == "orders-1"
    assert started[0]["detail"]["to_availability_zone"] == "us-east-1b"


def test_multi_az_reboot_with_failover_swaps_the_instance_to_its_standby_az(start_lab) -> None:
    lab = start_lab()
    lab.client("rds").reboot_db_instance(DBInstanceIdentifier="accounts", ForceFailover=True)
    assert instance_view(lab)["status"] == "available"  # the status lags the call
    seen = watch(lab, "/account", instance_view, lambda v: v["status"] == "available", timeout=30)
    assert shown(seen)[0]["status"] == "rebooting" and shown(seen)[0]["zone"] == "us-east-1a"
    assert 500 in [s for _, s, _ in seen]
    assert seen[-1][0] == {"status": "available", "zone": "us-east-1b", "standby": "us-east-1a",
                           "multi_az": True}
    assert wait_until(lambda: status_of(lab, "/account")[0] == 200, timeout=5)
    assert status_of(lab, "/checkout")[0] == 200


def test_rds_proxy_makes_the_application_wait_instead_of_fail(start_lab) -> None:
    lab = start_lab("--rds-proxy")
    proxies = lab.client("rds").describe_db_proxies()["DBProxies"]
    assert [p["DBProxyName"] for p in proxies] == ["orders-proxy"]
    shown = run_cli("lab", "status", lab_dir=lab.lab_dir).stdout
    assert "database orders: available, writer orders-1 in us-east-1a (through RDS Proxy)" in shown
    assert "database accounts: available, writer accounts in us-east-1a, standby in us-east-1b" in shown
    lab.client("rds").failover_db_cluster(DBClusterIdentifier="orders",
                                          TargetDBInstanceIdentifier="orders-2")
    seen = watch(lab, "/checkout", cluster_view, lambda v: v["status"] == "available", timeout=30)
    assert {s for _, s, _ in seen} == {200}
    # held by the proxy, not failed: the hold is 1.02 s (34 % of the 3 s failover), a served
    # request takes 3 ms; a poll lands anywhere in the hold, so it may wait only its last part
    assert max(latency for _, _, latency in seen) > 0.05
    assert seen[-1][0]["writer"] == "orders-2"
    assert "500-database-unavailable" not in lab.timeline()["requests"]["by_cause"]
