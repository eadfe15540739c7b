"""The functions' lines in ``chaos-sre lab status`` and their part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each function's reserved concurrency."""
    return [f"lambda function {name}: reserved concurrency "
            f"{'none' if f['reserved_concurrency'] is None else f['reserved_concurrency']}"
            for name, f in sorted(status.get("lambda_functions", {}).items())]


def snapshot(clients: Clients) -> Any:
    """Function ``worker``'s reserved concurrency."""
    return clients("lambda").get_function_concurrency(FunctionName="worker").get(
        "ReservedConcurrentExecutions")
