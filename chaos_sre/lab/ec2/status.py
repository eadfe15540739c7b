"""EC2's lines in ``chaos-sre lab status``."""

from collections.abc import Mapping
from typing import Any


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Instances per AZ and state, and the subnets the load balancer cannot reach."""
    lines = [f"{zone}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
             for zone, states in sorted(status.get("instances_by_az", {}).items())]
    if status.get("unreachable_subnets"):
        lines.append(f"unreachable subnets: {', '.join(status['unreachable_subnets'])}")
    return lines
