"""S3's profile part: what the web tier does with an upload S3 refuses."""

from dataclasses import dataclass


@dataclass(frozen=True)
class S3Profile:
    """How the web tier's ``/upload`` copes when S3 refuses its PutObject."""

    queue_refused_uploads: bool
    """The upload is kept and written again later (200, a fallback, queued) - a retry with
    backoff from a durable queue; else it is lost (5xx)."""


PROFILES = {
    "resilient": S3Profile(queue_refused_uploads=True),
    "fragile": S3Profile(queue_refused_uploads=False),
}
