"""The functions' lines in ``chaos-sre lab status`` and their part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each function's reserved concurrency and what its invocations met."""
    lines = []
    for name, function in sorted((status.get("lambda_functions") or {}).items()):
        reserved = function.get("reserved_concurrency")
        counts = ", ".join(f"{function.get(k, 0)} {k.replace('_', ' ')}"
                           for k in ("invocations", "throttles", "cold_starts"))
        lines.append(f"lambda function {name}: reserved concurrency "
                     f"{'none' if reserved is None else reserved}; {counts}")
    return lines


def snapshot(clients: Clients) -> Any:
    """Every function's reserved concurrency (None: none) and provisioned concurrency
    configurations (qualified ARN, requested count)."""
    aws = clients("lambda")
    names = sorted(f["FunctionName"] for page in aws.get_paginator("list_functions").paginate()
                   for f in page["Functions"])
    return [(name, aws.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions"),
             [(c["FunctionArn"], c["RequestedProvisionedConcurrentExecutions"])
              for page in aws.get_paginator("list_provisioned_concurrency_configs").paginate(
                  FunctionName=name) for c in page["ProvisionedConcurrencyConfigs"]])
            for name in names]
