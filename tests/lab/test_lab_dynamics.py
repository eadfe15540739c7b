"""Control-plane dynamics the lab adds to moto, driven by plain boto3 calls."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, found, wait_until


@dataclass
class Traffic:
    """Outcomes of a bounded background request loop (about 50 req/s)."""

    ok: int = 0
    failed: int = 0
    outcomes: list[tuple[float, bool]] = field(default_factory=list)


@contextmanager
def traffic(lab: RunningLab, *, timeout: float = 0.5, max_seconds: float = 60) -> Iterator[Traffic]:
    result = Traffic()
    stop = threading.Event()

    def loop() -> None:
        deadline = time.monotonic() + max_seconds
        with requests.Session() as session:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    good = session.get(f"{lab.target_url}/", timeout=timeout).status_code < 500
                except requests.RequestException:
                    good = False
                    session.close()
                result.outcomes.append((time.time(), good))
                if good:
                    result.ok += 1
                else:
                    result.failed += 1
                stop.wait(0.02)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=max_seconds)


def healed(lab: RunningLab, zones: set[str]) -> bool:
    running = lab.web_instances("running")
    return (lab.target_states() == ["healthy"] * 6
            and {i["Placement"]["AvailabilityZone"] for i in running} == zones)


def test_terminating_one_az_fails_requests_until_the_asg_heals(start_lab) -> None:
    lab = start_lab()
    requests.delete(f"{lab.target_url}/__lab/timeline", timeout=5)
    victims = [i["InstanceId"] for i in lab.web_instances("running")
               if i["Placement"]["AvailabilityZone"] == "us-east-1a"]
    assert len(victims) == 2
    ec2 = lab.client("ec2")
    with traffic(lab) as seen:
        time.sleep(0.5)
        fault_at = time.time()
        ec2.terminate_instances(InstanceIds=victims)  # the lab's ASG sweep replaces them (below)
        assert wait_until(lambda: healed(lab, {"us-east-1a", "us-east-1b", "us-east-1c"}),
                          timeout=30)
        healed_at = time.time()
        time.sleep(1.0)
    assert healed_at - fault_at < 30
    assert seen.failed > 0
    assert all(good for at, good in seen.outcomes if at > healed_at)
    timeline = lab.timeline()
    faults = [f for f in timeline["faults"] if f["kind"] == "instance-terminated"]
    assert sorted(f["resource"] for f in faults) == sorted(victims)
    assert all(abs(f["at"] - fault_at) < 1.0 for f in faults)
    assert timeline["requests"]["failed"] > 0
    assert timeline["requests"]["by_cause"].get("502-target-down", 0) > 0
    first, last = timeline["impact"]["first_failure"], timeline["impact"]["last_failure"]
    assert fault_at - 0.1 <= first <= last <= healed_at
    kinds = Counter(e["kind"] for e in timeline["events"])
    assert kinds["asg-instance-replaced"] == 2
    assert kinds["instance-launched"] == 2
    assert kinds["target-healthy"] == 2
    per_az = Counter(i["Placement"]["AvailabilityZone"] for i in lab.web_instances("running"))
    assert per_az == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}


def test_new_instances_go_through_pending_and_health_checks(start_lab) -> None:
    """A replacement is Pending in its group from launch until EC2 says it runs, then healthy.

    The group is read before EC2 on each look, so a look that straddles the moment the instance
    starts running still sees the group's Pending with EC2's ``running``, never the reverse."""
    lab = start_lab()
    before = {i["InstanceId"] for i in lab.web_instances("running")}
    lab.client("ec2").terminate_instances(InstanceIds=[sorted(before)[0]])
    autoscaling, ec2 = lab.client("autoscaling"), lab.client("ec2")

    def first_look() -> tuple[str, str, str] | None:
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
        new = [i for i in group["Instances"] if i["InstanceId"] not in before]
        if not new:
            return None
        reservations = ec2.describe_instances(InstanceIds=[new[0]["InstanceId"]])["Reservations"]
        return new[0]["InstanceId"], new[0]["LifecycleState"], reservations[0]["Instances"][0]["State"]["Name"]

    seen = wait_until(first_look, timeout=10, interval=0.05)
    assert seen is not None
    new_id, lifecycle, state = seen
    assert lifecycle == "Pending"
    assert state in {"pending", "running"}
    assert wait_until(lambda: lab.target_states() == ["healthy"] * 6, timeout=30)
    events = [e for e in lab.timeline()["events"] if e["resource"] == new_id]
    assert events[0]["kind"] == "instance-launched"
    assert events[-1]["kind"] == "target-healthy"


def test_a_stopped_instance_is_replaced(start_lab) -> None:
    lab = start_lab()
    victim = lab.web_instances("running")[0]["InstanceId"]
    lab.client("ec2").stop_instances(InstanceIds=[victim])
    assert wait_until(lambda: lab.target_states() == ["healthy"] * 6
                      and victim in {i["InstanceId"] for i in lab.web_instances("terminated")},
                      timeout=30)
    timeline = lab.timeline()
    assert [f["kind"] for f in timeline["faults"]] == ["instance-stopped"]
    replaced = [e for e in timeline["events"] if e["kind"] == "asg-instance-replaced"]
    assert replaced[0]["resource"] == victim
    assert "stopped" in replaced[0]["detail"]["reason"]


def _health(lab: RunningLab, instance_id: str) -> str | None:
    """The instance's health status in its Auto Scaling group (None: no longer a member)."""
    found = lab.client("autoscaling").describe_auto_scaling_instances(
        InstanceIds=[instance_id])["AutoScalingInstances"]
    return str(found[0]["HealthStatus"]).upper() if found else None  # AWS: HEALTHY, moto: Healthy


