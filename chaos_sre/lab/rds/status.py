"""The data tier's lines in ``chaos-sre lab status`` and its part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each database's status, writer and standby."""
    lines = []
    for name, db in sorted(status.get("databases", {}).items()):
        standby = db.get("standby_availability_zone")
        lines.append(f"database {name}: {db['status']}, writer {db['writer']} in "
                     f"{db['availability_zone']}" + (f", standby in {standby}" if standby else "")
                     + (" (through RDS Proxy)" if db.get("rds_proxy") else ""))
    return lines


def snapshot(clients: Clients) -> list[tuple[str, str]]:
    """Every RDS instance and its status."""
    return sorted((d["DBInstanceIdentifier"], d["DBInstanceStatus"])
                  for d in clients("rds").describe_db_instances()["DBInstances"])
