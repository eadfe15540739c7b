"""The lab's AWS API fault injector (``chaos-sre lab up --api-fault-rate 0.2``).

Real AWS APIs throttle and fail now and then; a chaos tool that trusts every
call to succeed breaks staging on a bad day. With a fault rate, the lab answers
that share of API calls - chosen at random, before moto sees them, so nothing
is changed - with one of the errors AWS returns, in the wire format of the
service's protocol:

* throttling: HTTP 400 ``RequestLimitExceeded`` (EC2), ``Throttling`` (query
  services: Auto Scaling, ELBv2, RDS, STS), ``ThrottlingException`` (JSON
  services: DynamoDB, ECS, Application Auto Scaling), HTTP 429 ``TooManyRequestsException``
  (REST JSON services: Lambda, EKS), HTTP 503 ``SlowDown`` (REST XML: S3);
* ``InternalError`` / ``InternalFailure``: HTTP 500;
* ``ServiceUnavailable``: HTTP 503.

Calls made with the lab's internal key (:data:`~chaos_sre.lab.core.wsgi.INTERNAL_ACCESS_KEY`:
seeding and the lab's own metric publishers) are never faulted, nor are requests in a
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

from chaos_sre.lab.core.wsgi import named

THROTTLE, INTERNAL, UNAVAILABLE = "throttle", "internal", "unavailable"
KINDS = (THROTTLE, INTERNAL, UNAVAILABLE)
CBOR, JSON, EC2, QUERY, REST_JSON, REST_XML = ("smithy-rpc-v2-cbor", "json", "ec2", "query",
                                               "rest-json", "rest-xml")


def wire_error(protocol: str, status: str, code: str, message: str,
               sender: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error ``code`` in ``protocol``'s wire format.

    ``sender`` says whose fault it is in the query protocol's ``<Type>`` (Sender or Receiver).
    CBOR answers carry no body (the lab does not write CBOR).
    """
    request_id = str(uuid.uuid4())
    if protocol == CBOR:
        return status, [("x-amzn-RequestId", request_id)], b""
    if protocol == JSON:
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-RequestId", request_id)], body
    if protocol == REST_JSON:
        body = json.dumps({"Type": "User" if sender else "Service", "message": message}).encode()
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                        ("x-amzn-RequestId", request_id)], body
    text = escape(message)
    if protocol == REST_XML:
        body = (f"<Error><Code>{code}</Code><Message>{text}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>").encode()
        return status, [("Content-Type", "application/xml")], body
    if protocol == EC2:
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        return status, [("Content-Type", "text/xml")], body
    body = (f"<ErrorResponse><Error><Type>{'Sender' if sender else 'Receiver'}</Type>"
            f"<Code>{code}</Code><Message>{text}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml")], body


THROTTLE_ANSWERS = {REST_JSON: ("429 Too Many Requests", "TooManyRequestsException"),
                   REST_XML: ("503 Slow Down", "SlowDown")}
"""How REST services throttle (Lambda: 429 TooManyRequestsException; S3: 503 SlowDown)."""


def error_response(protocol: str, kind: str, message: str = "Injected by the chaos-sre lab (--api-fault-rate)",
                   ) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error of ``kind`` saying ``message``."""
    if protocol == CBOR:
        return wire_error(protocol, "503 Service Unavailable", "ServiceUnavailable", "", False)
    if kind == THROTTLE and protocol in THROTTLE_ANSWERS:
        status, code = THROTTLE_ANSWERS[protocol]
        return wire_error(protocol, status, code, message, True)
    status = {THROTTLE: "400 Bad Request", INTERNAL: "500 Internal Server Error",
              UNAVAILABLE: "503 Service Unavailable"}[kind]
    codes = {
        JSON: {THROTTLE: "ThrottlingException", INTERNAL: "InternalFailure",
               UNAVAILABLE: "ServiceUnavailable"},
        EC2: {THROTTLE: "RequestLimitExceeded", INTERNAL: "InternalError",
              UNAVAILABLE: "Unavailable"},
        QUERY: {THROTTLE: "Throttling", INTERNAL: "InternalFailure",
                UNAVAILABLE: "ServiceUnavailable"},
        REST_JSON: {INTERNAL: "ServiceException", UNAVAILABLE: "ServiceUnavailable"},
        REST_XML: {INTERNAL: "InternalError", UNAVAILABLE: "ServiceUnavailable"},
    }[protocol]
    return wire_error(protocol, status, codes[kind], message, kind == THROTTLE)


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
        request = named(environ)
        if self.rate <= 0 or request is None:
            return self._app(environ, start_response)
        with self._lock:
            self.calls += 1
            roll, kind = self._rng.random(), self._rng.choice(KINDS)
        if roll >= self.rate:
            return self._app(environ, start_response)
        status, headers, body = error_response(request.protocol, kind)
        with self._lock:
            key = f"{request.signing_name}:{status.split()[0]}"
            self.injected[key] = self.injected.get(key, 0) + 1
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def status(self) -> dict[str, Any]:
        """Calls seen and faults injected (by service and HTTP status), for `/__lab/status`."""
        with self._lock:
            return {"rate": self.rate, "calls": self.calls, "injected": dict(self.injected)}
