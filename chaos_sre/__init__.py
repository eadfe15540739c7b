"""chaos-sre: Chaos Toolkit experiments on AWS, judged by the service's SLO.

`chaos discover --no-install chaos-sre` lists the actions and probes below.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "discover"]

ACTIVITY_MODULES = {
    "probe": ("chaos_sre.probes.aws", "chaos_sre.probes.cloudwatch", "chaos_sre.probes.http",
              "chaos_sre.probes.rds", "chaos_sre.probes.dynamodb", "chaos_sre.probes.ecs"),
    "action": ("chaos_sre.faults.az", "chaos_sre.faults.rds", "chaos_sre.faults.dynamodb",
               "chaos_sre.faults.ecs"),
}


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Describe chaos-sre's actions and probes for `chaos discover`."""
    from chaoslib.discovery.discover import (
        discover_actions,
        discover_probes,
        initialize_discovery_result,
    )

    discovery = initialize_discovery_result("chaos-sre", __version__, "aws")
    for module in ACTIVITY_MODULES["action"]:
        discovery["activities"].extend(discover_actions(module))
    for module in ACTIVITY_MODULES["probe"]:
        discovery["activities"].extend(discover_probes(module))
    return discovery
