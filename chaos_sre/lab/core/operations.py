"""Naming an AWS API request: which service and operation it is, its IAM action, its parameters.

Every request a caller sends the lab is named here before anything else sees it, by the
service models botocore ships, in any of AWS's wire protocols:

* ``query`` and ``ec2``: the ``Action`` parameter (form body or query string); ``Version``
  tells apart services that sign with one name (ELB and ELBv2: ``elasticloadbalancing``);
* ``json``: the ``X-Amz-Target`` header (``DynamoDB_20120810.UpdateTable``);
* ``smithy-rpc-v2-cbor``: the path ``/service/NAME/operation/OPERATION``;
* ``rest-json`` and ``rest-xml``: the HTTP method and path matched against every operation's
  ``requestUri`` template (``/2017-10-31/functions/{FunctionName}/concurrency``), the most
  specific match winning, with the query keys the template requires.

The service comes from the request's SigV4 credential scope (its signing name: ``lambda``,
``monitoring`` for CloudWatch). A request that cannot be named - unsigned, an unknown service,
no operation matching - raises :class:`UnnamedRequest`; the lab refuses it rather than serve a
call that its call log, mutation ground truth and IAM evaluation would not see.

The IAM action is the service's IAM prefix and the operation's name, except where the Service
Authorization Reference names the permission otherwise (:mod:`chaos_sre.aws.iam_names`). The parameters
are the request's own: a query request's form (``InstanceId.1`` -> values), a JSON request's
body, and for REST the URI labels, query-string members and JSON body by member name.
"""

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.loaders

from chaos_sre.lab.core.api_faults import JSON, QUERY, wire_error
from chaos_sre.lab.core.mutations import json_params, query_params
from chaos_sre.lab.core.wsgi import (
    INTERNAL_ACCESS_KEY,
    NAMED,
    ApiRequest,
    access_key,
    credential,
    request_body,
)

REST = ("rest-json", "rest-xml")


class UnnamedRequest(Exception):
    """A request the lab cannot name as an AWS API operation."""


@dataclass(frozen=True)
class _Route:
    """One REST operation's ``requestUri``, ready to match."""

    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]
    headers: tuple[str, ...]
    """The environ keys of the headers the operation requires (``HTTP_X_AMZ_COPY_SOURCE``)."""
    specificity: tuple[int, int, bool]
    labels: Mapping[str, str]
    """URI label -> member name."""
    query_members: Mapping[str, str]
    """query-string key -> member name."""
    header_members: Mapping[str, str] = field(default_factory=dict)
    """environ key of a header (``HTTP_X_AMZ_INVOCATION_TYPE``) -> member name."""
    payload: str | None = None
    """The member the whole body is (Lambda Invoke's ``Payload``; a rest-xml structure, as
    S3's PutBucketReplication ``ReplicationConfiguration``: its XML document), read as bytes."""


@dataclass(frozen=True)
class _Service:
    """What naming needs of one botocore service model."""

    name: str
    signing_name: str
    protocols: tuple[str, ...]
    api_version: str
    target_prefix: str
    operations: frozenset[str]
    routes: tuple[_Route, ...]


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def _template(uri: str) -> tuple[re.Pattern[str], tuple[tuple[str, str | None], ...], tuple[int, int]]:
    """A ``requestUri`` as (path regex, required query keys and values, specificity)."""
    path, _, query = uri.partition("?")
    pattern, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            pattern += f"(?P<{_group(name)}>{'.+' if greedy else '[^/]+'})"
        else:
            pattern += re.escape(part)
            literal += len(part)
    required = tuple((key, value[0] if value else None) for key, *value in
                     (item.split("=", 1) for item in query.split("&") if item))
    return re.compile(f"^{pattern}/?$"), required, (literal, len(required))


def _group(label: str) -> str:
    """A regex group name for a URI label (labels may hold characters groups may not)."""
    return "l_" + re.sub(r"\W", "_", label)


