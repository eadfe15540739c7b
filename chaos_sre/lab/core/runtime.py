"""One lab, assembled and run in the current process.

The lab is three threads around one lock: moto's API server, the dynamics
ticker, and an asyncio loop serving the load balancer endpoint.

Starting a lab has two steps. :meth:`Lab.prepare` seeds the account through a
private moto server and stops every thread again; :meth:`Lab.start` binds the
lab's ports and starts serving. A prepared lab holds no thread and no socket,
so a process can prepare once and fork a copy per lab
(:mod:`chaos_sre.lab.core.forkserver`).
"""

import asyncio
import errno
import gc
import importlib
import threading
import time
from typing import Any

from chaos_sre.errors import LabError
from chaos_sre.eventloop import new_event_loop
from chaos_sre.lab.core import operations
from chaos_sre.lab.core.dynamics import Dynamics, Publisher
from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.lab_routes import LabApi
from chaos_sre.lab.core.moto_server import MotoServer
from chaos_sre.lab.core.services import botocore_services, lab_services
from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.state import LabState
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.core.topology import seed


def _bind_error(what: str, port: int, exc: OSError) -> LabError:
    if exc.errno == errno.EADDRINUSE:
        return LabError(f"{what} port {port} is already in use (pick another with --{what}-port)")
    return LabError(f"cannot listen on {what} port {port}: {exc.strerror}")


class Lab:
    """A running lab: AWS API, dynamics and load balancer endpoint."""

    def __init__(
        self,
        *,
        profile: Profile,
        time_scale: float,
        host: str = "127.0.0.1",
        api_port: int = 0,
        endpoint_port: int = 0,
    ) -> None:
        self.profile = profile
        self.time_scale = time_scale
        self.host = host
        self._api_port = api_port
        self._endpoint_port = endpoint_port
        self.lock = threading.RLock()
        self.timeline = Timeline(fault_kinds=frozenset(
            kind for service in lab_services() for kind in service.fault_kinds))
        self.dynamics = Dynamics(
            profile=profile, time_scale=time_scale, timeline=self.timeline, lock=self.lock
        )
        self._moto: MotoServer | None = None
        self._publishers: list[Publisher] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._loop_thread: threading.Thread | None = None
        self.started_at = 0.0
        self.prepared = False

    def serve_on(self, *, host: str, api_port: int, endpoint_port: int, api_fault_rate: float) -> None:
        """Where :meth:`start` will listen, and the share of API calls it fails (set before it)."""
        self.host, self._api_port, self._endpoint_port = host, api_port, endpoint_port
        self.profile = self.profile.with_api_fault_rate(api_fault_rate)

    def prepare(self) -> None:
        """Seed the topology through a private moto server, then stop every thread it used.

        The account is created over the AWS API exactly as in a running lab (the
        dynamics tick while it is seeded); afterwards the process holds no lab
        thread and no open connection, so it may be forked safely.
        """
        seeding = MotoServer("127.0.0.1", 0, self.lock)
        seeding.start()
        seeding_url = f"http://127.0.0.1:{seeding.port}"
        self.dynamics.start()
        try:
            seed(seeding_url, self.profile)
            for name in botocore_services():  # the models, read once, before the lab forks
                internal_session().client(name, endpoint_url=seeding_url)
            operations.preload(botocore_services())
            self.dynamics.tick()
            self.dynamics.warm = False
            self.dynamics.tick()
        finally:
            self.dynamics.stop()
            seeding.stop()
        gc.collect()  # closes the seeding clients' keep-alive connections, ending their handlers
        deadline = time.monotonic() + 5
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.prepared = True

    def start(self) -> None:
        """Seed the topology unless :meth:`prepare` did, bind both ports and start serving."""
        if not self.prepared:
            self.prepare()
        self.timeline.mark_start()
        self.dynamics.resume()
        try:
            self._moto = MotoServer(self.host, self._api_port, self.lock,
                                    api_fault_rate=self.profile.api_fault_rate,
                                    caller_reaches=self.dynamics.caller_reaches,
                                    time_scale=self.time_scale)
        except OSError as exc:
            raise _bind_error("api", self._api_port, exc) from exc
        self._start_endpoint()
        self._moto.start()
        self.dynamics.start()
        api_url = f"http://{self.host}:{self._moto.port}"
        self.dynamics.context.api_url = api_url
        self.dynamics.context.attach_policy = self._moto.denials.attach
        self._publishers = self.dynamics.publishers(api_url)
        for publisher in self._publishers:
            publisher.start()
        self.started_at = time.time()

    def _start_endpoint(self) -> None:
        lab_api = LabApi(
            timeline=self.timeline,
            status=self._status,
            denials=self._moto.denials if self._moto is not None else None,
            api_calls=self._moto.calls.calls if self._moto is not None else None,
            mutations=self._moto.calls.mutations if self._moto is not None else None,
            info={"profile": self.profile.name, "time_scale": self.time_scale,
                  "options": list(self.profile.options())},
            routes={path: answer for s in lab_services() for path, answer in s.endpoint_routes.items()},
        )
        front = next(s for s in lab_services() if s.endpoint)
        module, _, name = front.endpoint.partition(":")
        start = getattr(importlib.import_module(module), name)(
            self.dynamics.context, self.dynamics.service, self.timeline, lab_api)
        loop = new_event_loop()
        try:
            self._server = loop.run_until_complete(start(self.host, self._endpoint_port))
        except OSError as exc:
            loop.close()
            if self._moto is not None:
                self._moto.stop()
            raise _bind_error("endpoint", self._endpoint_port, exc) from exc
        self._loop = loop
        self._loop_thread = threading.Thread(target=loop.run_forever, name="lab-endpoint", daemon=True)
        self._loop_thread.start()

    def _status(self) -> dict[str, Any]:
        """What `/__lab/status` shows: the dynamics' summary, injected API faults, callers' API calls,
        the requests refused because they named no AWS operation and the calls the account's
        rate limits throttled."""
        faults = self._moto.faults.status() if self._moto is not None else {}
        calls = self._moto.calls.counts() if self._moto is not None else {}
        denied = self._moto.denials.denied() if self._moto is not None else []
        policies = sorted(self._moto.denials.attached()) if self._moto is not None else []
        unnamed = dict(self._moto.names.refused) if self._moto is not None else {}
        limits = self._moto.limits if self._moto is not None else None
        return {**self.dynamics.status(), "api_faults": faults, "api_calls": calls,
                "denied_actions": denied, "iam_policies": policies, "unnamed_requests": unnamed,
                "throttled_calls": limits.throttled() if limits is not None else {}}

    @property
    def endpoint_port(self) -> int:
        return int(self._server.addresses[0][1])

    @property
    def api_port(self) -> int:
        assert self._moto is not None
        return self._moto.port

    def state(self, pid: int, log_path: str | None = None) -> LabState:
        """The state-file record for this lab running as ``pid``."""
        return LabState(
            pid=pid,
            host=self.host,
            api_port=self.api_port,
            endpoint_port=self.endpoint_port,
            profile=self.profile.name,
            time_scale=self.time_scale,
            started_at=self.started_at,
            log_path=log_path,
        )

    def stop(self) -> None:
        """Stop every thread and release both ports."""
        for publisher in self._publishers:
            publisher.stop()
        self._publishers = []
        self.dynamics.stop()
        if self._loop is not None:
            loop, runner = self._loop, self._server
            try:
                asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=5)
            except TimeoutError:
                pass  # the loop stops below either way; its thread is a daemon
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=5)
            loop.close()
            self._loop = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
