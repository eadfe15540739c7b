"""AWS APIs moto does not have, answered by the lab's own services.

A lab service whose package has an ``api`` module answers a botocore service moto lacks
(``BOTOCORE_SERVICE``, e.g. ``arc-zonal-shift``) itself: ``OPERATIONS`` maps each operation it
answers to a handler, which gets the named request
(:class:`~chaos_sre.lab.core.wsgi.ApiRequest`: its parameters by member name) under the lab lock
and returns the operation's output members, or raises :class:`ApiError` with the error AWS
documents. :class:`OwnApis` sits just before moto, after the call log, IAM evaluation and
injected faults, so these calls are logged, authorised and faulted like every other; an
operation of such a service that no handler answers is refused in one line rather than served
wrongly - unless the module says moto answers the rest (``MOTO_ANSWERS_THE_REST``: it adds
operations moto lacks to a service moto has). Outputs are written as the rest-json protocol
has them (a JSON body; timestamps in epoch seconds), with the HTTP status the service model
gives the operation; members the output shape places in headers, the status code or the whole
body (Lambda Invoke's ``FunctionError``, ``StatusCode`` and ``Payload``) go there.
"""

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chaos_sre.lab.core.api_faults import REST_JSON, wire_error
from chaos_sre.lab.core.operations import output_layout, response_code
from chaos_sre.lab.core.wsgi import ApiRequest, named

Handler = Callable[[ApiRequest], Mapping[str, Any]]
"""A named request -> the operation's output members."""
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 202: "202 Accepted", 204: "204 No Content"}


@dataclass
class ApiError(Exception):
    """An error answer of an operation: HTTP ``status``, AWS error ``code`` and ``message``."""

    status: int
    code: str
    message: str
    reason: str | None = None
    """The error's ``reason`` member where the service has one (ARC: ``InvalidExpiresIn``)."""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def not_found(message: str) -> ApiError:
    return ApiError(404, "ResourceNotFoundException", message)


def invalid(message: str, reason: str | None = None) -> ApiError:
    return ApiError(400, "ValidationException", message, reason)


def conflict(message: str, reason: str) -> ApiError:
    return ApiError(409, "ConflictException", message, reason)


def own_operations() -> tuple[dict[str, Mapping[str, Handler]], frozenset[str]]:
    """From every lab service's ``api`` module: botocore service -> its operations' handlers, and
    the services whose module answers only some operations, moto the others
    (``MOTO_ANSWERS_THE_REST = True``: FIS's safety lever, which moto lacks)."""
    from chaos_sre.lab.core.services import service_modules

    modules = [module for _, module in service_modules("api")]
    return ({str(m.BOTOCORE_SERVICE): m.OPERATIONS for m in modules},
            frozenset(str(m.BOTOCORE_SERVICE) for m in modules
                      if getattr(m, "MOTO_ANSWERS_THE_REST", False)))


def _epoch(value: Any) -> Any:
    return value.timestamp() if hasattr(value, "timestamp") else value


class OwnApis:
    """WSGI layer before moto: requests for a service a lab service answers get its answer."""

    def __init__(self, app: Callable[..., Iterable[bytes]],
                 operations: Mapping[str, Mapping[str, Handler]] | None = None,
                 moto_answers: frozenset[str] | None = None) -> None:
        self._app = app
        declared, passing = own_operations()
        self._operations = declared if operations is None else operations
        self._moto_answers = passing if moto_answers is None else moto_answers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = named(environ)
        if request is None or request.service not in self._operations:
            return self._app(environ, start_response)
        handler = self._operations[request.service].get(request.operation)
        if handler is None and request.service in self._moto_answers:
            return self._app(environ, start_response)
        try:
            if handler is None:
                raise ApiError(400, "UnknownOperationException",
                               f"the chaos-sre lab does not answer {request.iam_action}; it answers "
                               f"{', '.join(sorted(self._operations[request.service]))}")
            output = handler(request)
        except ApiError as error:
            status, headers, body = wire_error(REST_JSON, f"{error.status} Error", error.code,
                                               error.message, error.status < 500)
            if error.reason is not None:
                body = json.dumps({**json.loads(body), "reason": error.reason}).encode()
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        code = response_code(request.service, request.operation)
        layout = output_layout(request.service, request.operation)
        headers = [(name, str(output[member])) for member, name in layout.headers.items()
                   if output.get(member) is not None]
        if layout.status is not None and output.get(layout.status) is not None:
            code = int(output[layout.status])
        if layout.payload is not None:
            payload = output.get(layout.payload)
            body = payload if isinstance(payload, bytes) else json.dumps(payload, default=_epoch).encode()
        else:
            body = json.dumps({name: _epoch(value) for name, value in output.items()},
                              default=_epoch).encode()
        start_response(STATUS_TEXT.get(code, f"{code} OK"),
                       [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4())),
                        *headers, ("Content-Length", str(len(body)))])
        return [body]
