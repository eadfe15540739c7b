"""S3's profile part: what the web tier does with an upload or an asset read S3 refuses."""

from dataclasses import dataclass


@dataclass(frozen=True)
class S3Profile:
    """How the web tier's ``/upload`` and ``/assets`` cope when S3 refuses its PutObject or
    GetObject."""

    queue_refused_uploads: bool
    """The upload is kept and written again later (200, a fallback, queued) - a retry with
    backoff from a durable queue - and an asset is served from the application's cache; else
    the upload is lost and the asset fails (5xx)."""


PROFILES = {
    "resilient": S3Profile(queue_refused_uploads=True),
    "fragile": S3Profile(queue_refused_uploads=False),
}
