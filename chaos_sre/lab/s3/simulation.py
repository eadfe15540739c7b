"""The web tier's uploads to and asset reads from bucket ``uploads``, as S3 answers them: each
PutObject and GetObject by role ``web-app`` is authorised by the role's own policies and the
bucket policy (:mod:`chaos_sre.lab.s3.bucket_policy`: an explicit deny wins) and held to the
prefix's request rate (:mod:`chaos_sre.lab.s3.request_rates`); moto stores the objects. An upload
S3 refuses may be queued by the application (the profile's choice) and is written again on a
later tick, once S3 takes it. ``lab status`` counts each bucket's uploads and reads: written,
refused (access denied, slow down), queued and written late.

Each change of a bucket policy that takes an action away from the application's role is a fault
on the lab's timeline (``s3-bucket-access-denied``, with the actions); giving them back is
``s3-bucket-access-restored``."""

import functools
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, cast

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Request, Resource, allows, validate
from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.s3.bucket_policy import allowed, bucket_statements
from chaos_sre.lab.s3.replication import Replication
from chaos_sre.lab.s3.request_rates import PrefixRates
from chaos_sre.lab.s3.seed import APP_ROLE

TICK_ORDER = 65
APP_PRINCIPAL = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{APP_ROLE}/web"
"""The web tier's instances call S3 as a session of role ``web-app`` (their instance profile)."""
ACCESS_DENIED = "AccessDenied"
SLOW_DOWN = "SlowDown"
NO_SUCH_KEY = "NoSuchKey"
APP_ACTIONS = {"s3:PutObject": "incoming/probe.bin", "s3:GetObject": "assets/logo.svg"}
"""What the application does with its bucket, and a key it does it to (the timeline's view of its
access)."""
PARTITION = "aws"
"""moto keeps S3 per partition, IAM in its global region."""


@functools.lru_cache(maxsize=8)
def _bucket_statements(policy: str) -> list[dict[str, Any]]:
    """A bucket policy's statements, parsed once per text (every upload reads them)."""
    return bucket_statements(policy)


@functools.lru_cache(maxsize=8)
def _identity_statements(documents: tuple[str, ...]) -> list[dict[str, Any]]:
    """The statements of a role's inline policies, parsed once per set of documents."""
    return [s for document in documents for s in validate(json.loads(document))]


def s3_backend() -> Any:
    return moto_backend("s3", region=PARTITION)


RECENT_UPLOADS = 2000
"""How many of its latest uploads the application remembers (for ``/uploads/recent``)."""


