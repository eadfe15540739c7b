"""The lab's ARC zonal shift: the API moto lacks, answered as AWS documents it, and its effect on
the load balancer's nodes and routing."""

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, wait_until

COMMENT = "lab test"


def error_of(call, **params) -> tuple[str, str | None]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"], raised.value.response.get("reason")


def target_zones(lab: RunningLab, count: int = 60) -> set[str]:
    """The AZs of the targets that answered ``count`` requests (``X-Lab-AZ``)."""
    with requests.Session() as session:
        return {session.get(lab.target_url, timeout=5).headers.get("X-Lab-AZ", "") for _ in range(count)}


def nodes_in_dns(lab: RunningLab) -> set[str]:
    nodes = lab.api.status()["load_balancer_nodes"]["web"]
    return {n["availability_zone"] for n in nodes if not n["leaving"]}


def test_a_zonal_shift_moves_the_load_balancer_out_of_one_az_until_cancelled_or_expired(start_lab) -> None:
    """ARC zonal shift as AWS documents it ("Zonal shift in ARC", "Supported resources", "Zonal
    shift for your Application Load Balancer", ARC API Reference: StartZonalShift,
    CancelZonalShift, UpdateZonalShift; https://docs.aws.amazon.com/r53recovery/latest/dg/arc-zonal-shift.html):
    only a load balancer whose ``zonal_shift.config.enabled`` attribute is on is a managed
    resource; a shift names an AZ ID of the resource, lasts 1 minute to 72 hours, and is the
    resource's only active one; while active the AZ's node leaves DNS and no request reaches the
    AZ's targets; it ends when cancelled or expired, after which it cannot be cancelled again."""
    lab = start_lab()
    arc, elbv2 = lab.client("arc-zonal-shift", retries=False), lab.client("elbv2")
    arn = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    zone_ids = {z["ZoneName"]: z["ZoneId"] for z in
                lab.client("ec2").describe_availability_zones()["AvailabilityZones"]}
    away = zone_ids["us-east-1a"]
    start = {"resourceIdentifier": arn, "awayFrom": away, "comment": COMMENT}

    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "zonal_shift.config.enabled", "Value": "false"}])
    assert error_of(arc.start_zonal_shift, **start, expiresIn="10m")[0] == "ResourceNotFoundException"
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "zonal_shift.config.enabled", "Value": "true"}])
    for bad in ("0m", "73h", "1d", "10"):
        assert error_of(arc.start_zonal_shift, **start, expiresIn=bad) == \
            ("ValidationException", "InvalidExpiresIn"), bad
    assert error_of(arc.start_zonal_shift, **{**start, "awayFrom": "euw1-az9"}, expiresIn="10m") == \
        ("ValidationException", "InvalidAz")
    assert "us-east-1a" in target_zones(lab)

    shift = arc.start_zonal_shift(**start, expiresIn="10m")
    assert shift["status"] == "ACTIVE" and shift["awayFrom"] == away
    assert (shift["expiryTime"] - shift["startTime"]).total_seconds() == pytest.approx(
        600 * float(lab.env["CHAOS_SRE_TIME_SCALE"]), abs=1)
    assert error_of(arc.start_zonal_shift, **start, expiresIn="10m") == \
        ("ConflictException", "ZonalShiftAlreadyExists")
    assert error_of(arc.start_zonal_shift, **{**start, "awayFrom": zone_ids["us-east-1b"]},
                    expiresIn="10m") == ("ConflictException", "SimultaneousZonalShiftsConflict")
    weights = arc.get_managed_resource(resourceIdentifier=arn)["appliedWeights"]
    assert weights[away] == 0 and sorted(weights.values()) == [0, 1, 1]
    assert wait_until(lambda: "us-east-1a" not in target_zones(lab, 20), timeout=5, interval=0.05)
    assert "us-east-1a" not in target_zones(lab)
    assert wait_until(lambda: nodes_in_dns(lab) == {"us-east-1b", "us-east-1c"}, timeout=5)
    listed = arc.list_zonal_shifts(resourceIdentifier=arn)["items"]
    assert [s["zonalShiftId"] for s in listed] == [shift["zonalShiftId"]]

    cancelled = arc.cancel_zonal_shift(zonalShiftId=shift["zonalShiftId"])
    assert cancelled["status"] == "CANCELED"
    assert error_of(arc.cancel_zonal_shift, zonalShiftId=shift["zonalShiftId"]) == \
        ("ConflictException", "ZonalShiftStatusNotActive")
    assert error_of(arc.update_zonal_shift, zonalShiftId=shift["zonalShiftId"], expiresIn="5m") == \
        ("ConflictException", "ZonalShiftStatusNotActive")
    assert wait_until(lambda: "us-east-1a" in target_zones(lab, 30), timeout=5, interval=0.05)
    assert wait_until(lambda: nodes_in_dns(lab) == {"us-east-1a", "us-east-1b", "us-east-1c"}, timeout=5)

    short = arc.start_zonal_shift(**start, expiresIn="1m")
    assert arc.update_zonal_shift(zonalShiftId=short["zonalShiftId"], comment="renamed")["comment"] == "renamed"
    assert wait_until(lambda: [s["zonalShiftId"] for s in arc.list_zonal_shifts(status="EXPIRED")["items"]],
                      timeout=30) == [short["zonalShiftId"]]
    assert arc.list_zonal_shifts(resourceIdentifier=arn)["items"] == []
    assert wait_until(lambda: "us-east-1a" in target_zones(lab, 30), timeout=5, interval=0.05)
    kinds = [e["kind"] for e in lab.timeline()["events"] if e["kind"].startswith("zonal-shift")]
    assert kinds == ["zonal-shift-started", "zonal-shift-canceled", "zonal-shift-started",
                     "zonal-shift-expired"]
    code, _ = error_of(arc.list_autoshifts)  # an operation the lab has no handler for: refused
    assert code == "UnknownOperationException"

