"""Calls that never reach AWS: a caller whose network has no way out gets no answer.

The lab's callers (tests, ``chaos run``) sit in a subnet of the lab's account, as a runner in a
staging account does (:meth:`chaos_sre.lab.ec2.simulation.Ec2.caller_reaches` says where, and
whether a call leaves it). When a call cannot leave - its subnet's default route goes through a
NAT gateway a network ACL cut off, or DNS gave it an interface endpoint's address in a cut
subnet - AWS never sees it and the caller's connection times out. The lab closes the connection
without an answer instead of making the caller wait for its timeout: the SDK retries, then
fails the call with a connection error, and nothing reaches the call log, the IAM evaluation or
moto. The lab's own calls always pass, and so do an AWS service's acting for the account (the
lab's FIS with an experiment's role, :func:`add_service_caller`): they come from AWS's side.
"""

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from chaos_sre.lab.core.wsgi import NAMED, access_key

_SERVICE_CALLERS: set[str] = set()
_SERVICE_CALLERS_LOCK = threading.Lock()


def add_service_caller(access_key_id: str) -> None:
    """Requests signed with ``access_key_id`` are an AWS service's: they always reach the API."""
    with _SERVICE_CALLERS_LOCK:
        _SERVICE_CALLERS.add(access_key_id)


def is_service_caller(access_key_id: str) -> bool:
    with _SERVICE_CALLERS_LOCK:
        return access_key_id in _SERVICE_CALLERS


def _always(signing_name: str) -> bool:
    return True


class CallerRoute:
    """WSGI middleware: drop a named request whose caller cannot reach its service."""

    def __init__(self, app: Callable[..., Iterable[bytes]],
                 reaches: Callable[[str], bool] = _always) -> None:
        self._app = app
        self._reaches = reaches

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = environ.get(NAMED)
        if request is None or is_service_caller(access_key(environ)) or self._reaches(request.signing_name):
            return self._app(environ, start_response)
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError(f"the caller cannot reach {request.signing_name}")
