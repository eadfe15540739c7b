"""EC2's lines in ``chaos-sre lab status``."""

from collections.abc import Mapping
from typing import Any


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Instances per AZ and state, the subnets the load balancer cannot reach, the subnets that
    lost their egress, and the runner's calls that never reached AWS."""
    lines = [f"{zone}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
             for zone, states in sorted(status.get("instances_by_az", {}).items())]
    if status.get("unreachable_subnets"):
        lines.append(f"unreachable subnets: {', '.join(status['unreachable_subnets'])}")
    for subnet, why in sorted((status.get("egress_cut_subnets") or {}).items()):
        lines.append(f"no egress from {subnet}: {why}")
    caller = status.get("caller") or {}
    if caller.get("route_cut"):
        lines.append(f"the runner's calls to AWS get no answer: {caller['route_cut']}")
    if caller.get("unanswered_calls"):
        shown = ", ".join(f"{n} {s}" for s, n in sorted(caller["unanswered_calls"].items()))
        lines.append(f"runner calls AWS never answered: {shown}")
    return lines
