"""The web tier answers ``/upload`` by writing the request's upload to bucket ``uploads``
(:data:`~chaos_sre.lab.web.layout.S3_ROUTES`) and ``/assets/...`` by reading the path's object
from it (:data:`~chaos_sre.lab.web.layout.S3_ASSET_ROUTES`), as role ``web-app``. When S3 refuses
(403 AccessDenied, 503 SlowDown), the resilient application keeps the upload and writes it again
later, and serves an asset from its cache (200, ``X-Lab-Fallback: s3``, a good request); the
fragile one loses the upload and fails the asset (S3's error passed on as a 5xx). An asset that
is not in the bucket is a 404 on both.

``/uploads/recent`` shows the upload written :data:`RECENT_SECONDS` ago, read from the replica
bucket (:data:`~chaos_sre.lab.web.layout.S3_REPLICA_ROUTES`): when replication is behind and the
replica lacks it, the resilient application reads it from the source bucket (200,
``X-Lab-Fallback: s3-replica``), the fragile one fails (502)."""

import uuid
from collections.abc import Callable

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import DEGRADED
from chaos_sre.lab.s3.seed import BUCKET
from chaos_sre.lab.s3.simulation import ACCESS_DENIED, NO_SUCH_KEY, Storage
from chaos_sre.lab.web.answers import Failure, Fallback, Outcome, Targets, routed
from chaos_sre.lab.web.layout import S3_ASSET_ROUTES, S3_REPLICA_ROUTES, S3_ROUTES

ROUTE_ORDER = 45
CAUSE_QUEUED = DEGRADED + "upload-queued"
"""S3 refused the upload; the application queued it (a good request)."""
CAUSE_CACHED = DEGRADED + "asset-cached"
"""S3 refused the asset's read; the application served its cached copy (a good request)."""
FAILURES = {ACCESS_DENIED: (500, "500-upload-access-denied")}
"""What the fragile application answers per S3 error (others: 503, ``503-upload-slow-down``)."""
CAUSE_REPLICA_BEHIND = DEGRADED + "replica-behind"
"""The replica lacked the upload; the application read it from the source bucket (a good request)."""
CAUSE_REPLICA_MISSING = "502-replica-missing"
RECENT_SECONDS = 15.0
"""AWS seconds between an upload and ``/uploads/recent`` showing it from the replica (the
application's replication allowance: three times the lab's replication time)."""
READ_FAILURES = {ACCESS_DENIED: (500, "500-asset-access-denied"), NO_SUCH_KEY: (404, "404-asset-missing")}
"""What either application answers per S3 error of a read it cannot serve from its cache
(others: 503, ``503-asset-slow-down``)."""


class Uploads:
    """The web tier's writes of each upload to its bucket, and reads of its assets."""

    def __init__(self, upload: Callable[[str, str, bytes], str | None],
                 queue: Callable[[str, str], None], read: Callable[[str, str], str | None],
                 queue_refused: bool,
                 recent: Callable[[str, float], str | None] = lambda bucket, seconds: None) -> None:
        self.upload = upload
        self.queue = queue
        self.read = read
        self.queue_refused = queue_refused
        self.recent = recent

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        bucket = routed(S3_ROUTES, path)
        if bucket is not None:
            return self._upload(bucket)
        replica = routed(S3_REPLICA_ROUTES, path)
        if replica is not None:
            return self._recent(replica)
        bucket = routed(S3_ASSET_ROUTES, path)
        return None if bucket is None else self._asset(bucket, path)

    def _recent(self, replica: str) -> Outcome:
        key = self.recent(BUCKET, RECENT_SECONDS)
        if key is None:
            return None
        refused = self.read(replica, key)
        if refused is None:
            return None
        if refused == NO_SUCH_KEY:
            if self.queue_refused and self.read(BUCKET, key) is None:
                return Fallback("s3-replica", CAUSE_REPLICA_BEHIND)
            return Failure(502, b'{"error": "the replica has no such upload"}', CAUSE_REPLICA_MISSING)
        return self._refused_read(refused)

    def _upload(self, bucket: str) -> Outcome:
        key = f"incoming/{uuid.uuid4().hex}.bin"
        refused = self.upload(bucket, key, b"upload")
        if refused is None:
            return None
        if self.queue_refused:
            self.queue(bucket, key)
            return Fallback("s3", CAUSE_QUEUED)
        status, cause = FAILURES.get(refused, (503, "503-upload-slow-down"))
        return Failure(status, f'{{"error": "{refused}"}}'.encode(), cause)

    def _asset(self, bucket: str, path: str) -> Outcome:
        refused = self.read(bucket, path.split("?", 1)[0].lstrip("/"))
        return None if refused is None else self._refused_read(refused)

    def _refused_read(self, refused: str) -> Outcome:
        if self.queue_refused and refused != NO_SUCH_KEY:
            return Fallback("s3", CAUSE_CACHED)
        status, cause = READ_FAILURES.get(refused, (503, "503-asset-slow-down"))
        return Failure(status, f'{{"error": "{refused}"}}'.encode(), cause)


def create(context: SimulationContext, simulation: Storage) -> Uploads:
    """The web tier's uploads and asset reads, against the S3 simulation."""
    return Uploads(simulation.upload, simulation.queue, simulation.read,
                   context.profile.part("s3").queue_refused_uploads, simulation.recent_upload)
