"""boto3 client factory, pagination, single calls and waiters.

Every AWS call chaos-sre makes goes through :func:`aws_client`: one botocore
configuration (standard retry mode, bounded connect and read timeouts), the
endpoint taken from ``AWS_ENDPOINT_URL`` when set (that is how the lab is
reached), and one cached session per region, endpoint, profile and role,
read from Chaos Toolkit's AWS configuration keys. Each client counts the requests it
sends (:mod:`chaos_sre.aws.call_counts`).

A process reads each service's API model once (every session shares one botocore loader: the
EC2 model alone takes a fifth of a second to parse) and builds each client once per session
and retry mode (boto3's low-level clients are thread-safe; a probe polled every second reuses
its client and its open connections).
"""

import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound, WaiterError

from chaos_sre.aws.call_counts import count_requests
from chaos_sre.errors import AWSError
from chaos_sre.waiting import JITTER, retry

NOT_YET = "Max attempts exceeded"
"""How botocore's WaiterError reason starts when the state was not reached yet (no failure)."""
DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)


@dataclass(frozen=True)
class SessionKey:
    """What makes two clients act as the same principal on the same account and endpoint."""

    region: str
    endpoint: str | None
    profile: str | None
    role_arn: str | None
    role_session_name: str
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None


_sessions: dict[SessionKey, boto3.session.Session] = {}
_clients: dict[tuple[SessionKey, str, bool], Any] = {}
_sessions_lock = threading.Lock()
_loader: botocore.loaders.Loader | None = None
"""The one botocore loader of every session this module makes (the first session's, so it honours
``AWS_DATA_PATH``): it caches the API models it read."""


def configured_region(configuration: Mapping[str, Any]) -> str | None:
    """``aws_region`` from the configuration, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""
    region = (configuration.get("aws_region") or os.environ.get("AWS_REGION")
              or os.environ.get("AWS_DEFAULT_REGION"))
    return str(region) if region else None


def configured_endpoint(configuration: Mapping[str, Any]) -> str | None:
    """``aws_endpoint_url`` from the configuration, else ``AWS_ENDPOINT_URL`` (how the lab is reached)."""
    return configuration.get("aws_endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or None


def session_key(configuration: Mapping[str, Any] | None = None,
                secrets: Mapping[str, Any] | None = None) -> SessionKey:
    """The session an activity's ``configuration`` and ``secrets`` ask for.

    The keys are Chaos Toolkit's AWS keys, so chaos-sre's activities and
    chaostoolkit-aws's act on the same account: ``aws_region`` (else
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION``), ``aws_profile_name``,
    ``aws_assume_role_arn`` with ``aws_assume_role_session_name`` (default
    ``ChaosToolkit``), ``aws_endpoint_url`` (else ``AWS_ENDPOINT_URL``), and the
    secrets ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``.
    """
    configuration = configuration or {}
    secrets = secrets or {}
    region = configured_region(configuration)
    if not region:
        raise AWSError("no AWS region: set aws_region in the configuration or AWS_DEFAULT_REGION")
    return SessionKey(
        region=region,
        endpoint=configured_endpoint(configuration),
        profile=configuration.get("aws_profile_name") or None,
        role_arn=configuration.get("aws_assume_role_arn") or None,
        role_session_name=configuration.get("aws_assume_role_session_name") or "ChaosToolkit",
        access_key_id=secrets.get("aws_access_key_id"),
        secret_access_key=secrets.get("aws_secret_access_key"),
        session_token=secrets.get("aws_session_token"),
    )


def aws_session(key: SessionKey) -> boto3.session.Session:
    """The one boto3 session for ``key``, made on first use and kept for the process.

    With a role to assume, the session holds credentials that AssumeRole
    fetches once and refreshes before they expire (one STS call per session,
    not one per client).
    """
    with _sessions_lock:
        return _cached_session(key)


def _cached_session(key: SessionKey) -> boto3.session.Session:
    """The session for ``key`` (made now if new); the caller holds ``_sessions_lock``."""
    session = _sessions.get(key)
    if session is None:
        session = _sessions[key] = _new_session(key)
    return session


def _botocore_session() -> botocore.session.Session:
    """A new botocore session that reads API models through the shared :data:`_loader`."""
    global _loader
    session = botocore.session.get_session()
    if _loader is None:
        _loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _loader)
    return session


def _boto3_session(botocore_session: botocore.session.Session, **settings: Any) -> boto3.session.Session:
    """A boto3 session over ``botocore_session``; boto3 adds its resource models' folder to the
    loader's search path once per session, which the shared loader needs only once."""
    session = boto3.session.Session(botocore_session=botocore_session, **settings)
    paths = botocore_session.get_component("data_loader").search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


