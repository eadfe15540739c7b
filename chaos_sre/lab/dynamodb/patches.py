"""moto patches of DynamoDB: asynchronous table updates with AWS's limits.

UpdateTable is refused while the table is updating or past the day's
capacity-decrease limit, and starts an update the lab completes later;
Create/UpdateTable keep ``OnDemandThroughput`` (moto: dropped) and
DescribeTable shows the lab's status, maximums and decrease counts. Legacy global tables
(CreateGlobalTable, DescribeGlobalTable, ListGlobalTables) are answered by
:mod:`~chaos_sre.lab.dynamodb.global_tables`.

Create/UpdateTable are patched on moto's response handler, not its model:
``DynamoDBBackend.create_table``/``update_table`` are never given
``OnDemandThroughput``, which only the request carries.
"""

from typing import Any, Protocol, cast

from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models import table as dynamodb_tables

from chaos_sre.lab.core.patches import hooks, original, replaces
from chaos_sre.lab.dynamodb import global_tables  # noqa: F401 - declares the legacy global table API


class TableHooks(Protocol):
    """What the DynamoDB patches ask of the service's simulation."""

    def check_update(self, table: Any, body: dict[str, Any]) -> frozenset[str | None]:
        """Raise the AWS error that refuses this UpdateTable; return the parts it lowers."""

    def table_updated(self, table: Any, body: dict[str, Any], lowered: frozenset[str | None]) -> None:
        """UpdateTable was applied by moto."""

    def table_created(self, name: str, body: dict[str, Any]) -> None:
        """CreateTable was applied by moto."""

    def describe(self, name: str, description: dict[str, Any]) -> None:
        """Overlay the lab's state on a table description (in place)."""



def _lab() -> TableHooks:
    return cast(TableHooks, hooks().service("dynamodb"))

@replaces(dynamodb_responses.DynamoHandler, "create_table")
def _dynamodb_create_table(self: Any) -> Any:
    """CreateTable, remembering the OnDemandThroughput moto drops."""
    result = original(dynamodb_responses.DynamoHandler, "create_table")(self)
    _lab().table_created(self.body["TableName"], self.body)
    return result


@replaces(dynamodb_responses.DynamoHandler, "update_table")
def _dynamodb_update_table(self: Any) -> Any:
    """UpdateTable with AWS's checks (still updating, decrease limits) and the lab's bookkeeping."""
    lab = _lab()
    table = self.dynamodb_backend.get_table(self.body["TableName"])
    lowered = lab.check_update(table, self.body)
    original(dynamodb_responses.DynamoHandler, "update_table")(self)
    lab.table_updated(table, self.body, lowered)
    return dynamodb_responses.DynamoResult(table.describe())


@replaces(dynamodb_tables.Table, "describe")
def _dynamodb_describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
    described = original(dynamodb_tables.Table, "describe")(self, base_key=base_key)
    _lab().describe(self.name, described[base_key])
    return dict(described)
