"""moto's AWS API server, run in the lab's own process.

Running moto in-process lets the lab's dynamics work on the very models moto
serves; the APIs moto lacks are answered by the lab's own services just before it
(:mod:`chaos_sre.lab.core.own_apis`). A request passes, in order: its naming, its caller's route
out of the network (:mod:`chaos_sre.lab.core.caller_route`), the call log, the account's rate
limits (:mod:`chaos_sre.lab.core.rate_limits`), the IAM evaluation, the injected faults, then the
lab's own APIs and moto. Every API request holds the lab lock for its whole duration, so a
request never sees the dynamics half-way through a tick and vice versa.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from chaos_sre.lab.core.access_denied import AccessDenials
from chaos_sre.lab.core.api_calls import ApiCallLog
from chaos_sre.lab.core.api_faults import ApiFaultInjector
from chaos_sre.lab.core.caller_route import CallerRoute
from chaos_sre.lab.core.operations import NameRequests
from chaos_sre.lab.core.own_apis import OwnApis
from chaos_sre.lab.core.rate_limits import RateLimits


class _Serialized:
    """WSGI middleware: run the wrapped app under ``lock``, body included."""

    def __init__(self, app: Any, lock: threading.RLock) -> None:
        self._app = app
        self._lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class MotoServer:
    """moto's WSGI application served on ``host:port`` from a daemon thread."""

    def __init__(self, host: str, port: int, lock: threading.RLock, api_fault_rate: float = 0.0,
                 caller_reaches: Callable[[str], bool] | None = None,
                 time_scale: float | None = None) -> None:
        """``caller_reaches``: whether a caller's call leaves its network (none: always);
        ``time_scale``: read calls are rate limited per AWS second at it (none: not limited)."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.faults = ApiFaultInjector(
            _Serialized(OwnApis(DomainDispatcherApplication(create_backend_app)), lock), api_fault_rate)
        self.denials = AccessDenials(self.faults)
        self.limits = RateLimits(self.denials, time_scale) if time_scale else None
        self.calls = ApiCallLog(self.limits or self.denials)
        self.names = NameRequests(CallerRoute(self.calls, caller_reaches) if caller_reaches
                                  else self.calls)
        app = self.names
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lab-moto", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Start answering AWS API requests."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the server and release its port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
