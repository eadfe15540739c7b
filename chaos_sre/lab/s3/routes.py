"""The web tier answers ``/upload`` by writing the request's upload to bucket ``uploads``
(:data:`~chaos_sre.lab.web.layout.S3_ROUTES`) as role ``web-app``. When S3 refuses it (403
AccessDenied, 503 SlowDown), the resilient application keeps it and writes it again later
(200, ``X-Lab-Fallback: s3``, a good request); the fragile one loses it (its error passed on)."""

import uuid
from collections.abc import Callable

from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.core.timeline import DEGRADED
from chaos_sre.lab.s3.simulation import ACCESS_DENIED, Storage
from chaos_sre.lab.web.answers import Failure, Fallback, Outcome, Targets, routed
from chaos_sre.lab.web.layout import S3_ROUTES

ROUTE_ORDER = 45
CAUSE_QUEUED = DEGRADED + "upload-queued"
"""S3 refused the upload; the application queued it (a good request)."""
FAILURES = {ACCESS_DENIED: (500, "500-upload-access-denied")}
"""What the fragile application answers per S3 error (others: 503, ``503-upload-slow-down``)."""


class Uploads:
    """The web tier's writes of each upload to its bucket."""

    def __init__(self, upload: Callable[[str, str, bytes], str | None],
                 queue: Callable[[str, str], None], queue_refused: bool) -> None:
        self.upload = upload
        self.queue = queue
        self.queue_refused = queue_refused

    async def before_serving(self, path: str, targets: Targets) -> Outcome:
        bucket = routed(S3_ROUTES, path)
        if bucket is None:
            return None
        key = f"incoming/{uuid.uuid4().hex}.bin"
        refused = self.upload(bucket, key, b"upload")
        if refused is None:
            return None
        if self.queue_refused:
            self.queue(bucket, key)
            return Fallback("s3", CAUSE_QUEUED)
        status, cause = FAILURES.get(refused, (503, "503-upload-slow-down"))
        return Failure(status, f'{{"error": "{refused}"}}'.encode(), cause)


def create(context: SimulationContext, simulation: Storage) -> Uploads:
    """The web tier's uploads, against the S3 simulation."""
    return Uploads(simulation.upload, simulation.queue,
                   context.profile.part("s3").queue_refused_uploads)
