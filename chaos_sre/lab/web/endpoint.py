"""The lab's load balancer endpoint (``CHAOS_SRE_TARGET_URL``), served by aiohttp.web.

It plays the ALB in front of the web tier. Each request first reaches one of the ALB's
nodes, round-robin over those DNS lists (:mod:`chaos_sre.lab.elbv2.nodes`): a node whose
subnet's network ACL keeps clients out answers nothing - the client waits until it gives
up (the lab drops the connection after the ALB's 60 s idle timeout). A node that answers
sends the request round-robin to the
targets the simulated load balancer considers healthy (all registered targets
when none is: ALB fail-open), and gets what a real ALB would return from that
target:

* target serving            -> 200 after the base latency
* target terminated/stopped -> 502 (the connection is refused)
* target still booting      -> 502
* target's subnet cut off   -> no answer until the client gives up; after the
  ALB's 10 s target connect timeout, 504
* no registered target      -> 503
* path under ``/api/``: routed to ECS service ``api``'s target group (its
  tasks' IPs) with the same rules - 503 once the service has no registered task

Before a serving target answers, the application calls what its path needs: each
lab service's ``routes`` module (:mod:`chaos_sre.lab.web.answers`) - ECS (a web
page calls ``api``), RDS (the database writer of ``/checkout`` and ``/account``),
DynamoDB (the table of ``/session`` and ``/cart``) - may fail the request, make it
wait, or have it served as a fallback.

``/__lab/...`` is the lab's own face (:mod:`chaos_sre.lab.core.lab_routes`): the ground
truth, the status, callers' API calls and the denied API actions; and
``/__lab/adversity`` (:mod:`chaos_sre.lab.web.adversity`) makes the load balancer
fail, hang or slow down a share of requests on demand, before any of the above.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chaos_sre.lab.core.lab_routes import LAB_PREFIX, LabApi
from chaos_sre.lab.core.services import service_modules
from chaos_sre.lab.core.timeline import OK, Timeline
from chaos_sre.lab.elbv2.nodes import Node
from chaos_sre.lab.elbv2.settings import TIMINGS
from chaos_sre.lab.elbv2.simulation import RoutingTable
from chaos_sre.lab.web.adversity import ALB_IDLE_TIMEOUT_SECONDS, Adversity
from chaos_sre.lab.web.answers import BOOTING, DEAD, SERVING, UNREACHABLE, Dependency, Failure, Fallback
from chaos_sre.lab.web.layout import API_ROUTE, ECS_SERVICE

WEB_TARGET_GROUP = "web"
API_TARGET_GROUP = ECS_SERVICE
CAUSE_DEAD = "502-target-down"
CAUSE_BOOTING = "502-target-booting"
CAUSE_UNREACHABLE = "timeout-target-unreachable"
CAUSE_NO_TARGETS = "503-no-targets"
CAUSE_NODE_CUT_OFF = "timeout-load-balancer-node-cut-off"
LOAD_BALANCER_NAME = "web"
"""The Application Load Balancer the endpoint plays."""
NO_ANSWER = None
"""What :meth:`LoadBalancer.answer` gives for a request no one answers: the connection is dropped."""
SHUTDOWN_SECONDS = 0.5
"""How long stopping the lab waits for requests in flight (hung ones are cut off)."""
IDLE_TIMEOUT_SECONDS = 60.0
"""An ALB closes a client connection with no data sent or received for its connection idle
timeout, 60 s by default (Application Load Balancer guide, "Edit attributes": Connection idle
timeout); aiohttp's own default is 75 s. Wall seconds: HTTP is not played at the time scale."""


def dependencies(context: Any, service: Callable[[str], Any]) -> list[Dependency]:
    """What the application calls per request: every lab service's ``routes``, in ``ROUTE_ORDER``."""
    return [module.create(context, service(name))
            for name, module in service_modules("routes", order="ROUTE_ORDER")]


