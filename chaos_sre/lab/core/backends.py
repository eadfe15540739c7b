"""moto's models of one AWS service in one account and region: the only place the lab reads them.

The lab seeds one account (:data:`~chaos_sre.lab.core.settings.ACCOUNT_ID`) in one region
(:data:`~chaos_sre.lab.core.settings.REGION`); simulations read those by default and name
another account or region where they model one.
"""

from typing import Any

from moto.backends import get_backend

from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION


def moto_backend(service: str, *, account: str = ACCOUNT_ID, region: str = REGION) -> Any:
    """moto's backend of ``service`` (its name in moto: ``ec2``, ``elbv2``, ``rds`` ...)."""
    by_name: Any = get_backend  # typed per literal service name; the lab passes names through
    return by_name(service)[account][region]
