"""Seeds the lab's AWS account through the ordinary AWS API.

The topology is created with boto3 against the lab's moto server, exactly as
infrastructure code would create it in a staging account:

* a VPC (10.0.0.0/16) with one subnet per AZ (us-east-1a/b/c) and a network
  ACL ``web`` that allows all traffic, associated with the three subnets;
* security groups ``web-alb`` (HTTP from anywhere) and ``web`` (HTTP from the ALB);
* launch template ``web``; target group ``web`` (HTTP:80, health check every
  10 s, 3 passes healthy, 2 failures unhealthy, 30 s deregistration delay);
  ALB ``web`` in the three subnets with an HTTP listener forwarding to it;
* Auto Scaling group ``web``: 6 instances over the profile's AZs;
* ECS (:func:`seed_ecs`): cluster ``staging`` with Fargate service ``api``
  (the profile's task count, spread over the three subnets) behind target
  group ``api`` (IP targets on port 8080, health check every 5 s, 2 passes
  healthy, 3 failures unhealthy, 30 s deregistration delay), to which the
  ALB's listener forwards ``/api/*``; in the resilient profile an Application
  Auto Scaling scalable target (min/max of the profile) with a target
  tracking policy on CPU;
* the data tier (:func:`seed_database`): subnets ``data-us-east-1a/b/c``
  (10.0.11-13.0/24), security group ``data`` (PostgreSQL from ``web``), DB
  subnet group ``data``; Aurora PostgreSQL cluster ``orders`` (writer
  ``orders-1`` in us-east-1a, reader ``orders-2`` in the profile's reader AZ,
  none in ``fragile``), RDS PostgreSQL instance ``accounts`` (Multi-AZ unless
  ``fragile``) and, with the profile's ``rds_proxy``, RDS Proxy
  ``orders-proxy`` in front of ``orders``. Master passwords are managed by
  Secrets Manager, so no password exists in the lab's configuration.

The application needs the ``orders`` writer for ``/checkout`` and the
``accounts`` writer for ``/account`` (:data:`DATABASE_ROUTES`); it reads and
writes DynamoDB table ``sessions`` (provisioned, GSI ``by-user``) for
``/session`` and on-demand table ``carts`` for ``/cart`` (:data:`DYNAMODB_ROUTES`).

Web pages also call service ``api`` (:data:`API_ROUTE`); when it cannot answer
they serve a fallback or fail, per the profile.

Every resource is tagged ``env=staging``; the web tier ``app=web``, ``api`` ``app=api``, the data
tier ``app=data`` (so AZ faults scoped to ``app=web`` leave the data subnets alone).
"""

from typing import Any

from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.settings import ACCOUNT_ID, AVAILABILITY_ZONES, REGION, Profile

TAGS = {"app": "web", "env": "staging"}
DATA_TAGS = {"app": "data", "env": "staging"}
DATABASE_ROUTES = {"/checkout": "orders", "/account": "accounts"}
"""Path prefix -> the database (cluster or instance) whose writer the application needs."""
DYNAMODB_ROUTES = {"/session": "sessions", "/cart": "carts"}
"""Path prefix -> the DynamoDB table the application reads and writes once per request."""
API_ROUTE = "/api"
"""Path prefix the load balancer forwards to ECS service ``api`` (every other path: the web tier)."""
API_TAGS = {"app": "api", "env": "staging"}
ECS_CLUSTER = "staging"
ECS_SERVICE = "api"
API_CONTAINER_PORT = 8080
AURORA_CLUSTER = "orders"
RDS_INSTANCE = "accounts"
RDS_PROXY = "orders-proxy"
WEB_CAPACITY = 6
VPC_CIDR = "10.0.0.0/16"


def _tag_list(name: str, tags: dict[str, str] = TAGS) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]


def _spec(resource_type: str, name: str, tags: dict[str, str] = TAGS) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": _tag_list(name, tags)}]


def _security_group(ec2: Any, name: str, description: str, vpc_id: str, tags: dict[str, str], *,
                    port: int, source_group: str) -> str:
    """Create security group ``name`` allowing TCP ``port`` from ``source_group``; return its id."""
    group_id = ec2.create_security_group(
        GroupName=name, Description=description, VpcId=vpc_id,
        TagSpecifications=_spec("security-group", name, tags),
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                        "UserIdGroupPairs": [{"GroupId": source_group}]}],
    )
    return str(group_id)


def seed(endpoint_url: str, profile: Profile) -> dict[str, Any]:
    """Create the web tier for ``profile``; return the ids a status line needs."""
    session = internal_session()
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
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    web_sg = _security_group(ec2, "web", "web instances", vpc_id, TAGS, port=80, source_group=alb_sg)

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
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )["Listeners"][0]["ListenerArn"]

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
    seed_database(session, endpoint_url, profile, vpc_id=vpc_id, web_security_group=web_sg)
    seed_dynamodb(session, endpoint_url, profile)
    seed_ecs(session, endpoint_url, profile, vpc_id=vpc_id, subnets=list(subnets.values()),
             alb_security_group=alb_sg, listener_arn=listener_arn)
    return {"vpc_id": vpc_id, "subnets": subnets, "target_group_arn": target_group_arn}