class LoadBalancer:
    """Routes requests over the web tier's routing tables and records their outcomes."""

    def __init__(self, *, routes: Callable[[str], RoutingTable], nodes: Callable[[], tuple[Node, ...]],
                 timeline: Timeline, calls: list[Dependency]) -> None:
        self._routes = routes
        self._nodes = nodes
        self._node_counter = itertools.count()
        self.timeline = timeline
        self.calls = calls
        self.adversity = Adversity(timeline.first_fault_since)
        self._counters: dict[str, itertools.count[int]] = {}

    @staticmethod
    def is_api(path: str) -> bool:
        """Whether the load balancer forwards ``path`` to service ``api`` (``/api/*``)."""
        return path.startswith(API_ROUTE + "/")

    def target_group_for(self, path: str) -> str:
        """The target group serving ``path``: ``api`` for ``/api/*``, else ``web``."""
        return API_TARGET_GROUP if self.is_api(path) else WEB_TARGET_GROUP

    def pick(self, path: str) -> tuple[str, Any]:
        """Choose a target for ``path``; returns (condition, target or None)."""
        group = self.target_group_for(path)
        table = self._routes(group)
        if not table.targets:
            return "none", None
        counter = self._counters.setdefault(group, itertools.count())
        target = table.targets[next(counter) % len(table.targets)]
        return target.condition, target

    def node(self) -> Node | None:
        """The node the next client connects to: round-robin over the nodes DNS lists (None: the
        load balancer has none, as before the lab's first tick)."""
        nodes = self._nodes()
        return nodes[next(self._node_counter) % len(nodes)] if nodes else None

    async def answer(self, path: str) -> web.Response | None:
        """What the load balancer (and the application behind it) answers for ``path``;
        :data:`NO_ANSWER` when the client's node is cut off. The timeline counts the request at
        its arrival, as the SLI counts a request when it is made: one the application fails
        after its retries is not counted later by their backoff."""
        arrived = self.timeline.now()
        node = self.node()
        if node is not None and not node.answers:
            self.timeline.request(CAUSE_NODE_CUT_OFF, arrived)
            await asyncio.sleep(ALB_IDLE_TIMEOUT_SECONDS)
            return NO_ANSWER
        rule = self.adversity.effect()
        if rule is not None and rule.effect == "error":
            return self._fail(rule.status, b'{"error": "lab adversity"}', f"adversity-{rule.status}", arrived)
        if rule is not None and rule.effect == "hang":
            self.timeline.request("adversity-hang", arrived)
            await asyncio.sleep(ALB_IDLE_TIMEOUT_SECONDS)
            return _json(504, b'{"error": "504 Gateway Time-out"}')
        if rule is not None:
            await asyncio.sleep(rule.delay)
        condition, target = self.pick(path)
        if condition == SERVING:
            for call in self.calls:
                outcome = await call.before_serving(path, self)
                if isinstance(outcome, Failure):
                    return self._fail(outcome.status, outcome.body, outcome.cause, arrived)
                if isinstance(outcome, Fallback):
                    return await self._serve(target, arrived, outcome)
            return await self._serve(target, arrived)
        if condition in (DEAD, BOOTING):
            return self._fail(502, b'{"error": "502 Bad Gateway"}',
                              CAUSE_DEAD if condition == DEAD else CAUSE_BOOTING, arrived)
        if condition == UNREACHABLE:
            self.timeline.request(CAUSE_UNREACHABLE, arrived)
            await asyncio.sleep(TIMINGS.alb_target_connect_timeout_seconds)
            return _json(504, b'{"error": "504 Gateway Time-out"}')
        return self._fail(503, b'{"error": "503 no registered targets"}', CAUSE_NO_TARGETS, arrived)

    def _fail(self, status: int, body: bytes, cause: str, arrived: float) -> web.Response:
        self.timeline.request(cause, arrived)
        return _json(status, body)

    async def _serve(self, target: Any, arrived: float, fallback: Fallback | None = None) -> web.Response:
        self.timeline.request(fallback.cause if fallback else OK, arrived)
        body = (f'{{"target": "{target.instance_id}", '
                f'"availability_zone": "{target.availability_zone}"'
                + (f', "fallback": "{fallback.without}"}}' if fallback else "}")).encode()
        headers = {"X-Lab-Target": target.instance_id, "X-Lab-AZ": target.availability_zone}
        if fallback:
            headers["X-Lab-Fallback"] = fallback.without
        await asyncio.sleep(TIMINGS.base_latency_seconds)
        return _json(200, body, headers)


BALANCER = web.AppKey("balancer", LoadBalancer)


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def _balanced(request: web.Request) -> web.Response:
    response = await request.app[BALANCER].answer(request.raw_path)
    if response is NO_ANSWER:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=504)
    return response


async def _adversity(request: web.Request) -> web.Response:
    status, body = request.app[BALANCER].adversity.answer(request.method, request.query_string)
    return web.Response(status=status, body=body, content_type="application/json")


def endpoint(context: Any, service: Callable[[str], Any], timeline: Timeline,
             lab: LabApi) -> Callable[[str, int], Awaitable[web.AppRunner]]:
    """The sample application's endpoint (the web tier's plugin object names this): its load
    balancer over the web tier's nodes and routing, calling what every service's ``routes``
    says; returns what starts serving it on a host and port."""
    load_balancing = service("elbv2")
    balancer = LoadBalancer(routes=load_balancing.routing_table,
                            nodes=lambda: load_balancing.load_balancer_nodes(LOAD_BALANCER_NAME),
                            timeline=timeline, calls=dependencies(context, service))
    app = application(balancer, lab)
    return lambda host, port: serve(app, host, port)


def application(balancer: LoadBalancer, lab: LabApi) -> web.Application:
    """The endpoint's routes: ``/__lab/...`` for the lab, everything else to the load balancer."""
    app = web.Application()
    app[BALANCER] = balancer
    app.router.add_route("*", LAB_PREFIX + "adversity", _adversity)
    app.router.add_route("*", LAB_PREFIX + "{rest:.*}", lab.handle)
    app.router.add_route("*", "/{path:.*}", _balanced)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one); stop with ``cleanup()``.

    A client that gives up cancels its request (``handler_cancellation``), as a
    closed connection does on an ALB; a client connection idle for IDLE_TIMEOUT_SECONDS is
    closed, as an ALB closes it; no access log is written.
    """
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                           shutdown_timeout=SHUTDOWN_SECONDS, keepalive_timeout=IDLE_TIMEOUT_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port ``runner`` listens on."""
    return int(runner.addresses[0][1])
