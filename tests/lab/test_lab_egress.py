"""Egress in the lab: where a subnet's internet traffic goes, and whether the runner's calls reach
AWS from where it sits."""

import pytest
from botocore.exceptions import ConnectionClosedError
from conftest import found, wait_until


def test_a_cut_nat_gateway_takes_the_egress_of_the_subnets_it_serves_and_the_runner_its_way_back(
        start_lab) -> None:
    """Issue 36 item 4, the lab: a subnet's internet traffic goes where its route table's
    default route sends it ("Configure route tables", Amazon VPC User Guide); through a NAT
    gateway it needs the gateway's subnet ("NAT gateways": the gateway sends it on to the
    internet gateway), so a network ACL that cuts the gateway's subnet takes the egress of every
    subnet routed through it. A private-DNS interface endpoint answers its service's name with
    its interfaces' addresses ("Access an AWS service using an interface VPC endpoint", AWS
    PrivateLink Guide), so calls to it given a cut subnet's address time out. The runner sits in
    such a subnet: when its route is cut, its calls - its rollback's too - get no answer.

    What 18db4a1's az-blackhole did here - a deny-all ACL on the gateway's subnet, with no word
    about the gateway or the endpoint - is done by hand, and the lab shows the harm; the
    blackhole now refuses it (test_az_faults.py, test_blackhole_lists_what_else_it_cuts_...)."""
    lab = start_lab()
    ec2 = lab.client("ec2")

    def subnet(name: str) -> str:
        return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])[
            "Subnets"][0]["SubnetId"]

    cut, served, runner = subnet("web-us-east-1b"), subnet("web-us-east-1a"), subnet("runner-us-east-1c")
    status = lab.api.status()
    assert status["egress_cut_subnets"] == {}
    assert status["caller"] == {"subnet": runner, "route_cut": None, "unanswered_calls": {}}
    vpc = ec2.describe_subnets(SubnetIds=[cut])["Subnets"][0]["VpcId"]
    gateway = ec2.create_nat_gateway(SubnetId=cut, AllocationId=ec2.allocate_address(Domain="vpc")[
        "AllocationId"])["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=gateway)
    ec2.associate_route_table(RouteTableId=table, SubnetId=served)
    ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface", SubnetIds=[cut],
                            ServiceName="com.amazonaws.us-east-1.autoscaling", PrivateDnsEnabled=True)
    deny_all = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    association = next(a["NetworkAclAssociationId"] for acl in ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [cut]}])["NetworkAcls"]
        for a in acl["Associations"] if a["SubnetId"] == cut)
    assert wait_until(lambda: found(lambda: ec2.replace_network_acl_association(
        AssociationId=association, NetworkAclId=deny_all)), timeout=5, interval=0.05)

    def egress_cut() -> dict[str, str] | None:
        cut_off = lab.api.status()["egress_cut_subnets"]
        return cut_off if served in cut_off else None

    cut_off = wait_until(egress_cut, timeout=5)
    assert cut_off == {cut: f"network ACL {deny_all} of {cut} denies its internet traffic",
                       served: f"NAT gateway {gateway} is in subnet {cut}, which network ACL "
                               f"{deny_all} cuts off"}
    assert {e["resource"] for e in lab.timeline()["events"] if e["kind"] == "subnet-egress-lost"} \
        == {cut, served}
    assert ec2.describe_subnets(SubnetIds=[runner])["Subnets"]  # its own route: the internet gateway
    with pytest.raises(ConnectionClosedError):  # through the endpoint's address in the cut subnet
        lab.client("autoscaling", retries=False).describe_auto_scaling_groups()
    ec2.associate_route_table(RouteTableId=table, SubnetId=runner)
    assert wait_until(lambda: lab.api.status()["caller"]["route_cut"], timeout=5) == \
        f"NAT gateway {gateway} is in subnet {cut}, which network ACL {deny_all} cuts off"
    with pytest.raises(ConnectionClosedError):  # the runner's restore gets no answer
        lab.client("ec2", retries=False).replace_network_acl_association(
            AssociationId=association, NetworkAclId=deny_all)
    assert lab.api.status()["caller"]["unanswered_calls"] == {"autoscaling": 1, "ec2": 1}
