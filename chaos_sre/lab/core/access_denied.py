"""Denied API actions: the lab answers chosen actions as AWS answers a caller whose policy lacks them.

A chaos tool meets AccessDenied in a real account whenever the runner's role
misses a permission; the lab lets tests (and users rehearsing a least-privilege
role) meet it too. ``PUT $CHAOS_SRE_TARGET_URL/__lab/iam/denied?actions=ec2:TerminateInstances,rds:FailoverDBCluster``
denies those IAM actions to every caller but the lab itself, ``GET`` lists them
and ``DELETE`` allows everything again; `/__lab/status` shows them under
``denied_actions``. A denied call never reaches moto, so nothing changes, and
it is answered with the error AWS returns for an action no policy allows:

* EC2: HTTP 403 ``UnauthorizedOperation`` ("You are not authorized to perform
  this operation", Amazon EC2 API Reference, *Troubleshooting API request
  errors*, Unauthorized operation);
* the other query services (RDS, Auto Scaling, ELBv2, CloudWatch): HTTP 403
  ``AccessDenied``;
* JSON services (DynamoDB, ECS, Application Auto Scaling): HTTP 400
  ``AccessDeniedException`` (DynamoDB Developer Guide, *Error handling*).

Some calls need a permission beyond their own action, which AWS checks on the caller's behalf
and which fails later, not as an error of the call: StartInstances of an instance whose EBS
volume is encrypted with a customer managed KMS key needs ``kms:CreateGrant``, and without it
the instance goes from ``pending`` to ``stopped``. While a call is served, :func:`caller_may`
tells a service's patches whether its caller holds such a permission.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.api_calls import iam_action
from chaos_sre.lab.core.api_faults import (
    INTERNAL_ACCESS_KEY,
    access_key,
    protocol_of,
    signing_service,
    wire_error,
)

LAB_CALLER = "arn:aws:iam::123456789012:user/lab"
_serving = threading.local()


def caller_may(action: str) -> bool:
    """Whether the caller of the API call being served holds ``action`` (always, outside one)."""
    return action not in getattr(_serving, "denied", frozenset())


def parse_actions(text: str) -> set[str]:
    """``ec2:TerminateInstances,rds:FailoverDBCluster`` as a set; a malformed name is refused."""
    actions = {a.strip() for a in text.split(",") if a.strip()}
    for action in sorted(actions):
        service, sep, name = action.partition(":")
        if not sep or not service or not name or not name[0].isupper():
            raise ValidationError(f"not an IAM action name (service:Action): {action!r}")
    return actions


def denial(protocol: str, action: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of AWS's answer to ``action`` when no policy allows it."""
    if protocol == "ec2":
        return wire_error(protocol, "403 Forbidden", "UnauthorizedOperation",
                          "You are not authorized to perform this operation. User: "
                          f"{LAB_CALLER} is not authorized to perform: {action}", True)
    message = (f"User: {LAB_CALLER} is not authorized to perform: {action} because no "
               "identity-based policy allows the action")
    if protocol == "json":
        return wire_error(protocol, "400 Bad Request", "AccessDeniedException", message, True)
    return wire_error(protocol, "403 Forbidden", "AccessDenied", message, True)


class AccessDenials:
    """WSGI middleware: answer the denied IAM actions with AWS's access-denied error."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._denied: set[str] = set()

    def deny(self, actions: set[str]) -> None:
        """Deny exactly ``actions`` from now on (an empty set allows everything)."""
        with self._lock:
            self._denied = set(actions)

    def denied(self) -> list[str]:
        with self._lock:
            return sorted(self._denied)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            denied = self._denied
        if not denied or access_key(environ) == INTERNAL_ACCESS_KEY:
            return self._app(environ, start_response)
        action = iam_action(environ)
        if action not in denied:
            _serving.denied = frozenset(denied)
            try:
                return self._app(environ, start_response)
            finally:
                _serving.denied = frozenset()
        status, headers, body = denial(protocol_of(environ, signing_service(environ)), action)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]
