"""boto3 client factory and pagination helper.

Every AWS call chaos-sre makes goes through :func:`aws_client`: one botocore
configuration (standard retry mode, bounded connect and read timeouts), the
endpoint taken from ``AWS_ENDPOINT_URL`` when set (that is how the lab is
reached), and the region from the experiment configuration or the environment.
"""

import os
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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


def paginate(client: Any, operation: str, result_key: str, **kwargs: Any) -> Iterator[Any]:
    """Yield every item under ``result_key`` across all pages of ``operation``.

    AWS errors are translated to :class:`chaos_sre.errors.AWSError` with the
    AWS error code kept.
    """
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(result_key, [])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AWSError(
            f"{operation} failed: {error.get('Code', 'Unknown')}: {error.get('Message', '')}",
            code=error.get("Code"),
            operation=operation,
        ) from exc
    except BotoCoreError as exc:
        raise AWSError(f"{operation} failed: {exc}", operation=operation) from exc
