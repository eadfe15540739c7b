"""The tables' lines in ``chaos-sre lab status`` and their part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients

TABLES = ("sessions", "carts")


def _maximum(units: int) -> str:
    return "no maximum" if units == -1 else f"at most {units}"


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each table's status and capacity."""
    lines = []
    for name, table in sorted(status.get("dynamodb_tables", {}).items()):
        if table["billing_mode"] == "PAY_PER_REQUEST":
            shape = f"on-demand, reads {_maximum(table['read'])}, writes {_maximum(table['write'])}"
        else:
            shape = f"provisioned {table['read']} RCU / {table['write']} WCU"
        lines.append(f"table {name}: {table['status']}, {shape}")
    return lines


def _capacity(table_or_index: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Provisioned read and write capacity and on-demand maximums, as DescribeTable shows them."""
    throughput = table_or_index.get("ProvisionedThroughput", {})
    return (throughput.get("ReadCapacityUnits"), throughput.get("WriteCapacityUnits"),
            table_or_index.get("OnDemandThroughput"))


def snapshot(clients: Clients) -> dict[str, Any]:
    """Each table's status, billing mode and capacity (its GSIs' too), and their auto scaling."""
    dynamodb = clients("dynamodb")
    tables = {name: dynamodb.describe_table(TableName=name)["Table"] for name in TABLES}
    scaling = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="dynamodb")["ScalableTargets"]
    return {
        "tables": {n: (t["TableStatus"], t.get("BillingModeSummary", {}).get("BillingMode"),
                       *_capacity(t),
                       sorted((i["IndexName"], *_capacity(i)) for i in t.get("GlobalSecondaryIndexes", [])))
                   for n, t in tables.items()},
        "table_scaling": sorted((t["ResourceId"], t["ScalableDimension"], t["MinCapacity"],
                                 t["MaxCapacity"], str(t.get("SuspendedState"))) for t in scaling),
    }