def _new_session(key: SessionKey) -> boto3.session.Session:
    try:
        source = _boto3_session(
            _botocore_session(),
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            aws_session_token=key.session_token,
            region_name=key.region,
            profile_name=key.profile,
        )
        if source.profile_name != "default" and source.profile_name not in source.available_profiles:
            raise ProfileNotFound(profile=source.profile_name)
    except ProfileNotFound as exc:
        setting = "aws_profile_name" if key.profile else "AWS_PROFILE"
        raise AWSError(f"AWS profile {exc.kwargs['profile']!r} ({setting}) is not configured") from exc
    if key.role_arn is None:
        return source
    credentials = source.get_credentials()
    if credentials is None:
        raise AWSError(f"no AWS credentials to assume {key.role_arn} (aws_assume_role_arn) with")
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=lambda service, **kwargs: source.client(
            service, endpoint_url=key.endpoint, config=DEFAULT_CONFIG, **kwargs),
        source_credentials=credentials,
        role_arn=key.role_arn,
        extra_args={"RoleSessionName": key.role_session_name},
    )
    assumed = _botocore_session()
    assumed.set_config_variable("region", key.region)
    assumed._credentials = DeferredRefreshableCredentials(  # botocore's own assume-role provider does this
        refresh_using=fetcher.fetch_credentials, method="assume-role")
    return _boto3_session(assumed, region_name=key.region)


SINGLE_ATTEMPT = DEFAULT_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


def aws_client(
    service: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    *,
    retries: bool = True,
) -> Any:
    """The boto3 client for ``service`` of the session :func:`session_key` names (built on first
    use, then the same client: it is thread-safe).

    ``AWS_ENDPOINT_URL`` (or ``configuration["aws_endpoint_url"]``) redirects
    every call, e.g. to the lab. ``retries=False``: each call is made once, for
    :func:`call_retrying_transient` to retry only what a retry can lift.
    """
    key = session_key(configuration, secrets)
    with _sessions_lock:  # a boto3 session is not thread-safe; its clients are
        client = _clients.get((key, service, retries))
        if client is None:
            client = _cached_session(key).client(service, endpoint_url=key.endpoint,
                                                 config=DEFAULT_CONFIG if retries else SINGLE_ATTEMPT)
            count_requests(client)
            _clients[(key, service, retries)] = client
    return client


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


TRANSIENT_ATTEMPTS = 6
"""Attempts of :func:`call_retrying_transient`, as many as the factory's clients make."""


def transient(error: AWSError) -> bool:
    """Whether an error may pass if the call is made again: throttling, a 5xx, no answer."""
    return error.code in TRANSIENT_ERROR_CODES or (error.code is None and error.status is None)


def call_retrying_transient(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """:func:`call` on a client built with ``retries=False``, made again only after a transient
    error (:func:`transient`): up to 6 attempts, with chaos-sre's one backoff
    (:func:`chaos_sre.waiting.retry`). So a refusal botocore would retry although no retry lifts
    it - DynamoDB's LimitExceededException on a capacity decrease, one of botocore's throttling
    codes - reaches the caller at once, and throttling does not."""
    return retry(lambda: call(client, operation, **kwargs), retryable=transient,
                 attempts=TRANSIENT_ATTEMPTS)


NEW_RESOURCE_WAIT_SECONDS = 30.0
"""How long a call naming a resource the run just created retries its ``NotFound``."""


def call_on_new(client: Any, operation: str, *, not_found: str,
                within_seconds: float = NEW_RESOURCE_WAIT_SECONDS, **kwargs: Any) -> dict[str, Any]:
    """:func:`call` for a resource created moments ago: EC2 is eventually consistent, so a call
    naming it can answer ``not_found`` (e.g. ``InvalidNetworkAclID.NotFound``) for a while,
    and botocore's retries do not cover that code ("Eventual consistency in the Amazon EC2
    API", https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html). Retried
    (:func:`chaos_sre.waiting.retry`) for at most ``within_seconds``."""
    return retry(lambda: call(client, operation, **kwargs),
                 retryable=lambda error: error.code == not_found, within_seconds=within_seconds)


def wait(client: Any, waiter_name: str, *, timeout_seconds: float, poll_seconds: float,
         **kwargs: Any) -> None:
    """Run the boto3 waiter ``waiter_name`` (its acceptors: what success and failure look
    like), polling every ``poll_seconds`` (wall seconds, jittered by 10 %) for
    ``timeout_seconds``.

    A waiter that gives up, or meets a failure state, becomes an :class:`AWSError` naming it and
    the time waited.
    """
    deadline = time.monotonic() + timeout_seconds
    waiter = client.get_waiter(waiter_name)
    while True:
        try:
            waiter.wait(WaiterConfig={"Delay": 0, "MaxAttempts": 1}, **kwargs)
            return
        except WaiterError as exc:
            left = deadline - time.monotonic()
            reason = str(exc.kwargs.get("reason", ""))
            if not reason.startswith(NOT_YET) or left <= 0:
                error = (exc.last_response or {}).get("Error", {})
                raise AWSError(f"{waiter_name} did not succeed within {timeout_seconds:g} s: "
                               f"{error.get('Message') or reason}",
                               code=error.get("Code"), operation=waiter_name) from exc
        except (ClientError, BotoCoreError) as exc:
            raise _translated(waiter_name, exc) from exc
        time.sleep(min(left, poll_seconds * random.uniform(1 - JITTER, 1 + JITTER)))


def tag_dict(tags: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """An AWS tag list (``[{"Key": k, "Value": v}]``; ECS spells them ``key``/``value``) as a dict."""
    return {t[key]: t.get(value, "") for t in tags or []}
