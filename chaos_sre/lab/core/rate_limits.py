"""Per-account API rate limits: a read call past its bucket is throttled, as AWS throttles it.

AWS limits the API calls of an account per Region, and every caller of the account draws on the
same limits - deployment tools, dashboards, other runs. EC2 gives each non-mutating action its
own bucket of 100 tokens, refilled at 20 a second; a call finding the bucket empty fails with
``RequestLimitExceeded`` and other actions are not affected ("Request throttling for the Amazon
EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). The other
services do not publish a figure for each read action; the lab gives theirs (``Describe*``,
``List*``, ``Get*``) the same bucket, a lab assumption docs/lab.md states. Mutating calls are not
limited here.

Buckets refill per AWS second: at time scale 0.1 a bucket refills ten times as fast in wall
time, so a run sees the limit its cadence would meet on AWS. A throttled call is answered with
its service's throttling error (:func:`~chaos_sre.lab.core.api_faults.error_response`), never
reaches moto, and is counted in ``lab status`` (``throttled_calls``, by IAM action). The lab's own
calls are not limited.
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chaos_sre.lab.core.api_faults import THROTTLE, error_response
from chaos_sre.lab.core.mutations import is_mutation
from chaos_sre.lab.core.wsgi import named, signing_region

BUCKET_TOKENS = 100
"""A read action's bucket: how many calls in a burst (EC2's non-mutating actions)."""
REFILL_PER_SECOND = 20.0
"""Tokens added to a bucket per AWS second (EC2's non-mutating actions)."""
THROTTLED_MESSAGE = "Request limit exceeded."


@dataclass
class Bucket:
    """One action's tokens, as of ``at`` (monotonic seconds)."""

    tokens: float
    at: float

    def take(self, now: float, refill_per_wall_second: float) -> bool:
        """Refill up to now, then take a token if there is one."""
        self.tokens = min(BUCKET_TOKENS, self.tokens + (now - self.at) * refill_per_wall_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class RateLimits:
    """WSGI middleware: throttle a caller's read call whose action's bucket is empty."""

    def __init__(self, app: Callable[..., Iterable[bytes]], time_scale: float) -> None:
        self._app = app
        self._refill = REFILL_PER_SECOND / time_scale
        self._buckets: dict[str, Bucket] = {}
        """``REGION ACTION`` -> its bucket: AWS limits an account per Region."""
        self._lock = threading.Lock()
        self._throttled: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = named(environ)
        if request is None or is_mutation(request.operation):
            return self._app(environ, start_response)
        action, now = request.iam_action, time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(f"{signing_region(environ)} {action}",
                                              Bucket(BUCKET_TOKENS, now))
            if bucket.take(now, self._refill):
                allowed = True
            else:
                allowed = False
                self._throttled[action] = self._throttled.get(action, 0) + 1
        if allowed:
            return self._app(environ, start_response)
        status, headers, body = error_response(request.protocol, THROTTLE, THROTTLED_MESSAGE)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def throttled(self) -> dict[str, int]:
        """Calls throttled so far, by IAM action (``ec2:DescribeInstances``), every Region's."""
        with self._lock:
            return dict(sorted(self._throttled.items()))
