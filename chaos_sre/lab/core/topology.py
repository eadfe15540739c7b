"""Seeds the lab's AWS account through the ordinary AWS API, one service's ``seed`` module at a time.

Each lab service package may have a ``seed`` module with ``SEED_ORDER`` (an int: the services
others build on first) and ``seed(session, endpoint_url, profile, built)``, where ``built`` holds
what the seeds before it made, by name (the web tier's ``network``: its VPC, subnets and
listener, which the other services' seeds build on); :func:`seed` finds and runs them all, so a
new service needs no edit here. ``chaos_sre/lab/web/layout.py`` describes the account they make.
"""

from typing import Any

from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.services import service_modules
from chaos_sre.lab.core.settings import Profile


def seed(endpoint_url: str, profile: Profile) -> dict[str, Any]:
    """Create the account for ``profile``, service by service; return what the seeds built."""
    session = internal_session()
    built: dict[str, Any] = {}
    for _service, module in service_modules("seed", order="SEED_ORDER"):
        module.seed(session, endpoint_url, profile, built)
    return built
