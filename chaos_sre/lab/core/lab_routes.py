"""The lab's own HTTP face on the endpoint, under ``/__lab/``.

``/__lab/timeline`` (GET, DELETE to reset) and ``/__lab/status`` expose the
lab's ground truth; ``/__lab/api-calls`` lists callers' API calls with their
time; ``/__lab/mutations`` their mutating calls with the resources each named
(:mod:`chaos_sre.lab.core.mutations`); ``/__lab/iam/denied`` (GET, PUT ``?actions=a,b``, DELETE) sets the API
actions the lab denies and ``/__lab/iam/policy`` (GET, PUT with a policy document as the body,
DELETE) the policy a caller holds, ``/__lab/iam/requests`` (GET) the IAM requests evaluated
against it (:mod:`chaos_sre.lab.core.access_denied`);
``/__lab/ecs-metadata`` answers as the ECS task metadata endpoint (version 4) of a container
does, for the lab's runner (its network interface is in subnet ``runner-us-east-1c``): the lab
exports it as ``ECS_CONTAINER_METADATA_URI_V4``, as ECS does in a Fargate task. Any other
``/__lab/`` path answers 404.
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.access_denied import EVERY_CALLER, AccessDenials, parse_actions
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.core.topology import RUNNER_ADDRESS, RUNNER_CIDR, RUNNER_METADATA_PATH, RUNNER_ZONE

LAB_PREFIX = "/__lab/"
RUNNER_CONTAINER = {
    "Name": "chaos-sre-runner",
    "Labels": {"com.amazonaws.ecs.container-name": "chaos-sre-runner"},
    "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [RUNNER_ADDRESS],
                  "IPv4SubnetCIDRBlock": RUNNER_CIDR}],
}
"""The runner's container metadata, shaped as ECS answers it (only the fields the lab needs)."""


class LabApi:
    """Answers ``/__lab/...`` requests."""

    def __init__(self, *, timeline: Timeline, status: Callable[[], dict[str, Any]], info: dict[str, Any],
                 denials: AccessDenials | None = None,
                 api_calls: Callable[[], list[tuple[float, str]]] | None = None,
                 mutations: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        self.timeline = timeline
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
        if route == RUNNER_METADATA_PATH and method == "GET":
            return 200, json.dumps(RUNNER_CONTAINER).encode()
        if route == f"{RUNNER_METADATA_PATH}/task" and method == "GET":
            return 200, json.dumps({"AvailabilityZone": RUNNER_ZONE,
                                    "Containers": [RUNNER_CONTAINER]}).encode()
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