def _routes(model: Mapping[str, Any]) -> tuple[_Route, ...]:
    """Every REST operation's route, most specific first: literal characters of the path, then
    query keys and headers required (by the template, or as required members); a deprecated
    operation after the one that replaced it on the same route."""
    shapes = model["shapes"]
    routes = []
    for name, operation in model["operations"].items():
        http = operation.get("http") or {}
        if "requestUri" not in http:
            continue
        shape = shapes.get(operation.get("input", {}).get("shape", ""), {})
        members = shape.get("members", {})
        labels = {m.get("locationName", k): k for k, m in members.items() if m.get("location") == "uri"}
        query_members = {m.get("locationName", k): k for k, m in members.items()
                         if m.get("location") == "querystring"}
        path, query, (literal, _) = _template(http["requestUri"])
        required = set(shape.get("required", []))
        query += tuple((key, None) for key, member in query_members.items()
                       if member in required and key not in dict(query))
        header_members = {"HTTP_" + m.get("locationName", k).upper().replace("-", "_"): k
                          for k, m in members.items() if m.get("location") == "header"}
        headers = tuple(sorted(key for key, member in header_members.items() if member in required))
        payload = shape.get("payload")
        blob = payload is not None and (shapes.get(members[payload]["shape"], {}).get("type") == "blob"
                                        or model.get("metadata", {}).get("protocol") == "rest-xml")
        routes.append(_Route(name, http.get("method", "POST"), path, query, headers,
                             (literal, len(query) + len(headers),
                              not operation.get("deprecated", False)),
                             labels, query_members, header_members, payload if blob else None))
    return tuple(sorted(routes, key=lambda r: r.specificity, reverse=True))


@functools.cache
def _service(name: str) -> _Service:
    model = _loader().load_service_model(name, "service-2")
    metadata = model["metadata"]
    protocols = tuple(metadata.get("protocols") or [metadata["protocol"]])
    return _Service(
        name=name, signing_name=metadata.get("signingName") or metadata["endpointPrefix"],
        protocols=protocols, api_version=metadata.get("apiVersion", ""),
        target_prefix=metadata.get("targetPrefix", ""),
        operations=frozenset(model["operations"]),
        routes=_routes(model) if set(protocols) & set(REST) else ())


@dataclass(frozen=True)
class OutputLayout:
    """Where a REST operation's output members go besides its JSON body."""

    headers: Mapping[str, str]
    """member -> header name (``FunctionError`` -> ``X-Amz-Function-Error``)."""
    status: str | None
    """The member that is the HTTP status (``StatusCode``)."""
    payload: str | None
    """The member that is the whole body (``Payload``)."""


@functools.cache
def output_layout(service: str, operation: str) -> OutputLayout:
    """The output shape's header, status-code and payload members (botocore's service model)."""
    model = _loader().load_service_model(service, "service-2")
    shape = model["shapes"].get(model["operations"][operation].get("output", {}).get("shape", ""), {})
    members = shape.get("members", {})
    return OutputLayout({k: m.get("locationName", k) for k, m in members.items() if m.get("location") == "header"},
                        next((k for k, m in members.items() if m.get("location") == "statusCode"), None),
                        shape.get("payload"))


def response_code(service: str, operation: str) -> int:
    """The HTTP status of a successful ``operation`` of ``service`` (its model's ``responseCode``)."""
    http = _loader().load_service_model(service, "service-2")["operations"][operation].get("http") or {}
    return int(http.get("responseCode", 200))


@functools.cache
def _available() -> frozenset[str]:
    return frozenset(_loader().list_available_services("service-2"))


@functools.cache
def _signing_index() -> Mapping[str, tuple[str, ...]]:
    """Every botocore service by its signing name (loads every model: only for a signing name
    that is not itself a service's name)."""
    index: dict[str, list[str]] = {}
    for name in sorted(_available()):
        metadata = _loader().load_service_model(name, "service-2")["metadata"]
        index.setdefault(metadata.get("signingName") or metadata["endpointPrefix"], []).append(name)
    return {signing: tuple(names) for signing, names in index.items()}


