"""RDS and Aurora in the lab: failovers, reboots, DNS and RDS Proxy."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.rds.status import snapshot, status_lines

SERVICE = LabService(
    name="rds", package=__name__, order=10, botocore_services=("rds",),
    options={"rds-proxy": "rds_proxy"},
    profile_descriptions={"resilient": "Aurora reader and RDS standby in other AZs",
                          "fragile": "single-instance Aurora, single-AZ RDS, long DNS caching"},
    fault_kinds=("db-failover-started", "db-reboot-started"),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path("experiments/rds-failover.json"),
                                     "rds:FailoverDBCluster", "AccessDenied"),
)
