"""The lab's ECS service `api` over plain boto3 and HTTP: placement, the task lifecycle, draining,
Application Auto Scaling fighting a manual scale-in, and the web tier's fallback per profile."""

import time
from typing import Any

import pytest
import requests
from conftest import RunningLab, run_cli, wait_until

CLUSTER, SERVICE = "staging", "api"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"


def service(lab: RunningLab) -> dict[str, Any]:
    return lab.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def counts(lab: RunningLab) -> tuple[int, int, int]:
    found = service(lab)
    return found["desiredCount"], found["runningCount"], found["pendingCount"]


def tasks(lab: RunningLab, desired_status: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = lab.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE,
                          desiredStatus=desired_status)["taskArns"]
    return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def api_targets(lab: RunningLab) -> dict[str, str]:
    elbv2 = lab.client("elbv2")
    arn = elbv2.describe_target_groups(Names=[SERVICE])["TargetGroups"][0]["TargetGroupArn"]
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health}


def scalable_target(lab: RunningLab) -> list[dict[str, Any]]:
    return lab.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE])["ScalableTargets"]


def task_ip(task: dict[str, Any]) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


def test_api_runs_three_tasks_one_per_az_behind_its_own_target_group(shared_lab: RunningLab) -> None:
    lab = shared_lab
    assert counts(lab) == (3, 3, 0)
    found = service(lab)
    assert len(found["deployments"]) == 1 and found["deployments"][0]["rolloutState"] == "COMPLETED"
    running = tasks(lab)
    assert sorted(t["availabilityZone"] for t in running) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert {t["lastStatus"] for t in running} == {"RUNNING"}
    subnets = {s["SubnetId"]: s for s in lab.client("ec2").describe_subnets()["Subnets"]}
    for task in running:
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        subnet = subnets[details["subnetId"]]
        assert subnet["AvailabilityZone"] == task["availabilityZone"]
        assert task_ip(task).startswith(subnet["CidrBlock"].rsplit(".", 2)[0] + ".")
    assert api_targets(lab) == {task_ip(t): "healthy" for t in running}
    target = scalable_target(lab)[0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 9)
    assert not any(target["SuspendedState"].values())

    seen = set()
    for _ in range(9):
        answer = requests.get(f"{lab.target_url}/api/orders", timeout=5)
        assert answer.status_code == 200
        seen.add(answer.headers["X-Lab-Target"])
    assert seen == {task_ip(t) for t in running}
    page = requests.get(f"{lab.target_url}/", timeout=5)
    assert page.status_code == 200 and "X-Lab-Fallback" not in page.headers
    status = run_cli("lab", "status", lab_dir=lab.lab_dir)
    assert "ecs service staging/api: 3/3 tasks running, 0 pending, auto scaling 3-9" in status.stdout


def test_scale_in_drains_and_auto_scaling_brings_the_service_back(start_lab) -> None:
    lab = start_lab()
    ecs = lab.client("ecs")
    before = {t["taskArn"] for t in tasks(lab)}
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
    assert wait_until(lambda: requests.get(f"{lab.target_url}/api/x", timeout=5).status_code == 503,
                      timeout=5, interval=0.05)
    assert set(api_targets(lab).values()) <= {"draining"}
    page = requests.get(f"{lab.target_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["X-Lab-Fallback"] == "api"
    assert counts(lab)[1] == 0
    stopping = tasks(lab, "STOPPED")
    assert {t["lastStatus"] for t in stopping} <= {"DEACTIVATING", "STOPPING", "DEPROVISIONING",
                                                   "STOPPED"}
    # the target tracking policy's next evaluation (60 s, 6 s at time scale 0.1) puts min back
    seen: set[str] = set()

    def back_to(wanted: tuple[int, int, int]) -> bool:
        reached = counts(lab) == wanted  # then the tasks, which are at least as far along
        seen.update(task["lastStatus"] for task in tasks(lab))
        return reached

    assert wait_until(lambda: back_to((3, 0, 3)) or back_to((3, 0, 0)), timeout=15, interval=0.05)
    assert wait_until(lambda: back_to((3, 3, 0)), timeout=15, interval=0.05)
    # polled, so under load the short starting states may fall between two polls but one; the
    # lab's ground truth has every new task started, then running
    assert "RUNNING" in seen and seen & {"PROVISIONING", "PENDING", "ACTIVATING"}, seen
    events = [(e["kind"], e["resource"]) for e in lab.timeline()["events"]
              if e["kind"] in ("ecs-task-started", "ecs-task-running")]
    for task in tasks(lab):
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        assert events.index(("ecs-task-started", task_id)) < events.index(("ecs-task-running", task_id))
    lab.client("ecs").get_waiter("services_stable").wait(
        cluster=CLUSTER, services=[SERVICE], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    assert wait_until(lambda: list(api_targets(lab).values()) == ["healthy"] * 3, timeout=15)
    # new tasks (a stopped task's address may be given to a new one, as in a VPC)
    after = {t["taskArn"]: task_ip(t) for t in tasks(lab)}
    assert set(after).isdisjoint(before) and len(set(after.values())) == 3
    # the old tasks finish deprovisioning on their own schedule: a stable service does not wait
    assert wait_until(lambda: {t["lastStatus"] for t in tasks(lab, "STOPPED")} == {"STOPPED"},
                      timeout=15, interval=0.1)
    stopped = tasks(lab, "STOPPED")
    assert len(stopped) == 3
    assert all("Scaling activity" in t["stoppedReason"] for t in stopped)
    kinds = [e["kind"] for e in lab.timeline()["events"]]
    assert "ecs-desired-count-decreased" in kinds and "autoscaling-desired-count-changed" in kinds
    assert kinds.index("ecs-task-stopped") < kinds.index("ecs-service-steady")
    messages = [e["message"] for e in service(lab)["events"]]
    assert messages[0] == "(service api) has reached a steady state."
    assert any("by Application Auto Scaling" in m for m in messages)

    # RegisterScalableTarget moves the count into the new range at once
    lab.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=4, MaxCapacity=9)
    assert counts(lab)[0] == 4


@pytest.mark.slow
def test_fragile_runs_one_slow_task_and_its_web_pages_fail_without_it(start_lab) -> None:
    lab = start_lab("--profile", "fragile")
    assert counts(lab) == (1, 1, 0)
    assert scalable_target(lab) == []
    lab.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
    assert wait_until(lambda: requests.get(f"{lab.target_url}/", timeout=5).status_code == 500,
                      timeout=5, interval=0.05)
    assert lab.timeline()["requests"]["by_cause"].get("500-api-unavailable", 0) >= 1
    time.sleep(7)  # past an auto scaling evaluation: nothing brings it back
    assert counts(lab)[0] == 0
    restored_at = time.monotonic()
    lab.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1)
    assert wait_until(lambda: requests.get(f"{lab.target_url}/", timeout=5).status_code == 200,
                      timeout=30, interval=0.1)
    # image pull 30 s + start 90 s (AWS) at time scale 0.1: more than 12 s until pages work
    assert time.monotonic() - restored_at > 12
