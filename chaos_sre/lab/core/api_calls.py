"""Which AWS API actions callers made against the lab, named as IAM names them.

`/__lab/status` shows them under ``api_calls`` (``{"ec2:DescribeInstances": 12, ...}``):
after a game day against the lab, that is the list of permissions the runner
needs in a real account; ``/__lab/api-calls`` lists each call with its time
(``[[epoch seconds, "ec2:DescribeInstances"], ...]``), so the calls of one run
among several can be told apart. The lab's own calls (its internal key) are left out.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from chaos_sre.lab.core import mutations
from chaos_sre.lab.core.wsgi import ApiRequest, named


class ApiCallLog:
    """WSGI middleware recording callers' API actions (IAM ``service:Action`` names) and when."""

    MAX_CALLS = 500_000
    """The newest calls kept with their time (a day of a busy game day)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._calls: deque[tuple[float, str]] = deque(maxlen=self.MAX_CALLS)
        self._mutations: deque[dict[str, Any]] = deque(maxlen=self.MAX_CALLS)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = named(environ)
        if request is not None:
            name, now = request.iam_action, time.time()
            mutation = self._mutation(request, now)
            with self._lock:
                self._counts[name] = self._counts.get(name, 0) + 1
                self._calls.append((now, name))
                if mutation is not None:
                    self._mutations.append(mutation)
        return self._app(environ, start_response)

    def _mutation(self, request: ApiRequest, at: float) -> dict[str, Any] | None:
        """The ground truth of a mutating call: when, what action, which resources it named."""
        if not mutations.is_mutation(request.operation):
            return None
        name = request.iam_action
        return {"at": at, "action": name,
                "resources": mutations.mutated_resources(name, request.params)}

    def mutations(self) -> list[dict[str, Any]]:
        """Every kept mutating call (chaos_sre.lab.core.mutations), oldest first."""
        with self._lock:
            return list(self._mutations)

    def counts(self) -> dict[str, int]:
        """Calls per IAM action name, sorted by name."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def calls(self) -> list[tuple[float, str]]:
        """Every kept call: (epoch seconds, IAM action name), oldest first."""
        with self._lock:
            return list(self._calls)
