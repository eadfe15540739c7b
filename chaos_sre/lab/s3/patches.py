"""moto patches of S3: PutBucketPolicy refuses what S3 refuses - a policy over 20 KB, one that is
not JSON, a statement without a Principal - and what the lab cannot evaluate (``MalformedPolicy``;
:mod:`chaos_sre.lab.s3.bucket_policy`); moto stores any text."""

from typing import Any

from moto.s3 import models as s3_models
from moto.s3.exceptions import S3ClientError

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.patches import original, replaces
from chaos_sre.lab.s3.bucket_policy import bucket_statements


@replaces(s3_models.S3Backend, "put_bucket_policy")
def _put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
    """PutBucketPolicy, refused as MalformedPolicy where S3 (or the lab's evaluation) would."""
    try:
        bucket_statements(policy.decode() if isinstance(policy, bytes) else str(policy))
    except ValidationError as exc:
        raise S3ClientError("MalformedPolicy", str(exc)) from None
    original(s3_models.S3Backend, "put_bucket_policy")(self, bucket_name, policy)
