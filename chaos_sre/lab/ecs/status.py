"""The ECS services' lines in ``chaos-sre lab status`` and their part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each ECS service's tasks and auto scaling."""
    lines = []
    for name, service in sorted(status.get("ecs_services", {}).items()):
        target = service.get("scalable_target")
        scaling = "no auto scaling" if target is None else (
            f"auto scaling {target['min']}-{target['max']}"
            + (" (suspended)" if any(target.get("suspended", {}).values()) else ""))
        lines.append(f"ecs service {name}: {service['running']}/{service['desired']} tasks running, "
                     f"{service['pending']} pending, {scaling}")
    return lines


def snapshot(clients: Clients) -> tuple[Any, ...]:
    """Service ``api``'s desired count and its scalable target."""
    service = clients("ecs").describe_services(cluster="staging", services=["api"])["services"][0]
    scaling = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs")["ScalableTargets"]
    return (service["desiredCount"],
            [(t["MinCapacity"], t["MaxCapacity"], t["SuspendedState"]) for t in scaling])