def test_an_unhealthy_mark_outlives_its_cause_and_is_replaced_on_resume(start_lab) -> None:
    """With ReplaceUnhealthy suspended the HealthCheck process still marks a stopped instance
    unhealthy, the mark stays when the instance runs again ("It never automatically recovers its
    health", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html),
    and "as soon as you resume the ReplaceUnhealthy process, Amazon EC2 Auto Scaling replaces
    instances that were marked unhealthy while this process was suspended"
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html)."""
    lab = start_lab()
    autoscaling, ec2 = lab.client("autoscaling"), lab.client("ec2")
    autoscaling.suspend_processes(AutoScalingGroupName="web", ScalingProcesses=["ReplaceUnhealthy"])
    victim = lab.web_instances("running")[0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[victim])
    assert wait_until(lambda: _health(lab, victim) == "UNHEALTHY", timeout=30)
    ec2.start_instances(InstanceIds=[victim])
    assert wait_until(lambda: victim in {i["InstanceId"] for i in lab.web_instances("running")},
                      timeout=30)
    time.sleep(3)  # several health sweeps (1 s apart at the lab's time scale)
    assert _health(lab, victim) == "UNHEALTHY"
    assert victim in {i["InstanceId"] for i in lab.web_instances("running")}
    autoscaling.resume_processes(AutoScalingGroupName="web", ScalingProcesses=["ReplaceUnhealthy"])
    assert wait_until(lambda: victim in {i["InstanceId"] for i in lab.web_instances("terminated")},
                      timeout=30)
    replaced = [e for e in lab.timeline()["events"]
                if e["kind"] == "asg-instance-replaced" and e["resource"] == victim]
    assert "stopped" in replaced[0]["detail"]["reason"]
    autoscaling.set_instance_health(InstanceId=lab.web_instances("running")[0]["InstanceId"],
                                    HealthStatus="Unhealthy")
    assert wait_until(lambda: sum(e["kind"] == "asg-instance-replaced"
                                  for e in lab.timeline()["events"]) == 2, timeout=30)


