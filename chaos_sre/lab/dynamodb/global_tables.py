"""Global tables version 2017.11.29 (legacy) in the lab: CreateGlobalTable, DescribeGlobalTable
and ListGlobalTables, which moto does not answer.

A legacy global table is a set of same-named tables, one per Region, that DynamoDB replicates
between; DescribeTable of a replica does not list the others (only version 2019.11.21 tables
carry ``Replicas`` and ``GlobalTableVersion``), so a tool that looks at DescribeTable alone takes
a legacy global table for a table of one Region ("Global tables version 2017.11.29 (Legacy)",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables.V1.html). As on
AWS, CreateGlobalTable needs each Region's table to exist with streams of new and old images
("Requirements for adding a new replica table", same guide).
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, MockValidationException

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import replaces
from chaos_sre.lab.core.settings import ACCOUNT_ID


class GlobalTableNotFound(JsonRESTError):
    def __init__(self, name: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "GlobalTableNotFoundException",
                         f"Global table not found: Global table with name: '{name}' does not exist.")


class GlobalTableExists(JsonRESTError):
    def __init__(self, name: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "GlobalTableAlreadyExistsException",
                         f"Global table with this name already exists: {name}")


class ReplicaTableNotFound(JsonRESTError):
    def __init__(self, name: str, region: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "TableNotFoundException",
                         f"Table: {name} not found in {region}")


@dataclass
class LegacyGlobalTable:
    name: str
    regions: list[str]
    created: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    def description(self) -> dict[str, Any]:
        return {"GlobalTableName": self.name, "GlobalTableStatus": "ACTIVE",
                "GlobalTableArn": f"arn:aws:dynamodb::{ACCOUNT_ID}:global-table/{self.name}",
                "CreationDateTime": self.created.timestamp(),
                "ReplicationGroup": [{"RegionName": region} for region in self.regions]}


LEGACY: dict[str, LegacyGlobalTable] = {}
"""The account's legacy global tables by name (they are not Regional)."""


def _check_replica(name: str, region: str) -> None:
    table = moto_backend("dynamodb", region=region).tables.get(name)
    if table is None:
        raise ReplicaTableNotFound(name, region)
    stream = table.stream_specification or {}
    if not stream.get("StreamEnabled") or stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        raise MockValidationException(f"Table {name} in {region} must have DynamoDB Streams enabled "
                                      "with the stream view type NEW_AND_OLD_IMAGES")


@replaces(dynamodb_responses.DynamoHandler, "create_global_table")
def _create_global_table(self: Any) -> dynamodb_responses.ActionResult:
    name = self.body["GlobalTableName"]
    regions = [r["RegionName"] for r in self.body.get("ReplicationGroup") or []]
    if name in LEGACY:
        raise GlobalTableExists(name)
    for region in regions:
        _check_replica(name, region)
    LEGACY[name] = LegacyGlobalTable(name, regions)
    return dynamodb_responses.ActionResult({"GlobalTableDescription": LEGACY[name].description()})


@replaces(dynamodb_responses.DynamoHandler, "describe_global_table")
def _describe_global_table(self: Any) -> dynamodb_responses.ActionResult:
    name = self.body["GlobalTableName"]
    if name not in LEGACY:
        raise GlobalTableNotFound(name)
    return dynamodb_responses.ActionResult({"GlobalTableDescription": LEGACY[name].description()})


@replaces(dynamodb_responses.DynamoHandler, "list_global_tables")
def _list_global_tables(self: Any) -> dynamodb_responses.ActionResult:
    region = self.body.get("RegionName")
    found = [table for name, table in sorted(LEGACY.items()) if region is None or region in table.regions]
    return dynamodb_responses.ActionResult({"GlobalTables": [
        {"GlobalTableName": t.name, "ReplicationGroup": [{"RegionName": r} for r in t.regions]}
        for t in found]})