_declared: dict[str, tuple[str, ...]] = {}
"""The signing names of the services the lab's services answer (:func:`preload`)."""


def services_signing_as(signing_name: str) -> tuple[str, ...]:
    """The botocore services whose requests sign with ``signing_name``."""
    if signing_name in _declared:
        return _declared[signing_name]
    if signing_name in _available() and _service(signing_name).signing_name == signing_name:
        return (signing_name,)
    return _signing_index().get(signing_name, ())


def preload(services: Iterable[str]) -> None:
    """Read these services' models now (the lab's own, before it serves a request) and know
    them by their signing names."""
    index: dict[str, list[str]] = {}
    for name in services:
        index.setdefault(_service(name).signing_name, []).append(name)
    _declared.update({signing: tuple(names) for signing, names in index.items()})


def _query_form(environ: Mapping[str, Any], body: bytes) -> dict[str, list[str]]:
    """A query-protocol request's parameters: its form body and its query string."""
    form = query_params(str(environ.get("QUERY_STRING", "")).encode())
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if not content_type or "x-www-form-urlencoded" in content_type:
        for key, values in query_params(body).items():
            form.setdefault(key, []).extend(values)
    return form


def _tiers(signing_name: str) -> Iterator[list[_Service]]:
    """The services signing as ``signing_name``, in two tiers: the lab's own (or the service of
    that name); then, for a namer that found nothing among them, every other one in botocore's
    models (an ELB Classic call, say: reading every model takes seconds, so only then)."""
    first = services_signing_as(signing_name)
    yield [_service(name) for name in first]
    if signing_name in _declared:
        yield [_service(name) for name in _signing_index().get(signing_name, ())
               if name not in first]


def _named_by_target(environ: Mapping[str, Any], signing: str, body: bytes) -> ApiRequest:
    prefix, _, operation = str(environ["HTTP_X_AMZ_TARGET"]).rpartition(".")
    for tier in _tiers(signing):
        for service in tier:
            if operation in service.operations and (not service.target_prefix or
                                                     service.target_prefix == prefix):
                return ApiRequest(service.name, signing, operation, "json", json_params(body))
    raise UnnamedRequest(f"no {signing} operation is named by X-Amz-Target {prefix}.{operation}")


def _named_by_cbor_path(path: str, signing: str) -> ApiRequest:
    operation = path.rsplit("/", 1)[-1]
    for tier in _tiers(signing):
        for service in tier:
            if operation in service.operations:
                return ApiRequest(service.name, signing, operation, "smithy-rpc-v2-cbor")
    raise UnnamedRequest(f"no {signing} operation is named by the path {path}")


def _named_by_action(form: dict[str, list[str]], signing: str) -> ApiRequest:
    operation = form["Action"][0]
    version = (form.get("Version") or [""])[0]
    fallback: _Service | None = None
    chosen: _Service | None = None
    for tier in _tiers(signing):
        having = [s for s in tier if operation in s.operations]
        chosen = next((s for s in having if s.api_version == version), None)
        fallback = fallback or (having[0] if having else None)
        if chosen is not None:
            break
    service = chosen or fallback
    if service is None:
        raise UnnamedRequest(f"no {signing} operation is named Action={operation}")
    protocol = "ec2" if "ec2" in service.protocols else "query"
    return ApiRequest(service.name, signing, operation, protocol, form)


