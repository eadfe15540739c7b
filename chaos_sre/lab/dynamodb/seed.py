"""Seeds the DynamoDB tables the application uses."""

from typing import Any

from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.dynamodb.settings import AUTOSCALING_TARGET_UTILIZATION
from chaos_sre.lab.web.layout import DATA_TAGS

SEED_ORDER = 20


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create table ``sessions`` (provisioned per the profile, GSI ``by-user``, auto scaling in
    the resilient profile) and ``carts``."""
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in DATA_TAGS.items()]
    units = profile.part("dynamodb").sessions_capacity_units
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
    if profile.part("dynamodb").autoscaling_max_units is not None:
        _seed_autoscaling(session.client("application-autoscaling", endpoint_url=endpoint_url),
                          units, profile.part("dynamodb").autoscaling_max_units)
    dynamodb.create_table(
        TableName="carts", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "cart_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "cart_id", "KeyType": "HASH"}], Tags=tags,
    )


def _seed_autoscaling(scaling: Any, minimum: int, maximum: int) -> None:
    """DynamoDB auto scaling of ``sessions`` and its GSI: a scalable target and a target tracking
    policy per capacity dimension, as the console's "auto scaling" setting creates them."""
    for resource, kind in (("table/sessions", "table"), ("table/sessions/index/by-user", "index")):
        for direction in ("Read", "Write"):
            dimension = f"dynamodb:{kind}:{direction}CapacityUnits"
            scaling.register_scalable_target(
                ServiceNamespace="dynamodb", ResourceId=resource, ScalableDimension=dimension,
                MinCapacity=minimum, MaxCapacity=maximum,
                SuspendedState={"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                "ScheduledScalingSuspended": False})
            scaling.put_scaling_policy(
                PolicyName=f"{resource.replace('/', '-')}-{direction.lower()}",
                ServiceNamespace="dynamodb", ResourceId=resource, ScalableDimension=dimension,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": AUTOSCALING_TARGET_UTILIZATION,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": f"DynamoDB{direction}CapacityUtilization"}})
