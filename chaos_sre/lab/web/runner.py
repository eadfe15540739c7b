"""Where the lab's chaos-sre runner sits: its container, as the ECS task metadata endpoint
(version 4) of a Fargate task answers for it, so chaos-sre finds its own network interface (its
subnet ``runner-us-east-1c``, :mod:`chaos_sre.safety.runner`) against the lab as in a staging
account. The lab exports the endpoint as ``ECS_CONTAINER_METADATA_URI_V4``, as ECS does."""

from typing import Any

from chaos_sre.lab.web.layout import RUNNER_ADDRESS, RUNNER_CIDR, RUNNER_METADATA_PATH, RUNNER_ZONE

RUNNER_CONTAINER = {
    "Name": "chaos-sre-runner",
    "Labels": {"com.amazonaws.ecs.container-name": "chaos-sre-runner"},
    "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [RUNNER_ADDRESS],
                  "IPv4SubnetCIDRBlock": RUNNER_CIDR}],
}
"""The runner's container metadata, shaped as ECS answers it (only the fields the lab needs)."""


def task() -> dict[str, Any]:
    """The runner's task metadata (``${ECS_CONTAINER_METADATA_URI_V4}/task``)."""
    return {"AvailabilityZone": RUNNER_ZONE, "Containers": [RUNNER_CONTAINER]}


ROUTES = {RUNNER_METADATA_PATH: lambda: RUNNER_CONTAINER, f"{RUNNER_METADATA_PATH}/task": task}
ENVIRONMENT = {"ECS_CONTAINER_METADATA_URI_V4": RUNNER_METADATA_PATH}
