"""The seeded web tier, seen through plain boto3 and real HTTP."""

import re
import socket
from collections import Counter

import pytest
import requests
from conftest import RunningLab, run_cli, wait_until


def test_up_prints_the_exports_that_point_clients_at_the_lab(shared_lab: RunningLab) -> None:
    assert set(shared_lab.env) == {
        "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION", "CHAOS_SRE_TARGET_URL", "ECS_CONTAINER_METADATA_URI_V4",
        "CHAOS_SRE_TIME_SCALE",
    }
    assert shared_lab.env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert shared_lab.env["CHAOS_SRE_TIME_SCALE"] == "0.1"  # experiments' AWS seconds, played
    assert shared_lab.env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert shared_lab.target_url.startswith("http://127.0.0.1:")


def test_six_running_web_instances_spread_two_per_az(shared_lab: RunningLab) -> None:
    instances = shared_lab.web_instances("running")
    assert len(instances) == 6
    per_az = Counter(i["Placement"]["AvailabilityZone"] for i in instances)
    assert per_az == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    subnets = {
        s["SubnetId"]: s["AvailabilityZone"]
        for s in shared_lab.client("ec2").describe_subnets(
            Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]
    }
    for instance in instances:
        assert subnets[instance["SubnetId"]] == instance["Placement"]["AvailabilityZone"]
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["app"] == "web" and tags["env"] == "staging"


def test_six_healthy_targets_behind_the_web_load_balancer(shared_lab: RunningLab) -> None:
    elbv2 = shared_lab.client("elbv2")
    group = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]
    assert group["HealthCheckIntervalSeconds"] == 10
    assert group["HealthyThresholdCount"] == 3
    assert group["UnhealthyThresholdCount"] == 2
    assert shared_lab.target_states() == ["healthy"] * 6
    balancer = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
    assert sorted(z["ZoneName"] for z in balancer["AvailabilityZones"]) == [
        "us-east-1a", "us-east-1b", "us-east-1c"]
    tags = elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]
    assert {"Key": "app", "Value": "web"} in tags["Tags"]


def test_auto_scaling_group_spans_three_azs_with_elb_health_checks(shared_lab: RunningLab) -> None:
    group = shared_lab.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 6
    assert group["HealthCheckType"] == "ELB"
    assert len(group["VPCZoneIdentifier"].split(",")) == 3
    assert [i["LifecycleState"] for i in group["Instances"]] == ["InService"] * 6
    assert {"app", "env"} <= {t["Key"] for t in group["Tags"]}


def test_web_subnets_share_an_allow_all_network_acl(shared_lab: RunningLab) -> None:
    ec2 = shared_lab.client("ec2")
    acl = ec2.describe_network_acls(Filters=[{"Name": "tag:Name", "Values": ["web"]}])["NetworkAcls"][0]
    assert len(acl["Associations"]) == 3
    assert {(e["RuleNumber"], e["RuleAction"], e["Egress"]) for e in acl["Entries"]} >= {
        (100, "allow", False), (100, "allow", True)}
    groups = {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert {"web", "web-alb"} <= groups


def test_network_acls_filtered_by_subnets_of_two_vpcs_answer_each_subnets_acl(
        shared_lab: RunningLab) -> None:
    """Issue 19: a filter's values are ORed ("If you specify multiple values for a filter, the
    values are joined with an OR", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Using_Filtering.html),
    so DescribeNetworkAcls by association.subnet-id over the us-east-1c subnets of the lab's VPC,
    the shared VPC and the default one answers every one of their ACLs (the lab answered none)."""
    ec2 = shared_lab.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "availability-zone", "Values": ["us-east-1c"]}])["Subnets"]]
    assert len(subnets) >= 4
    one_by_one = {ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [s]}])
                  ["NetworkAcls"][0]["NetworkAclId"] for s in subnets}
    together = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": subnets}])["NetworkAcls"]
    assert {a["NetworkAclId"] for a in together} == one_by_one
    associated = {a["SubnetId"] for acl in together for a in acl["Associations"]}
    assert set(subnets) <= associated


