"""ARC zonal shift's lines in ``chaos-sre lab status`` and its part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each active zonal shift: the load balancer, the AZ it is shifted away from, its expiry."""
    return [f"zonal shift: {s['resource'].split('/')[-2]} away from {s['availability_zone']} "
            f"(expires in {s['expires_in_seconds']:g} lab seconds)"
            for s in status.get("zonal_shifts", [])]


def snapshot(clients: Clients) -> list[tuple[str, str]]:
    """Every active zonal shift (resource, AZ ID): a run leaves none behind."""
    pages = clients("arc-zonal-shift").get_paginator("list_zonal_shifts").paginate(status="ACTIVE")
    return sorted((s["resourceIdentifier"], s["awayFrom"]) for page in pages for s in page["items"])
