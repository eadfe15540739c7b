"""DynamoDB in the lab: capacity, throttling, auto scaling and the tables' metrics."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.dynamodb.status import snapshot, status_lines

SERVICE = LabService(
    name="dynamodb", package=__name__, order=20, botocore_services=("dynamodb",),
    profile_descriptions={"resilient": "DynamoDB at 2x load, SDK retries",
                          "fragile": "DynamoDB at 1.1x load, no retries"},
    fault_kinds=("dynamodb-capacity-decreased",),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path("experiments/dynamodb-throttle.json"),
                                     "dynamodb:UpdateTable", "AccessDeniedException",
                                     ("hold_scaling",)),
)
