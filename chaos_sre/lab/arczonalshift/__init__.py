"""ARC zonal shift in the lab: an API moto does not have, answered by the lab itself
(:mod:`chaos_sre.lab.core.own_apis`), and the shifts' effect on the load balancers' nodes and
routing (:mod:`chaos_sre.lab.elbv2.simulation`)."""

from pathlib import Path

from chaos_sre.lab.arczonalshift.status import snapshot, status_lines
from chaos_sre.lab.core.plugin import LabService, RefusedMutation

SERVICE = LabService(
    name="arczonalshift", package=__name__, order=4, botocore_services=("arc-zonal-shift",),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path("experiments/az-blackhole.json"),
                                     "arc-zonal-shift:StartZonalShift", "AccessDeniedException",
                                     prepared=("suspend_processes",)),
)