@dataclass
class Storage:
    """The buckets the application writes, its uploads waiting to be written again, and their
    replication (:mod:`chaos_sre.lab.s3.replication`)."""

    context: SimulationContext
    replication: Replication
    rates: PrefixRates = field(default_factory=PrefixRates)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    _queued: list[tuple[str, str]] = field(default_factory=list)
    _recent: deque[tuple[float, str, str]] = field(default_factory=lambda: deque(maxlen=RECENT_UPLOADS))
    """(monotonic wall seconds, bucket, key) of the application's latest uploads."""
    _next_retry: float = 0.0
    """When (monotonic wall seconds) the application tries its queue again: once an AWS second."""
    _access: dict[str, frozenset[str]] = field(default_factory=dict)
    """What the application's role may do with each bucket (:data:`APP_ACTIONS`), as of its
    policy's last change."""
    _lock: threading.RLock = field(default_factory=threading.RLock)
    """The application's uploads come from the endpoint's threads, outside the lab lock."""

    def upload(self, bucket: str, key: str, body: bytes) -> str | None:
        """PutObject by the application: None when S3 stored it, else the error code S3 answers."""
        with self._lock:
            refused = self._refusal("s3:PutObject", bucket, key)
            counts = self.counts.setdefault(bucket, Counter())
            if refused is not None:
                counts["access_denied" if refused == ACCESS_DENIED else "slow_down"] += 1
                return refused
            s3_backend().put_object(bucket, key, body)
            counts["uploads"] += 1
            self._recent.append((time.monotonic(), bucket, key))
            return None

    def read(self, bucket: str, key: str) -> str | None:
        """GetObject by the application: None when S3 answered the object, else its error code."""
        with self._lock:
            refused = self._refusal("s3:GetObject", bucket, key)
            counts = self.counts.setdefault(bucket, Counter())
            if refused is None and s3_backend().get_bucket(bucket).keys.get(key) is None:
                refused = NO_SUCH_KEY
            counts["reads" if refused is None else "read_refused"] += 1
            return refused

    def recent_upload(self, bucket: str, older_than: float) -> str | None:
        """The key of the application's newest upload to ``bucket`` written at least
        ``older_than`` AWS seconds ago (None: none yet)."""
        cutoff = time.monotonic() - self.context.scaled(older_than)
        with self._lock:
            return next((key for at, written_to, key in reversed(self._recent)
                         if written_to == bucket and at <= cutoff), None)

    def policy_changed(self, bucket: str) -> None:
        """Record on the timeline what a new bucket policy took from the application, or gave back."""
        with self._lock:
            before = self._access.get(bucket, frozenset(APP_ACTIONS))
            now = frozenset(a for a, key in APP_ACTIONS.items() if self._authorised(a, bucket, key))
            self._access[bucket] = now
        if before - now:
            self.context.timeline.event("s3-bucket-access-denied", bucket, actions=sorted(before - now))
        if now - before:
            self.context.timeline.event("s3-bucket-access-restored", bucket, actions=sorted(now - before))

    def queue(self, bucket: str, key: str) -> None:
        """The application keeps a refused upload to write it again later."""
        with self._lock:
            self._queued.append((bucket, key))
            self.counts.setdefault(bucket, Counter())["queued"] += 1

    def tick(self, now: float) -> None:
        """Replicate what is due; once an AWS second, write the queued uploads in order until S3
        refuses one."""
        self.replication.tick(now)
        with self._lock:
            if not self._queued or now < self._next_retry:
                return
            self._next_retry = now + self.context.scaled(1.0)
            while self._queued:
                bucket, key = self._queued[0]
                if self.upload(bucket, key, b"queued upload") is not None:
                    return
                self._queued.pop(0)
                self.counts[bucket]["written_late"] += 1

    def _authorised(self, action: str, bucket: str, key: str) -> bool:
        request = Request(action, REGION, (Resource(f"arn:aws:s3:::{bucket}/{key}"),))
        policy = s3_backend().get_bucket(bucket).policy
        statements = _bucket_statements(policy.decode() if isinstance(policy, bytes) else str(policy)) \
            if policy else []
        role = moto_backend("iam", region="global").get_role(APP_ROLE)
        identity = _identity_statements(tuple(role.policies.values()))
        return allowed(statements, APP_PRINCIPAL, request, allows(identity, request))

    def _refusal(self, action: str, bucket: str, key: str) -> str | None:
        if not self._authorised(action, bucket, key):
            return ACCESS_DENIED
        method = "PUT" if action == "s3:PutObject" else "GET"
        if not self.rates.admit(bucket, key, method, time.monotonic() / self.context.time_scale):
            return SLOW_DOWN
        return None

    def status(self) -> dict[str, Any]:
        backend = s3_backend()
        return {"s3_buckets": {
            name: {"policy": bucket.policy is not None, **dict(self.counts.get(name, Counter()))}
            for name, bucket in sorted(backend.buckets.items())},
            "s3_replication": self.replication.counts()}


def lab_storage() -> Storage:
    """This lab's S3 (for its patches)."""
    return cast(Storage, cast(Any, hooks()).service("s3"))


def create(context: SimulationContext) -> Storage:
    """S3's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return Storage(context, Replication(context))