def seed_database(session: Any, endpoint_url: str, profile: Profile, *, vpc_id: str,
                  web_security_group: str) -> None:
    """Create the data tier of ``profile`` in ``vpc_id``."""
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    rds = session.client("rds", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in DATA_TAGS.items()]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=zone,
            TagSpecifications=_spec("subnet", f"data-{zone}", DATA_TAGS),
        )["Subnet"]["SubnetId"]
        for index, zone in enumerate(AVAILABILITY_ZONES, start=11)
    ]
    data_sg = _security_group(ec2, "data", "databases", vpc_id, DATA_TAGS, port=5432,
                              source_group=web_security_group)
    rds.create_db_subnet_group(DBSubnetGroupName="data", DBSubnetGroupDescription="databases",
                               SubnetIds=subnets, Tags=tags)
    database = profile.database
    rds.create_db_cluster(
        DBClusterIdentifier=AURORA_CLUSTER, Engine="aurora-postgresql", MasterUsername="app",
        ManageMasterUserPassword=True, DBSubnetGroupName="data", VpcSecurityGroupIds=[data_sg],
        Tags=tags,
    )
    members = [("orders-1", AVAILABILITY_ZONES[0], 0)]
    if database.aurora_reader_zone:
        members.append(("orders-2", database.aurora_reader_zone, 1))
    for identifier, zone, tier in members:
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=AURORA_CLUSTER,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
            AvailabilityZone=zone, PromotionTier=tier, Tags=tags,
        )
    rds.create_db_instance(
        DBInstanceIdentifier=RDS_INSTANCE, Engine="postgres", DBInstanceClass="db.m6g.large",
        AllocatedStorage=20, MasterUsername="app", ManageMasterUserPassword=True,
        MultiAZ=database.instance_multi_az, DBSubnetGroupName="data",
        VpcSecurityGroupIds=[data_sg], Tags=tags,
    )
    if database.rds_proxy:
        rds.create_db_proxy(
            DBProxyName=RDS_PROXY, EngineFamily="POSTGRESQL",
            Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                   "SecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:orders-app"}],
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/orders-proxy",
            VpcSubnetIds=subnets, VpcSecurityGroupIds=[data_sg], Tags=tags,
        )
        rds.register_db_proxy_targets(DBProxyName=RDS_PROXY,
                                      DBClusterIdentifiers=[AURORA_CLUSTER])



def seed_dynamodb(session: Any, endpoint_url: str, profile: Profile) -> None:
    """Create table ``sessions`` (provisioned per the profile, GSI ``by-user``) and ``carts``."""
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in DATA_TAGS.items()]
    units = profile.dynamodb.sessions_capacity_units
    capacity = {"ReadCapacityUnits": units, "WriteCapacityUnits": units}
    dynamodb.create_table(
        TableName="sessions", BillingMode="PROVISIONED", ProvisionedThroughput=capacity,
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"},
                              {"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-user", "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}, "ProvisionedThroughput": capacity}],
        Tags=tags,
    )
    dynamodb.create_table(
        TableName="carts", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "cart_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "cart_id", "KeyType": "HASH"}], Tags=tags,
    )


def seed_ecs(session: Any, endpoint_url: str, profile: Profile, *, vpc_id: str, subnets: list[str],
             alb_security_group: str, listener_arn: str) -> None:
    """Create cluster ``staging``, service ``api`` behind target group ``api``, its scaling."""
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
    ecs = session.client("ecs", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in API_TAGS.items()]
    ecs_tags = [{"key": k, "value": v} for k, v in API_TAGS.items()]
    api_sg = _security_group(ec2, "api", "api tasks", vpc_id, API_TAGS, port=API_CONTAINER_PORT,
                             source_group=alb_security_group)
    target_group_arn = elbv2.create_target_group(
        Name=ECS_SERVICE, Protocol="HTTP", Port=API_CONTAINER_PORT, VpcId=vpc_id, TargetType="ip",
        HealthCheckProtocol="HTTP", HealthCheckPath=f"{API_ROUTE}/health",
        HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2, UnhealthyThresholdCount=3, Matcher={"HttpCode": "200"}, Tags=tags,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
    )
    elbv2.create_rule(
        ListenerArn=listener_arn, Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": [f"{API_ROUTE}/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )
    ecs.create_cluster(clusterName=ECS_CLUSTER, tags=ecs_tags)
    ecs.register_task_definition(
        family=ECS_SERVICE, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", tags=ecs_tags,
        containerDefinitions=[{
            "name": ECS_SERVICE, "image": "public.ecr.aws/chaos-sre/api:1", "essential": True,
            "portMappings": [{"containerPort": API_CONTAINER_PORT, "protocol": "tcp"}],
        }],
    )
    ecs.create_service(
        cluster=ECS_CLUSTER, serviceName=ECS_SERVICE, taskDefinition=ECS_SERVICE,
        desiredCount=profile.ecs.api_task_count, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": [api_sg], "assignPublicIp": "DISABLED"}},
        loadBalancers=[{"targetGroupArn": target_group_arn, "containerName": ECS_SERVICE,
                        "containerPort": API_CONTAINER_PORT}],
        healthCheckGracePeriodSeconds=60, tags=ecs_tags, propagateTags="SERVICE",
    )
    if profile.ecs.scalable_target is None:
        return
    scaling = session.client("application-autoscaling", endpoint_url=endpoint_url)
    minimum, maximum = profile.ecs.scalable_target
    resource_id = f"service/{ECS_CLUSTER}/{ECS_SERVICE}"
    scaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=minimum, MaxCapacity=maximum,
        SuspendedState={"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                        "ScheduledScalingSuspended": False},
    )
    scaling.put_scaling_policy(
        PolicyName="api-cpu", ServiceNamespace="ecs", ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleOutCooldown": 60, "ScaleInCooldown": 300,
        },
    )
