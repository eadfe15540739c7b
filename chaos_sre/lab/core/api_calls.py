"""Which AWS API actions callers made against the lab, named as IAM names them.

`/__lab/status` shows them under ``api_calls`` (``{"ec2:DescribeInstances": 12, ...}``):
after a game day against the lab, that is the list of permissions the runner
needs in a real account; ``/__lab/api-calls`` lists each call with its time
(``[[epoch seconds, "ec2:DescribeInstances"], ...]``), so the calls of one run
among several can be told apart. The lab's own calls (its internal key) are left out.
"""

import io
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from chaos_sre.lab.core import mutations
from chaos_sre.lab.core.api_faults import INTERNAL_ACCESS_KEY, access_key, signing_service

IAM_PREFIXES = {"monitoring": "cloudwatch"}
"""Signing names whose IAM service prefix differs (ELBv2 signs as elasticloadbalancing already)."""


def request_body(environ: dict[str, Any]) -> bytes:
    """A request's body, left readable for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def request_params(environ: dict[str, Any]) -> mutations.Params:
    """A request's parameters: its JSON body (JSON protocols) or its form (query protocols)."""
    body = request_body(environ)
    return mutations.json_params(body) if environ.get("HTTP_X_AMZ_TARGET") \
        else mutations.query_params(body)


def _form_action(environ: dict[str, Any]) -> str | None:
    """The ``Action`` of a query-protocol request, leaving the body readable for moto."""
    body = request_body(environ)
    for source in (body.decode("utf-8", "replace"), str(environ.get("QUERY_STRING", ""))):
        action = parse_qs(source).get("Action")
        if action:
            return action[0]
    return None


def action_of(environ: dict[str, Any]) -> str | None:
    """The API action of a request: X-Amz-Target (JSON), the smithy path (CBOR) or Action= (query)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    return _form_action(environ)


def iam_action(environ: dict[str, Any]) -> str | None:
    """The IAM name of a request's API action (``ec2:TerminateInstances``), None when unsigned."""
    service = signing_service(environ)
    action = action_of(environ)
    return f"{IAM_PREFIXES.get(service, service)}:{action}" if service and action else None


class ApiCallLog:
    """WSGI middleware recording callers' API actions (IAM ``service:Action`` names) and when."""

    MAX_CALLS = 500_000
    """The newest calls kept with their time (a day of a busy game day)."""

    def __init__(self, app: Callable[..., Iterable[bytes]],
                 subnet_of: Callable[[str], str | None] = lambda association: None) -> None:
        self._app = app
        self._subnet_of = subnet_of
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._calls: deque[tuple[float, str]] = deque(maxlen=self.MAX_CALLS)
        self._mutations: deque[dict[str, Any]] = deque(maxlen=self.MAX_CALLS)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if access_key(environ) != INTERNAL_ACCESS_KEY:
            name = iam_action(environ)
            if name:
                now = time.time()
                mutation = self._mutation(environ, name, now)
                with self._lock:
                    self._counts[name] = self._counts.get(name, 0) + 1
                    self._calls.append((now, name))
                    if mutation is not None:
                        self._mutations.append(mutation)
        return self._app(environ, start_response)

    def _mutation(self, environ: dict[str, Any], name: str, at: float) -> dict[str, Any] | None:
        """The ground truth of a mutating call: when, what action, which resources it named."""
        if not mutations.is_mutation(name.split(":", 1)[1]):
            return None
        params = request_params(environ)
        return {"at": at, "action": name,
                "resources": mutations.mutated_resources(name, params, self._subnet_of)}

    def mutations(self) -> list[dict[str, Any]]:
        """Every kept mutating call (chaos_sre.lab.core.mutations), oldest first."""
        with self._lock:
            return list(self._mutations)

    def counts(self) -> dict[str, int]:
        """Calls per IAM action name, sorted by name."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def calls(self) -> list[tuple[float, str]]:
        """Every kept call: (epoch seconds, IAM action name), oldest first."""
        with self._lock:
            return list(self._calls)
