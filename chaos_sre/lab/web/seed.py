"""Seeds the web tier: VPC, subnets and network ACL, security groups, launch template, target
group, ALB and listener, Auto Scaling group ``web``, and its neighbours (the runner's subnet, a
second VPC) - chaos_sre.lab.core.topology lists them."""

from typing import Any

from chaos_sre.lab.core.settings import AVAILABILITY_ZONES, Profile
from chaos_sre.lab.ec2.settings import CALLER_INTERFACE_DESCRIPTION
from chaos_sre.lab.web.layout import (
    RUNNER_ADDRESS,
    RUNNER_CIDR,
    RUNNER_TAGS,
    RUNNER_ZONE,
    SHARED_TAGS,
    SHARED_VPC_CIDR,
    TAGS,
    VPC_CIDR,
    WEB_CAPACITY,
    Network,
    security_group,
    spec,
)

SEED_ORDER = 0


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create the web tier for ``profile`` and record its network for the other services."""
    network = built["network"] = Network()
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
    autoscaling = session.client("autoscaling", endpoint_url=endpoint_url)

    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=spec("vpc", "web"))["Vpc"]["VpcId"]
    _route_to_the_internet(ec2, vpc_id)
    subnets: dict[str, str] = {}
    for index, zone in enumerate(AVAILABILITY_ZONES, start=1):
        subnets[zone] = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"10.0.{index}.0/24",
            AvailabilityZone=zone,
            TagSpecifications=spec("subnet", f"web-{zone}"),
        )["Subnet"]["SubnetId"]

    acl_id = ec2.create_network_acl(
        VpcId=vpc_id, TagSpecifications=spec("network-acl", "web")
    )["NetworkAcl"]["NetworkAclId"]
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id, RuleNumber=100, Protocol="-1", RuleAction="allow",
            Egress=egress, CidrBlock="0.0.0.0/0",
        )
    current = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": list(subnets.values())}]
    )["NetworkAcls"]
    for acl in current:
        for association in acl["Associations"]:
            if association["SubnetId"] in subnets.values():
                ec2.replace_network_acl_association(
                    AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl_id
                )

    alb_sg = ec2.create_security_group(
        GroupName="web-alb", Description="web load balancer", VpcId=vpc_id,
        TagSpecifications=spec("security-group", "web-alb"),
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    web_sg = security_group(ec2, "web", "web instances", vpc_id, TAGS, port=80, source_group=alb_sg)

    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={
            "ImageId": image_id,
            "InstanceType": "t3.small",
            "SecurityGroupIds": [web_sg],
            "TagSpecifications": spec("instance", "web"),
        },
        TagSpecifications=spec("launch-template", "web"),
    )

    target_group_arn = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="instance",
        HealthCheckProtocol="HTTP", HealthCheckPath="/health",
        HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=3, UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"},
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
    )
    lb_arn = elbv2.create_load_balancer(
        Name="web", Subnets=list(subnets.values()), SecurityGroups=[alb_sg],
        Scheme="internet-facing", Type="application",
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    # registered with ARC, so a blackhole moves its traffic with a zonal shift (off by default)
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
        {"Key": "zonal_shift.config.enabled", "Value": "true"}])
    web = profile.part("web")
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )["Listeners"][0]["ListenerArn"]

    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web",
        LaunchTemplate={"LaunchTemplateName": "web", "Version": "$Latest"},
        MinSize=WEB_CAPACITY // 2,
        MaxSize=WEB_CAPACITY * 2,
        DesiredCapacity=WEB_CAPACITY,
        VPCZoneIdentifier=",".join(subnets[z] for z in web.instance_zones),
        HealthCheckType=web.asg_health_check_type,
        HealthCheckGracePeriod=web.asg_health_check_grace_period,
        TargetGroupARNs=[target_group_arn],
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": True,
             "ResourceId": "web", "ResourceType": "auto-scaling-group"}
            for k, v in TAGS.items()
        ],
    )
    _seed_neighbours(ec2, vpc_id)
    network.vpc_id, network.subnets, network.listener_arn = vpc_id, subnets, listener_arn
    network.alb_security_group, network.web_security_group = alb_sg, web_sg
    network.target_group_arn = target_group_arn


def _route_to_the_internet(ec2: Any, vpc_id: str) -> None:
    """An internet gateway for the VPC, and the main route table's default route to it: the
    load balancer's subnets are public, and the runner's calls to AWS leave through it."""
    gateway = ec2.create_internet_gateway(
        TagSpecifications=spec("internet-gateway", "web"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                              {"Name": "association.main", "Values": ["true"]}])
    ec2.create_route(RouteTableId=main["RouteTables"][0]["RouteTableId"],
                     DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)


def _seed_neighbours(ec2: Any, vpc_id: str) -> None:
    """What shares the account with the service: the runner's subnet and network interface in
    the service's VPC, and another team's VPC ``shared`` with a subnet per AZ."""
    runner_subnet = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=RUNNER_CIDR, AvailabilityZone=RUNNER_ZONE,
        TagSpecifications=spec("subnet", f"runner-{RUNNER_ZONE}", RUNNER_TAGS))["Subnet"]["SubnetId"]
    ec2.create_network_interface(
        SubnetId=runner_subnet, PrivateIpAddress=RUNNER_ADDRESS, Description=CALLER_INTERFACE_DESCRIPTION,
        TagSpecifications=spec("network-interface", "chaos-sre-runner", RUNNER_TAGS))
    shared = ec2.create_vpc(CidrBlock=SHARED_VPC_CIDR,
                            TagSpecifications=spec("vpc", "shared", SHARED_TAGS))["Vpc"]["VpcId"]
    for index, zone in enumerate(AVAILABILITY_ZONES, start=1):
        ec2.create_subnet(VpcId=shared, CidrBlock=f"10.1.{index}.0/24", AvailabilityZone=zone,
                          TagSpecifications=spec("subnet", f"shared-{zone}", SHARED_TAGS))
