"""Seeds ECS: cluster ``staging``, Fargate service ``api`` behind target group ``api`` (the ALB
forwards ``/api/*``), and in the resilient profile its Application Auto Scaling target and policy."""

from typing import Any

from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.web.layout import (
    API_CONTAINER_PORT,
    API_ROUTE,
    API_TAGS,
    ECS_CLUSTER,
    ECS_SERVICE,
    Network,
    security_group,
)

SEED_ORDER = 30


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create cluster ``staging``, service ``api`` behind target group ``api``, its scaling."""
    network: Network = built["network"]
    vpc_id, subnets = network.vpc_id, list(network.subnets.values())
    alb_security_group, listener_arn = network.alb_security_group, network.listener_arn
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
    ecs = session.client("ecs", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in API_TAGS.items()]
    ecs_tags = [{"key": k, "value": v} for k, v in API_TAGS.items()]
    api_sg = security_group(ec2, "api", "api tasks", vpc_id, API_TAGS, port=API_CONTAINER_PORT,
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
        desiredCount=profile.part("ecs").api_task_count, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": [api_sg], "assignPublicIp": "DISABLED"}},
        loadBalancers=[{"targetGroupArn": target_group_arn, "containerName": ECS_SERVICE,
                        "containerPort": API_CONTAINER_PORT}],
        healthCheckGracePeriodSeconds=60, tags=ecs_tags, propagateTags="SERVICE",
    )
    if profile.part("ecs").scalable_target is None:
        return
    scaling = session.client("application-autoscaling", endpoint_url=endpoint_url)
    minimum, maximum = profile.part("ecs").scalable_target
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
