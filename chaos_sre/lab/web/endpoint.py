"""The lab's load balancer endpoint (``CHAOS_SRE_TARGET_URL``).

An asyncio HTTP/1.1 server on 127.0.0.1 that plays the ALB in front of the web
tier. Each request goes round-robin to the targets the simulated load balancer
considers healthy (all registered targets when none is: ALB fail-open), and
gets what a real ALB would return from that target:

* target serving            -> 200 after the base latency
* target terminated/stopped -> 502 (the connection is refused)
* target still booting      -> 502
* target's subnet cut off   -> no answer until the client gives up; after the
  ALB's 10 s target connect timeout, 504
* no registered target      -> 503
* target serving, but the database writer the path needs (``/checkout``:
  Aurora ``orders``, ``/account``: RDS ``accounts``) is unavailable to the
  application -> 500 from the application; behind RDS Proxy the answer
  waits until the proxy reaches the new writer, then 200
* path under ``/api/``: routed to ECS service ``api``'s target group (its
  tasks' IPs) with the same rules - 503 once the service has no registered task
* any other path (a web page): the page also calls service ``api``; when that
  call meets no serving task the page fails (500) or, when the profile's web
  tier degrades gracefully, serves a fallback (200, ``X-Lab-Fallback: api``)
* target serving, the path's DynamoDB table (``/session``: ``sessions``,
  ``/cart``: ``carts``) throttles the application's GetItem or PutItem -> the
  application's SDK retries each call with exponential backoff and full jitter
  (the profile's attempts), then answers 500 if every attempt was throttled

``/__lab/timeline`` (GET, DELETE to reset) and ``/__lab/status`` expose the
lab's ground truth; ``/__lab/api-calls`` lists callers' API calls with their
time; ``/__lab/iam/denied`` (GET, PUT, DELETE) sets the API
actions the lab denies (:mod:`chaos_sre.lab.core.access_denied`). The parser handles
keep-alive and pipelined GET/HEAD/POST requests with Content-Length bodies; it is deliberately small and fast so the
endpoint never limits a measurement.
"""

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.access_denied import AccessDenials, parse_actions
from chaos_sre.lab.core.settings import TIMINGS
from chaos_sre.lab.core.timeline import FALLBACK, OK, Timeline
from chaos_sre.lab.core.topology import API_ROUTE, DATABASE_ROUTES, DYNAMODB_ROUTES, ECS_SERVICE
from chaos_sre.lab.rds.simulation import DatabaseAccess
from chaos_sre.lab.web.dynamics import BOOTING, DEAD, SERVING, UNREACHABLE, RoutingTable

