"""Elastic Load Balancing's lines in ``chaos-sre lab status``."""

from collections.abc import Mapping
from typing import Any


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Target health per target group and each load balancer's nodes in DNS."""
    lines = []
    for name, states in sorted(status.get("target_health", {}).items()):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no targets"
        lines.append(f"target group {name}: {counts}")
    for name, nodes in sorted(status.get("load_balancer_nodes", {}).items()):
        shown = ", ".join(n["availability_zone"] + ("" if n["answers"] else " (cut off)")
                          + (" (leaving DNS)" if n["leaving"] else "") for n in nodes)
        lines.append(f"load balancer {name} nodes in DNS: {shown or 'none'}")
    return lines
