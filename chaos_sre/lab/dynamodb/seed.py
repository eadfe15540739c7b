"""Seeds the DynamoDB tables the application uses."""

from typing import Any

from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.topology import DATA_TAGS, Network

SEED_ORDER = 20


def seed(session: Any, endpoint_url: str, profile: Profile, network: Network) -> None:
    """Create table ``sessions`` (provisioned per the profile, GSI ``by-user``) and ``carts``."""
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
    dynamodb.create_table(
        TableName="carts", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "cart_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "cart_id", "KeyType": "HASH"}], Tags=tags,
    )