def diagnosis(lab: RunningLab, subnet_id: str, association_id: str,
              cut_off: set[str]) -> dict[str, Any]:
    """What the lab saw, for a cut-off AZ whose targets never turned unhealthy."""
    status = requests.get(f"{lab.target_url}/__lab/status", timeout=5).json()
    acls = lab.client("ec2").describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["NetworkAcls"]
    return {"subnet": subnet_id, "association": association_id,
            "unreachable_subnets": status.get("unreachable_subnets"),
            "acls": [(a["NetworkAclId"], [e["RuleAction"] for e in a["Entries"]]) for a in acls],
            "cut_off": {i["InstanceId"]: (i.get("SubnetId"), i["State"]["Name"])
                        for i in lab.web_instances() if i["InstanceId"] in cut_off},
            "health": lab.target_states(),
            "events": [(e["kind"], e.get("resource")) for e in lab.timeline()["events"]][-30:]}


@pytest.mark.slow
def test_a_deny_all_network_acl_blackholes_an_az(start_lab) -> None:
    lab = start_lab()
    ec2 = lab.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["web-us-east-1a"]}])["Subnets"][0]
    association = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet["SubnetId"]]}]
    )["NetworkAcls"][0]["Associations"]
    association_id = next(a["NetworkAclAssociationId"] for a in association
                          if a["SubnetId"] == subnet["SubnetId"])
    original_acl = next(a["NetworkAclId"] for a in association if a["SubnetId"] == subnet["SubnetId"])
    # EC2 is eventually consistent: a new ACL is "not found" for a moment ("Eventual consistency
    # in the Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
    # The moment is 0.2 s at the lab's time scale: a call that a loaded machine delays past it
    # finds the ACL, so up to five new ACLs are tried, each named at once.
    codes = []
    for _ in range(5):
        deny_all = ec2.create_network_acl(VpcId=subnet["VpcId"])["NetworkAcl"]["NetworkAclId"]
        deny_rule = {"NetworkAclId": deny_all, "RuleNumber": 1, "Protocol": "-1",
                     "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}
        try:
            ec2.create_network_acl_entry(**deny_rule, Egress=False)
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
            break
        codes.append("found")
    assert codes[-1] == "InvalidNetworkAclID.NotFound", codes
    assert wait_until(lambda: found(lambda: ec2.create_network_acl_entry(**deny_rule, Egress=False)),
                      timeout=5, interval=0.05)
    ec2.create_network_acl_entry(**deny_rule, Egress=True)
    elbv2 = lab.client("elbv2")
    arn = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
    cut_off = {i["InstanceId"] for i in lab.web_instances("running")
               if i["Placement"]["AvailabilityZone"] == "us-east-1a"}

    reasons: dict[str, str | None] = {}

    def cut_off_unhealthy() -> dict[str, str] | None:
        """The cause the lab gave each cut-off target's turn to unhealthy, once both turned.

        Read from the lab's ground truth: the ELB-type ASG may replace an unhealthy target
        before a DescribeTargetHealth poll sees it. The reasons the polls did see are kept."""
        for t in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
            if t["Target"]["Id"] in cut_off and t["TargetHealth"]["State"] == "unhealthy":
                reasons[t["Target"]["Id"]] = t["TargetHealth"].get("Reason")
        causes = {e["resource"]: e["detail"].get("cause") for e in lab.timeline()["events"]
                  if e["kind"] == "target-unhealthy" and e["resource"] in cut_off}
        return causes if len(causes) == 2 else None

    with traffic(lab, timeout=0.3) as seen:
        time.sleep(0.3)
        new_association = ec2.replace_network_acl_association(
            AssociationId=association_id, NetworkAclId=deny_all)["NewAssociationId"]
        # requests to the cut-off AZ hang until the client gives up, until
        # health checks take its targets out of service
        causes = wait_until(cut_off_unhealthy, timeout=20)
        if not causes:
            pytest.fail(json.dumps(diagnosis(lab, subnet["SubnetId"], new_association, cut_off)))
        assert set(causes.values()) == {"unreachable"}
        assert set(reasons.values()) <= {"Target.Timeout"}, reasons
        # the ELB-type ASG replaces them in the AZs it can still reach
        assert wait_until(lambda: healed(lab, {"us-east-1b", "us-east-1c"}), timeout=40)
    assert seen.failed > 0
    timeline = lab.timeline()
    assert timeline["requests"]["by_cause"].get("timeout-target-unreachable", 0) > 0
    assert [f["kind"] for f in timeline["faults"]] == ["subnet-unreachable"]
    per_az = Counter(i["Placement"]["AvailabilityZone"] for i in lab.web_instances("running"))
    assert per_az == {"us-east-1b": 3, "us-east-1c": 3}
    ec2.replace_network_acl_association(AssociationId=new_association, NetworkAclId=original_acl)
    assert wait_until(lambda: any(e["kind"] == "subnet-reachable" for e in lab.timeline()["events"]),
                      timeout=5)
    # AZRebalance brings the group back to 2/2/2 once the AZ is reachable again
    assert wait_until(lambda: healed(lab, {"us-east-1a", "us-east-1b", "us-east-1c"})
                      and Counter(i["Placement"]["AvailabilityZone"]
                                  for i in lab.web_instances("running"))
                      == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}, timeout=60)
    kinds = Counter(e["kind"] for e in lab.timeline()["events"])
    assert kinds["asg-rebalance-launch"] == 2 and kinds["asg-rebalance-terminated"] == 2


