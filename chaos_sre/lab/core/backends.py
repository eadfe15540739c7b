"""moto's models of one AWS service in one account and region: the only place the lab reads them.

The lab seeds one account (:data:`~chaos_sre.lab.core.settings.ACCOUNT_ID`) in one region
(:data:`~chaos_sre.lab.core.settings.REGION`); simulations read those by default and name
another account or region where they model one.
"""

from typing import Any

from moto.backends import get_backend

from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION

_found: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any], Any]] = {}
"""(service, account, region) -> (moto's backends of the service by account, those of the
account by region, the backend), as last looked up."""


def moto_backend(service: str, *, account: str = ACCOUNT_ID, region: str = REGION) -> Any:
    """moto's backend of ``service`` (its name in moto: ``ec2``, ``elbv2``, ``rds`` ...).

    The simulations read backends 300 times a second and a lookup through moto imports and
    copies: one found before is reused while moto still holds it (its ``/moto-api/reset``
    drops the accounts, and the next read looks them up again)."""
    key = (service, account, region)
    found = _found.get(key)
    if found is not None:
        known_accounts, known_regions, known = found
        if dict.get(known_accounts, account) is known_regions and \
                dict.get(known_regions, region) is known:
            return known
    by_name: Any = get_backend  # typed per literal service name; the lab passes names through
    by_account: dict[str, Any] = by_name(service)
    by_region: dict[str, Any] = by_account[account]
    backend = by_region[region]
    _found[key] = (by_account, by_region, backend)
    return backend