WEB_TARGET_GROUP = "web"
API_TARGET_GROUP = ECS_SERVICE
MAX_HEADER_BYTES = 64 * 1024
_REASONS = {
    200: "OK",
    500: "Internal Server Error",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
CAUSE_DEAD = "502-target-down"
CAUSE_BOOTING = "502-target-booting"
CAUSE_UNREACHABLE = "timeout-target-unreachable"
CAUSE_NO_TARGETS = "503-no-targets"
CAUSE_DATABASE = "500-database-unavailable"
CAUSE_THROTTLED = "500-dynamodb-throttled"
CAUSE_API = "500-api-unavailable"


def _response(status: int, body: bytes, keep_alive: bool, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Content-Type: application/json\r\n"
        f"{extra}"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _routed(routes: dict[str, str], path: str) -> str | None:
    """The resource ``routes`` gives the path prefix of ``path`` (None: no prefix matches)."""
    for prefix, resource in routes.items():
        if path == prefix or path.startswith((prefix + "/", prefix + "?")):
            return resource
    return None


class LoadBalancer:
    """Routes requests over the dynamics' routing tables and records outcomes."""

    def __init__(
        self,
        *,
        routes: Callable[[str], RoutingTable],
        timeline: Timeline,
        status: Callable[[], dict[str, Any]],
        info: dict[str, Any],
        databases: Callable[[str], DatabaseAccess] = lambda name: DatabaseAccess(),
        dynamodb_call: Callable[[str, str, float], str | None] = lambda table, direction, roll: None,
        sdk_max_attempts: int = 1,
        web_fallback: bool = True,
        denials: AccessDenials | None = None,
        api_calls: Callable[[], list[tuple[float, str]]] | None = None,
    ) -> None:
        self._routes = routes
        self._denials = denials
        self._api_calls = api_calls
        self._databases = databases
        self.dynamodb_call = dynamodb_call
        self.sdk_max_attempts = sdk_max_attempts
        self.web_fallback = web_fallback
        self.timeline = timeline
        self._status = status
        self._info = info
        self._counters: dict[str, itertools.count[int]] = {}

    @staticmethod
    def is_api(path: str) -> bool:
        """Whether the load balancer forwards ``path`` to service ``api`` (``/api/*``)."""
        return path.startswith(API_ROUTE + "/")

    def target_group_for(self, path: str) -> str:
        """The target group serving ``path``: ``api`` for ``/api/*``, else ``web``."""
        return API_TARGET_GROUP if self.is_api(path) else WEB_TARGET_GROUP

    def api_answers(self) -> bool:
        """One call from a web page to service ``api``: whether a serving task answers it."""
        condition, _target = self.pick(API_ROUTE + "/")
        return condition == SERVING

    def database_access(self, path: str) -> DatabaseAccess | None:
        """What the application meets for ``path``'s database now (None: no database needed)."""
        database = _routed(DATABASE_ROUTES, path)
        return None if database is None else self._databases(database)

    @staticmethod
    def dynamodb_table(path: str) -> str | None:
        """The DynamoDB table ``path`` reads and writes (None: no table)."""
        return _routed(DYNAMODB_ROUTES, path)

    def lab_response(self, method: str, path: str) -> tuple[int, bytes] | None:
        """Answer a ``/__lab/...`` request, or None when ``path`` is not one."""
        if not path.startswith("/__lab/"):
            return None
        route = path.split("?", 1)[0]
        if route == "/__lab/timeline" and method == "GET":
            return 200, json.dumps(self.timeline.snapshot()).encode()
        if route == "/__lab/timeline" and method == "DELETE":
            self.timeline.reset()
            return 200, b'{"reset": true}'
        if route == "/__lab/status" and method == "GET":
            return 200, json.dumps({**self._info, **self._status()}).encode()
        if route == "/__lab/api-calls" and method == "GET" and self._api_calls is not None:
            return 200, json.dumps(self._api_calls()).encode()
        if route == "/__lab/iam/denied" and self._denials is not None:
            return self._denied_actions(self._denials, method, path.partition("?")[2])
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

    def pick(self, path: str) -> tuple[str, Any]:
        """Choose a target for ``path``; returns (condition, target or None)."""
        group = self.target_group_for(path)
        table = self._routes(group)
        if not table.targets:
            return "none", None
        counter = self._counters.get(group)
        if counter is None:
            counter = self._counters[group] = itertools.count()
        target = table.targets[next(counter) % len(table.targets)]
        return target.condition, target


class _Connection(asyncio.Protocol):
    def __init__(self, balancer: LoadBalancer) -> None:
        self.balancer = balancer
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.busy = False
        self.pending_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending_timer is not None:
            self.pending_timer.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    def _next_request(self) -> None:
        while self.transport is not None and not self.busy:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self._send(400, b'{"error": "header too large"}', keep_alive=False)
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self._send(400, b'{"error": "bad request line"}', keep_alive=False)
                return
            method, path, version = parts
            length = 0
            keep_alive = version == "HTTP/1.1"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    length = int(value.strip() or 0) if value.strip().isdigit() else 0
                elif lowered == "connection":
                    token = value.strip().lower()
                    keep_alive = token == "keep-alive" or (keep_alive and token != "close")
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self._handle(method, path, keep_alive)

    def _send(self, status: int, body: bytes, keep_alive: bool, extra: str = "") -> None:
        self.pending_timer = None
        if self.transport is None:
            return
        self.transport.write(_response(status, body, keep_alive, extra))
        if not keep_alive:
            self.transport.close()
            self.transport = None
            return
        self.busy = False
        if self.buffer:
            self._next_request()

    def _handle(self, method: str, path: str, keep_alive: bool) -> None:
        balancer = self.balancer
        lab = balancer.lab_response(method, path)
        if lab is not None:
            self._send(lab[0], lab[1], keep_alive=keep_alive)
            return
        self.busy = True
        condition, target = balancer.pick(path)
        if condition == SERVING and not balancer.is_api(path) and not balancer.api_answers():
            if not balancer.web_fallback:
                balancer.timeline.request(CAUSE_API)
                self._send(500, b'{"error": "api unavailable"}', keep_alive=keep_alive)
                return
            self._serve(target, TIMINGS.base_latency_seconds, keep_alive, fallback=True)
            return
        if condition == SERVING:
            delay = TIMINGS.base_latency_seconds
            access = balancer.database_access(path)
            now = time.monotonic()
            if access is not None and access.fails_until is not None and now < access.fails_until:
                balancer.timeline.request(CAUSE_DATABASE)
                self._send(500, b'{"error": "database unavailable"}', keep_alive=keep_alive)
                return
            if access is not None and access.waits_until is not None and now < access.waits_until:
                delay += access.waits_until - now
            table = balancer.dynamodb_table(path)
            if table is not None:
                self._call_dynamodb(table, 1, target, keep_alive)
                return
            self._serve(target, delay, keep_alive)
        elif condition in (DEAD, BOOTING):
            balancer.timeline.request(CAUSE_DEAD if condition == DEAD else CAUSE_BOOTING)
            self._send(502, b'{"error": "502 Bad Gateway"}', keep_alive=keep_alive)
        elif condition == UNREACHABLE:
            balancer.timeline.request(CAUSE_UNREACHABLE)
            self.pending_timer = self.loop.call_later(
                TIMINGS.alb_target_connect_timeout_seconds,
                self._send,
                504,
                b'{"error": "504 Gateway Time-out"}',
                keep_alive,
            )
        else:
            balancer.timeline.request(CAUSE_NO_TARGETS)
            self._send(503, b'{"error": "503 no registered targets"}', keep_alive=keep_alive)


    def _serve(self, target: Any, delay: float, keep_alive: bool, fallback: bool = False) -> None:
        self.balancer.timeline.request(FALLBACK if fallback else OK)
        body = (
            f'{{"target": "{target.instance_id}", '
            f'"availability_zone": "{target.availability_zone}"'
            + (', "fallback": "api"}' if fallback else "}")
        ).encode()
        extra = f"X-Lab-Target: {target.instance_id}\r\nX-Lab-AZ: {target.availability_zone}\r\n"
        if fallback:
            extra += "X-Lab-Fallback: api\r\n"
        self.pending_timer = self.loop.call_later(delay, self._send, 200, body, keep_alive, extra)

    def _call_dynamodb(self, table: str, attempt: int, target: Any, keep_alive: bool,
                       direction: str = "read") -> None:
        """The application's GetItem then PutItem; each call retried with backoff when throttled."""
        self.pending_timer = None
        if self.transport is None:
            return
        balancer = self.balancer
        if balancer.dynamodb_call(table, direction, random.random()) is None:
            if direction == "read":
                self._call_dynamodb(table, 1, target, keep_alive, "write")
            else:
                self._serve(target, TIMINGS.base_latency_seconds, keep_alive)
            return
        if attempt < balancer.sdk_max_attempts:
            backoff = random.uniform(0, TIMINGS.dynamodb_sdk_base_backoff_seconds * 2 ** (attempt - 1))
            self.pending_timer = self.loop.call_later(
                backoff, self._call_dynamodb, table, attempt + 1, target, keep_alive, direction)
            return
        balancer.timeline.request(CAUSE_THROTTLED)
        self._send(500, b'{"error": "ProvisionedThroughputExceededException"}', keep_alive=keep_alive)


async def serve(balancer: LoadBalancer, host: str, port: int) -> asyncio.base_events.Server:
    """Start serving ``balancer`` on ``host:port`` (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: _Connection(balancer), host, port, reuse_address=True, backlog=1024
    )
