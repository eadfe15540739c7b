"""Probes against the service's HTTP endpoint (bounded in count and time)."""

from typing import Any

import requests

from chaos_sre.errors import ValidationError
from chaos_sre.permissions import requires

__all__ = ["success_ratio"]

MAX_REQUESTS = 10_000


@requires()
def success_ratio(
    url: str,
    requests_count: int = 20,
    timeout: float = 2.0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> float:
    """Share of `requests_count` sequential GETs to `url` that are good.

    Good means: an answer within `timeout` seconds whose status is not 5xx.
    Returns a number between 0 and 1; e.g. tolerance
    `{"type": "range", "range": [1.0, 1.0]}` requires every request to succeed.
    """
    if not 1 <= requests_count <= MAX_REQUESTS:
        raise ValidationError(f"requests_count must be between 1 and {MAX_REQUESTS}")
    good = 0
    with requests.Session() as session:
        for _ in range(requests_count):
            try:
                response = session.get(url, timeout=timeout)
            except requests.RequestException:
                continue
            if response.status_code < 500:
                good += 1
    return good / requests_count