def test_suspended_launch_process_stops_replacement(start_lab) -> None:
    lab = start_lab()
    autoscaling = lab.client("autoscaling")
    autoscaling.suspend_processes(AutoScalingGroupName="web", ScalingProcesses=["Launch"])
    victim = lab.web_instances("running")[0]["InstanceId"]
    lab.client("ec2").terminate_instances(InstanceIds=[victim])
    assert wait_until(lambda: any(e["kind"] == "asg-instance-replaced"
                                  for e in lab.timeline()["events"]), timeout=10)
    time.sleep(1.0)
    assert lab.web_instances("pending") == []
    autoscaling.resume_processes(AutoScalingGroupName="web", ScalingProcesses=["Launch"])
    assert wait_until(lambda: lab.target_states() == ["healthy"] * 6, timeout=30)


def test_no_registered_targets_answers_503(start_lab) -> None:
    lab = start_lab()
    lab.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName="web", MinSize=0, DesiredCapacity=0)
    assert wait_until(lambda: lab.target_states() == [], timeout=10)
    assert requests.get(f"{lab.target_url}/", timeout=2).status_code == 503
    assert lab.timeline()["requests"]["by_cause"] == {"503-no-targets": 1}


def test_fragile_profile_puts_everything_in_one_az(start_lab) -> None:
    lab = start_lab("--profile", "fragile")
    per_az = Counter(i["Placement"]["AvailabilityZone"] for i in lab.web_instances("running"))
    assert per_az == {"us-east-1a": 6}
    group = lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    assert group["HealthCheckType"] == "EC2"
    assert len(group["VPCZoneIdentifier"].split(",")) == 1
    assert lab.target_states() == ["healthy"] * 6
    lab.client("ec2").terminate_instances(InstanceIds=[i["InstanceId"] for i in lab.web_instances("running")])
    # losing the one AZ is a full outage: every request fails for a while
    time.sleep(1.0)
    with requests.Session() as session:
        statuses = [session.get(f"{lab.target_url}/", timeout=1).status_code for _ in range(20)]
    assert all(s >= 500 for s in statuses)
    launched = wait_until(lambda: lab.web_instances("pending", "running"), timeout=10)
    assert {i["Placement"]["AvailabilityZone"] for i in launched} == {"us-east-1a"}
