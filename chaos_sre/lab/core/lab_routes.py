"""The lab's own HTTP face on the endpoint, under ``/__lab/``.

``/__lab/timeline`` (GET, DELETE to reset) and ``/__lab/status`` expose the
lab's ground truth; ``/__lab/api-calls`` lists callers' API calls with their
time; ``/__lab/mutations`` their mutating calls with the resources each named
(:mod:`chaos_sre.lab.core.mutations`); ``/__lab/iam/denied`` (GET, PUT ``?actions=a,b``, DELETE) sets the API
actions the lab denies and ``/__lab/iam/policy`` (GET, PUT with a policy document as the body,
DELETE) the policy a caller holds, ``/__lab/iam/requests`` (GET) the IAM requests evaluated
against it (:mod:`chaos_sre.lab.core.access_denied`);
the lab services' own paths (their plugin objects' ``endpoint_routes``: the web tier's
``/__lab/ecs-metadata``, its runner's ECS task metadata) answer GET with their documents. Any
other ``/__lab/`` path answers 404.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.access_denied import EVERY_CALLER, AccessDenials, parse_actions
from chaos_sre.lab.core.timeline import Timeline

LAB_PREFIX = "/__lab/"


class LabApi:
    """Answers ``/__lab/...`` requests."""

    def __init__(self, *, timeline: Timeline, status: Callable[[], dict[str, Any]], info: dict[str, Any],
                 denials: AccessDenials | None = None,
                 api_calls: Callable[[], list[tuple[float, str]]] | None = None,
                 mutations: Callable[[], list[dict[str, Any]]] | None = None,
                 routes: Mapping[str, Callable[[], Any]] | None = None) -> None:
        self.timeline = timeline
        self._routes = dict(routes or {})
        self._status = status
        self._info = info
        self._denials = denials
        self._api_calls = api_calls
        self._mutations = mutations

    async def handle(self, request: web.Request) -> web.Response:
        status, body = self.answer(request.method, request.path, request.query_string,
                                   await request.read() if request.can_read_body else b"")
        return web.Response(status=status, body=body, content_type="application/json")

    def answer(self, method: str, route: str, query: str, body: bytes = b"") -> tuple[int, bytes]:
        """(status, JSON body) for ``method route?query`` with a request ``body``."""
        if route == "/__lab/timeline" and method == "GET":
            return 200, json.dumps(self.timeline.snapshot()).encode()
        if route == "/__lab/timeline" and method == "DELETE":
            self.timeline.reset()
            return 200, b'{"reset": true}'
        if route == "/__lab/status" and method == "GET":
            return 200, json.dumps({**self._info, **self._status()}).encode()
        if route == "/__lab/api-calls" and method == "GET" and self._api_calls is not None:
            return 200, json.dumps(self._api_calls()).encode()
        if route == "/__lab/mutations" and method == "GET" and self._mutations is not None:
            return 200, json.dumps(self._mutations()).encode()
        if route in self._routes and method == "GET":
            return 200, json.dumps(self._routes[route]()).encode()
        if route == "/__lab/iam/denied" and self._denials is not None:
            return self._denied_actions(self._denials, method, query)
        if route == "/__lab/iam/policy" and self._denials is not None:
            return self._policy(self._denials, method, query, body)
        if route == "/__lab/iam/requests" and method == "GET" and self._denials is not None:
            return 200, json.dumps({"requests": self._denials.requests()}).encode()
        return 404, b'{"error": "unknown lab path"}'

    @staticmethod
    def _denied_actions(denials: AccessDenials, method: str, query: str) -> tuple[int, bytes]:
        """GET lists the denied IAM actions, PUT ``?actions=a,b`` sets them, DELETE clears them."""
        if method == "PUT":
            try:
                denials.deny(parse_actions(parse_qs(query).get("actions", [""])[0]))
            except ValidationError as exc:
                return 400, json.dumps({"error": str(exc)}).encode()
        elif method == "DELETE":
            denials.deny(set())
        elif method != "GET":
            return 405, b'{"error": "use GET, PUT ?actions=service:Action,... or DELETE"}'
        return 200, json.dumps({"denied_actions": denials.denied()}).encode()

    @staticmethod
    def _policy(denials: AccessDenials, method: str, query: str, body: bytes) -> tuple[int, bytes]:
        """GET shows the policies attached by principal, PUT ``?principal=KEY`` attaches the
        body's document to that access key (none: every caller), DELETE detaches it."""
        principal = parse_qs(query).get("principal", [EVERY_CALLER])[0]
        if method == "PUT":
            try:
                denials.attach(json.loads(body or b"null") or {}, principal)
            except ValueError as exc:
                return 400, json.dumps({"error": f"not a policy document: {exc}"}).encode()
            except ValidationError as exc:
                return 400, json.dumps({"error": str(exc)}).encode()
        elif method == "DELETE":
            denials.attach(None, principal)
        elif method != "GET":
            return 405, b'{"error": "use GET, PUT ?principal=KEY with a policy document, or DELETE"}'
        return 200, json.dumps({"policies": denials.attached()}).encode()
