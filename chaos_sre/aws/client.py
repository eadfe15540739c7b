"""boto3 client factory, pagination, single calls and waiters.

Every AWS call chaos-sre makes goes through :func:`aws_client`: one botocore
configuration (standard retry mode, bounded connect and read timeouts), the
endpoint taken from ``AWS_ENDPOINT_URL`` when set (that is how the lab is
reached), and the region from the experiment configuration or the environment.
"""

import math
import os
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from chaos_sre.errors import AWSError

DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)


def aws_client(
    service: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Any:
    """Build a boto3 client for ``service``.

    The region comes from ``configuration["aws_region"]``, else
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION``. Credentials come from ``secrets``
    (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``)
    when given, else from boto3's usual chain. ``AWS_ENDPOINT_URL`` (or
    ``configuration["aws_endpoint_url"]``) redirects every call, e.g. to the lab.
    """
    configuration = configuration or {}
    secrets = secrets or {}
    region = (
        configuration.get("aws_region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        raise AWSError("no AWS region: set aws_region in the configuration or AWS_DEFAULT_REGION")
    endpoint = configuration.get("aws_endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
    session = boto3.session.Session(
        aws_access_key_id=secrets.get("aws_access_key_id"),
        aws_secret_access_key=secrets.get("aws_secret_access_key"),
        aws_session_token=secrets.get("aws_session_token"),
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint or None, config=DEFAULT_CONFIG)

TRANSIENT_ERROR_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    "InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable",
})
"""Error codes of a call worth making again later: throttling and server-side failures (botocore's
standard retry mode retries them too). Not LimitExceededException: for DynamoDB's UpdateTable it
is the daily decrease limit, which no retry within the day lifts."""


def _translated(operation: str, exc: ClientError | BotoCoreError) -> AWSError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return AWSError(
            f"{operation} failed: {error.get('Code', 'Unknown')}: {error.get('Message', '')}",
            code=error.get("Code"),
            operation=operation,
            status=exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        )
    return AWSError(f"{operation} failed: {exc}", operation=operation)


def paginate(client: Any, operation: str, result_key: str, **kwargs: Any) -> Iterator[Any]:
    """Yield every item under ``result_key`` across all pages of ``operation``.

    AWS errors are translated to :class:`chaos_sre.errors.AWSError` with the
    AWS error code kept.
    """
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(result_key, [])
    except (ClientError, BotoCoreError) as exc:
        raise _translated(operation, exc) from exc


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Make one (non-paginated) API call; AWS errors become :class:`AWSError` with the code kept."""
    try:
        return dict(getattr(client, operation)(**kwargs))
    except (ClientError, BotoCoreError) as exc:
        raise _translated(operation, exc) from exc


def wait(client: Any, waiter_name: str, *, timeout_seconds: float, poll_seconds: float,
         **kwargs: Any) -> None:
    """Run the boto3 waiter ``waiter_name`` polling every ``poll_seconds`` for ``timeout_seconds``.

    A waiter that gives up becomes an :class:`AWSError` naming it and the time waited.
    """
    attempts = max(1, math.ceil(timeout_seconds / poll_seconds))
    try:
        client.get_waiter(waiter_name).wait(
            WaiterConfig={"Delay": poll_seconds, "MaxAttempts": attempts}, **kwargs)
    except WaiterError as exc:
        error = (exc.last_response or {}).get("Error", {})
        raise AWSError(f"{waiter_name} did not succeed within {timeout_seconds:g} s: "
                       f"{error.get('Message') or exc.reason}",
                       code=error.get("Code"), operation=waiter_name) from exc
    except (ClientError, BotoCoreError) as exc:
        raise _translated(waiter_name, exc) from exc


def tag_dict(tags: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """An AWS tag list (``[{"Key": k, "Value": v}]``; ECS spells them ``key``/``value``) as a dict."""
    return {t[key]: t.get(value, "") for t in tags or []}