def _best_route(services: list[_Service], method: str, path: str, query: dict[str, list[str]],
                environ: Mapping[str, Any]) -> tuple[_Service, _Route, re.Match[str]] | None:
    """The most specific route of ``services`` that the request matches."""
    best: tuple[tuple[int, int, bool], _Service, _Route, re.Match[str]] | None = None
    for service in services:
        for route in service.routes:
            if route.method != method or (best is not None and route.specificity <= best[0]):
                continue
            matched = route.path.match(path)
            if matched and all(key in query and (value is None or value in query[key])
                               for key, value in route.query) \
                    and all(header in environ for header in route.headers):
                best = (route.specificity, service, route, matched)
    return None if best is None else best[1:]


def _raw_path(environ: Mapping[str, Any]) -> str:
    """The request's path as the client sent it: a URI label may hold an encoded ``/`` (ARC's
    ``/managedresources/{resourceIdentifier}`` with an ARN), which ``PATH_INFO`` has decoded."""
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    return raw.split("?", 1)[0] if raw.startswith("/") else str(environ.get("PATH_INFO", ""))


def _named_by_route(environ: Mapping[str, Any], signing: str, body: bytes) -> ApiRequest:
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = _raw_path(environ) or "/"
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    found = None
    for tier in _tiers(signing):
        found = _best_route(tier, method, path, query, environ)
        if found is not None:
            break
    if found is None:
        raise UnnamedRequest(f"no {signing} operation answers {method} {path}")
    service, route, matched = found
    params: dict[str, Any] = {}
    if route.payload is not None:
        params[route.payload] = body
    elif "rest-json" in service.protocols:
        params.update(json_params(body))
    for key, member in route.header_members.items():
        if key in environ:
            params[member] = str(environ[key])
    for key, values in query.items():
        params[route.query_members.get(key, key)] = values[0] if len(values) == 1 else values
    for label, member in route.labels.items():
        params[member] = unquote(matched.group(_group(label)))
    protocol = "rest-json" if "rest-json" in service.protocols else "rest-xml"
    return ApiRequest(service.name, signing, route.operation, protocol, params)


def name_request(environ: dict[str, Any]) -> ApiRequest:
    """The AWS API operation ``environ`` asks for (its body is left readable); UnnamedRequest
    saying why when it names none."""
    parts = credential(environ)
    if len(parts) < 5:
        raise UnnamedRequest("the request is not signed with AWS Signature Version 4")
    signing = parts[3]
    own = next(_tiers(signing))
    if not own:
        raise UnnamedRequest(f"no AWS service signs as {signing!r} in botocore's models")
    body = request_body(environ)
    path = str(environ.get("PATH_INFO", ""))
    if environ.get("HTTP_X_AMZ_TARGET"):
        return _named_by_target(environ, signing, body)
    if path.startswith("/service/") and "/operation/" in path:
        return _named_by_cbor_path(path, signing)
    form = _query_form(environ, body)
    if form.get("Action") and not any(set(s.protocols) & set(REST) for s in own):
        return _named_by_action(form, signing)
    return _named_by_route(environ, signing, body)


class NameRequests:
    """WSGI middleware: name every caller's request for the layers after it (``environ[NAMED]``),
    or refuse it when it names no operation. The lab's own calls pass unnamed."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}
        """Why requests were refused, and how many times."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if access_key(environ) == INTERNAL_ACCESS_KEY:
            return self._app(environ, start_response)
        try:
            environ[NAMED] = name_request(environ)
        except UnnamedRequest as exc:
            with self._lock:
                self.refused[str(exc)] = self.refused.get(str(exc), 0) + 1
            status, headers, body = refusal(environ, str(exc))
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        return self._app(environ, start_response)


def refusal(environ: Mapping[str, Any], why: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The lab's answer to a request it cannot name: HTTP 400, in the request's JSON or XML."""
    protocol = JSON if environ.get("HTTP_X_AMZ_TARGET") else QUERY
    code = "UnknownOperationException" if protocol == JSON else "InvalidAction"
    return wire_error(protocol, "400 Bad Request", code,
                      f"the chaos-sre lab cannot name this request: {why}; it refuses a call its "
                      "call log, IAM evaluation and mutation record would not see", True)
