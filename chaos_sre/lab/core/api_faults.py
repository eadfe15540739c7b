"""The lab's AWS API fault injector (``chaos-sre lab up --api-fault-rate 0.2``).

Real AWS APIs throttle and fail now and then; a chaos tool that trusts every
call to succeed breaks staging on a bad day. With a fault rate, the lab answers
that share of API calls - chosen at random, before moto sees them, so nothing
is changed - with one of the errors AWS returns, in the wire format of the
service's protocol:

* throttling: HTTP 400 ``RequestLimitExceeded`` (EC2), ``Throttling`` (query
  services: Auto Scaling, ELBv2, RDS, STS), ``ThrottlingException`` (JSON
  services: DynamoDB, ECS, Application Auto Scaling);
* ``InternalError`` / ``InternalFailure``: HTTP 500;
* ``ServiceUnavailable``: HTTP 503.

Calls made with the lab's internal key (:data:`INTERNAL_ACCESS_KEY`: seeding
and the lab's own metric publishers) are never faulted, nor are requests in a
protocol whose error format the injector does not write (CloudWatch's CBOR:
those get only the 503, which carries no body).
"""

import json
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

INTERNAL_ACCESS_KEY = "lab-internal"
THROTTLE, INTERNAL, UNAVAILABLE = "throttle", "internal", "unavailable"
KINDS = (THROTTLE, INTERNAL, UNAVAILABLE)


def _credential(environ: dict[str, Any]) -> list[str]:
    """The SigV4 ``Authorization`` header's credential: key id, date, Region, service, ``aws4_request``."""
    _, _, credential = str(environ.get("HTTP_AUTHORIZATION", "")).partition("Credential=")
    return credential.split(",", 1)[0].split("/")


def signing_service(environ: dict[str, Any]) -> str:
    """The signing service name from the SigV4 ``Authorization`` header (``ec2``, ``ecs``...)."""
    parts = _credential(environ)
    return parts[3] if len(parts) >= 5 else ""


def signing_region(environ: dict[str, Any]) -> str:
    """The Region from the SigV4 ``Authorization`` header's credential scope."""
    parts = _credential(environ)
    return parts[2] if len(parts) >= 5 else ""


def access_key(environ: dict[str, Any]) -> str:
    """The access key id the request was signed with."""
    return _credential(environ)[0]


def protocol_of(environ: dict[str, Any], service: str) -> str:
    """The wire protocol of a request: ``cbor``, ``json``, ``ec2`` or ``query``."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if "cbor" in content_type or environ.get("HTTP_SMITHY_PROTOCOL"):
        return "cbor"
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
        return "json"
    return "ec2" if service == "ec2" else "query"


def wire_error(protocol: str, status: str, code: str, message: str,
               sender: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error ``code`` in ``protocol``'s wire format.

    ``sender`` says whose fault it is in the query protocol's ``<Type>`` (Sender or Receiver).
    CBOR answers carry no body (the lab does not write CBOR).
    """
    request_id = str(uuid.uuid4())
    if protocol == "cbor":
        return status, [("x-amzn-RequestId", request_id)], b""
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-RequestId", request_id)], body
    text = escape(message)
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        return status, [("Content-Type", "text/xml")], body
    body = (f"<ErrorResponse><Error><Type>{'Sender' if sender else 'Receiver'}</Type>"
            f"<Code>{code}</Code><Message>{text}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml")], body


def error_response(protocol: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an injected AWS error of ``kind``."""
    if protocol == "cbor":
        return wire_error(protocol, "503 Service Unavailable", "ServiceUnavailable", "", False)
    status = {THROTTLE: "400 Bad Request", INTERNAL: "500 Internal Server Error",
              UNAVAILABLE: "503 Service Unavailable"}[kind]
    codes = {
        "json": {THROTTLE: "ThrottlingException", INTERNAL: "InternalFailure",
                 UNAVAILABLE: "ServiceUnavailable"},
        "ec2": {THROTTLE: "RequestLimitExceeded", INTERNAL: "InternalError",
                UNAVAILABLE: "Unavailable"},
        "query": {THROTTLE: "Throttling", INTERNAL: "InternalFailure",
                  UNAVAILABLE: "ServiceUnavailable"},
    }[protocol]
    return wire_error(protocol, status, codes[kind],
                      "Injected by the chaos-sre lab (--api-fault-rate)", kind == THROTTLE)


class ApiFaultInjector:
    """WSGI middleware: answer ``rate`` of the API calls with an AWS error instead of moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], rate: float,
                 rng: random.Random | None = None) -> None:
        self._app = app
        self.rate = rate
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self.calls = 0
        self.injected: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.rate <= 0 or access_key(environ) == INTERNAL_ACCESS_KEY:
            return self._app(environ, start_response)
        service = signing_service(environ)
        with self._lock:
            self.calls += 1
            roll, kind = self._rng.random(), self._rng.choice(KINDS)
        if roll >= self.rate:
            return self._app(environ, start_response)
        status, headers, body = error_response(protocol_of(environ, service), kind)
        with self._lock:
            key = f"{service or 'unknown'}:{status.split()[0]}"
            self.injected[key] = self.injected.get(key, 0) + 1
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def status(self) -> dict[str, Any]:
        """Calls seen and faults injected (by service and HTTP status), for `/__lab/status`."""
        with self._lock:
            return {"rate": self.rate, "calls": self.calls, "injected": dict(self.injected)}
