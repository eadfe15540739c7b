"""Seeds the lab's AWS account through the ordinary AWS API.

The topology is created with boto3 against the lab's moto server, exactly as
infrastructure code would create it in a staging account:

* a VPC (10.0.0.0/16) with one subnet per AZ (us-east-1a/b/c) and a network
  ACL ``web`` that allows all traffic, associated with the three subnets;
* security groups ``web-alb`` (HTTP from anywhere) and ``web`` (HTTP from the ALB);
* launch template ``web``; target group ``web`` (HTTP:80, health check every
  10 s, 3 passes healthy, 2 failures unhealthy, 30 s deregistration delay);
  ALB ``web`` in the three subnets with an HTTP listener forwarding to it;
* Auto Scaling group ``web``: 6 instances over the profile's AZs.

Every resource is tagged ``app=web`` and ``env=staging``.
"""

from typing import Any

import boto3

from chaos_sre.lab.settings import AVAILABILITY_ZONES, REGION, Profile

TAGS = {"app": "web", "env": "staging"}
WEB_CAPACITY = 6
VPC_CIDR = "10.0.0.0/16"


def _tag_list(name: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in TAGS.items()]


def _spec(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": _tag_list(name)}]


def seed(endpoint_url: str, profile: Profile) -> dict[str, Any]:
    """Create the web tier for ``profile``; return the ids a status line needs."""
    session = boto3.session.Session(
        aws_access_key_id="lab", aws_secret_access_key="lab", region_name=REGION
    )
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
    autoscaling = session.client("autoscaling", endpoint_url=endpoint_url)

    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=_spec("vpc", "web"))["Vpc"]["VpcId"]
    subnets: dict[str, str] = {}
    for index, zone in enumerate(AVAILABILITY_ZONES, start=1):
        subnets[zone] = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"10.0.{index}.0/24",
            AvailabilityZone=zone,
            TagSpecifications=_spec("subnet", f"web-{zone}"),
        )["Subnet"]["SubnetId"]

    acl_id = ec2.create_network_acl(
        VpcId=vpc_id, TagSpecifications=_spec("network-acl", "web")
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
        TagSpecifications=_spec("security-group", "web-alb"),
    )["GroupId"]
    web_sg = ec2.create_security_group(
        GroupName="web", Description="web instances", VpcId=vpc_id,
        TagSpecifications=_spec("security-group", "web"),
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=web_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "UserIdGroupPairs": [{"GroupId": alb_sg}]}],
    )

    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={
            "ImageId": image_id,
            "InstanceType": "t3.small",
            "SecurityGroupIds": [web_sg],
            "TagSpecifications": _spec("instance", "web"),
        },
        TagSpecifications=_spec("launch-template", "web"),
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
    elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )

    web = profile.web
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
    return {"vpc_id": vpc_id, "subnets": subnets, "target_group_arn": target_group_arn}
