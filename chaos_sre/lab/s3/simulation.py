"""The web tier's uploads to bucket ``uploads``, as S3 answers them: each PutObject by role
``web-app`` is authorised by the role's own policies and the bucket policy
(:mod:`chaos_sre.lab.s3.bucket_policy`: an explicit deny wins) and held to the prefix's request
rate (:mod:`chaos_sre.lab.s3.request_rates`); moto stores the objects. An upload S3 refuses may
be queued by the application (the profile's choice) and is written again on a later tick, once
S3 takes it. ``lab status`` counts each bucket's uploads: written, refused (access denied, slow
down), queued and written late."""

import functools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Request, Resource, allows, validate
from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.core.settings import ACCOUNT_ID, REGION
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.s3.bucket_policy import allowed, bucket_statements
from chaos_sre.lab.s3.request_rates import PrefixRates
from chaos_sre.lab.s3.seed import APP_ROLE

TICK_ORDER = 65
APP_PRINCIPAL = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{APP_ROLE}/web"
"""The web tier's instances call S3 as a session of role ``web-app`` (their instance profile)."""
ACCESS_DENIED = "AccessDenied"
SLOW_DOWN = "SlowDown"
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


@dataclass
class Storage:
    """The buckets the application writes, and its uploads waiting to be written again."""

    context: SimulationContext
    rates: PrefixRates = field(default_factory=PrefixRates)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    _queued: list[tuple[str, str]] = field(default_factory=list)
    _next_retry: float = 0.0
    """When (monotonic wall seconds) the application tries its queue again: once an AWS second."""
    _lock: threading.RLock = field(default_factory=threading.RLock)
    """The application's uploads come from the endpoint's threads, outside the lab lock."""

    def upload(self, bucket: str, key: str, body: bytes) -> str | None:
        """PutObject by the application: None when S3 stored it, else the error code S3 answers."""
        with self._lock:
            refused = self._refusal(bucket, key)
            counts = self.counts.setdefault(bucket, Counter())
            if refused is not None:
                counts["access_denied" if refused == ACCESS_DENIED else "slow_down"] += 1
                return refused
            s3_backend().put_object(bucket, key, body)
            counts["uploads"] += 1
            return None

    def queue(self, bucket: str, key: str) -> None:
        """The application keeps a refused upload to write it again later."""
        with self._lock:
            self._queued.append((bucket, key))
            self.counts.setdefault(bucket, Counter())["queued"] += 1

    def tick(self, now: float) -> None:
        """Once an AWS second, write the queued uploads in order until S3 refuses one."""
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

    def _refusal(self, bucket: str, key: str) -> str | None:
        request = Request("s3:PutObject", REGION, (Resource(f"arn:aws:s3:::{bucket}/{key}"),))
        policy = s3_backend().get_bucket(bucket).policy
        statements = _bucket_statements(policy.decode() if isinstance(policy, bytes) else str(policy)) \
            if policy else []
        role = moto_backend("iam", region="global").get_role(APP_ROLE)
        identity = _identity_statements(tuple(role.policies.values()))
        if not allowed(statements, APP_PRINCIPAL, request, allows(identity, request)):
            return ACCESS_DENIED
        if not self.rates.admit(bucket, key, "PUT", time.monotonic() / self.context.time_scale):
            return SLOW_DOWN
        return None

    def status(self) -> dict[str, Any]:
        backend = s3_backend()
        return {"s3_buckets": {
            name: {"policy": bucket.policy is not None, **dict(self.counts.get(name, Counter()))}
            for name, bucket in sorted(backend.buckets.items())}}


def lab_storage() -> Storage:
    """This lab's S3 (for its patches)."""
    return cast(Storage, cast(Any, hooks()).service("s3"))


def create(context: SimulationContext) -> Storage:
    """S3's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return Storage(context)
