"""chaos-sre: Chaos Toolkit experiments on AWS, judged by the service's SLO.

`chaos discover --no-install chaos-sre` lists the actions and probes below.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "discover"]

PROBE_MODULES = ("chaos_sre.probes.aws", "chaos_sre.probes.cloudwatch", "chaos_sre.probes.http",
                 "chaos_sre.probes.rds", "chaos_sre.probes.dynamodb", "chaos_sre.probes.ecs")
ROLLBACK_MODULE = "chaos_sre.safety.rollback"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Describe chaos-sre's actions and probes for `chaos discover`: the registered fault
    families' modules (other packages' too, chaos_sre/faults/registry.py), the rollback, probes."""
    from chaoslib.discovery.discover import (
        discover_actions,
        discover_probes,
        initialize_discovery_result,
    )

    from chaos_sre.faults.registry import fault_modules

    discovery = initialize_discovery_result("chaos-sre", __version__, "aws")
    for module in (*fault_modules(), ROLLBACK_MODULE):
        discovery["activities"].extend(discover_actions(module))
    for module in PROBE_MODULES:
        discovery["activities"].extend(discover_probes(module))
    return discovery