def test_the_runner_sits_in_its_own_subnet_and_the_lab_says_so_as_ecs_would(
        shared_lab: RunningLab) -> None:
    """The lab answers as the ECS task metadata endpoint v4 of the runner's container
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html):
    its address is the one of a network interface in subnet runner-us-east-1c."""
    metadata = requests.get(shared_lab.env["ECS_CONTAINER_METADATA_URI_V4"], timeout=5).json()
    address = metadata["Networks"][0]["IPv4Addresses"][0]
    ec2 = shared_lab.client("ec2")
    interfaces = ec2.describe_network_interfaces(Filters=[
        {"Name": "addresses.private-ip-address", "Values": [address]}])["NetworkInterfaces"]
    assert len(interfaces) == 1
    subnet = ec2.describe_subnets(SubnetIds=[interfaces[0]["SubnetId"]])["Subnets"][0]
    assert {t["Key"]: t["Value"] for t in subnet["Tags"]}["Name"] == "runner-us-east-1c"
    web_vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["web"]}])["Vpcs"][0]
    assert subnet["VpcId"] == web_vpc["VpcId"]


def test_hundred_requests_all_succeed_round_robin(shared_lab: RunningLab) -> None:
    targets: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(100):
            response = session.get(f"{shared_lab.target_url}/", timeout=2)
            assert response.status_code == 200
            targets[response.headers["X-Lab-Target"]] += 1
    assert len(targets) == 6
    assert max(targets.values()) - min(targets.values()) <= 1


def test_timeline_counts_requests_and_resets(shared_lab: RunningLab) -> None:
    requests.delete(f"{shared_lab.target_url}/__lab/timeline", timeout=5)
    for _ in range(10):
        requests.get(f"{shared_lab.target_url}/checkout", timeout=2)
    timeline = shared_lab.timeline()
    assert timeline["requests"] == {"total": 10, "ok": 10, "failed": 0, "by_cause": {},
                                    "degraded": {}}
    assert timeline["impact"] == {"first_failure": None, "last_failure": None}
    assert sum(s["total"] for s in timeline["series"]) == 10
    assert timeline["faults"] == []


def test_endpoint_speaks_keep_alive_pipelining_and_http10(shared_lab: RunningLab) -> None:
    host, port = shared_lab.target_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /c HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    # two HTTP/1.1 answers on the kept-alive connection, then the HTTP/1.0 one, which closes it
    assert re.findall(rb"HTTP/1\.[01] 200 OK", data) == [b"HTTP/1.1 200 OK"] * 2 + [b"HTTP/1.0 200 OK"]
    assert data.rstrip().endswith(b"}")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"NONSENSE\r\n\r\n")
        assert re.match(rb"HTTP/1\.[01] 400 ", conn.recv(65536))


def test_unknown_lab_path_is_404(shared_lab: RunningLab) -> None:
    assert requests.get(f"{shared_lab.target_url}/__lab/nope", timeout=2).status_code == 404


def test_status_shows_the_web_tier(shared_lab: RunningLab) -> None:
    result = run_cli("lab", "status", lab_dir=shared_lab.lab_dir)
    assert result.returncode == 0
    assert "profile resilient" in result.stdout
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        assert f"{zone}: 2 running" in result.stdout
    assert "target group web: 6 healthy" in result.stdout


def test_the_load_balancer_publishes_cloudwatch_metrics(shared_lab: RunningLab) -> None:
    from chaos_sre.probes.cloudwatch import alb_request_counts, error_budget_remaining

    environment = {"aws_region": "us-east-1", "aws_endpoint_url": shared_lab.env["AWS_ENDPOINT_URL"]}
    month = alb_request_counts("web", 30 * 86400, environment)
    assert month["datapoints"] >= 29  # the seeded daily history
    remaining = error_budget_remaining("web", 0.999, 30 * 86400, environment)
    assert remaining == pytest.approx(0.9, abs=0.01)
    for _ in range(20):
        requests.get(f"{shared_lab.target_url}/", timeout=2)
    recent = wait_until(lambda: alb_request_counts("web", 3600, environment)["total"] >= 20,
                        timeout=15)
    assert recent


def test_az_probes(shared_lab: RunningLab) -> None:
    from chaos_sre.probes.aws import (
        asg_at_desired_capacity,
        availability_zone_of,
        healthy_targets_per_az,
        instances_per_az,
    )

    config = {"aws_region": "us-east-1", "aws_endpoint_url": shared_lab.env["AWS_ENDPOINT_URL"]}
    per_az = {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    assert healthy_targets_per_az("web", config) == per_az
    # Issue 19 item 13: IP targets (the api service's tasks) were described as instances; they
    # are placed by the subnet holding their address (target type "ip",
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-type)
    assert healthy_targets_per_az("api", config) == {"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}
    assert instances_per_az("web", config) == per_az
    assert asg_at_desired_capacity("web", config) is True
    instance = shared_lab.web_instances("running")[0]
    assert availability_zone_of(instance["InstanceId"], config) == instance["Placement"]["AvailabilityZone"]
    assert availability_zone_of(instance["SubnetId"], config) == instance["Placement"]["AvailabilityZone"]
