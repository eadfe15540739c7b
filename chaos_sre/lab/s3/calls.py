"""What the mutating S3 calls chaos-sre makes act on: the bucket of PutBucketPolicy and
DeleteBucketPolicy, in the run ledger's names (``MUTATED``: ``s3:bucket/NAME``) and by ARN for
IAM (``IAM_RESOURCES``; :mod:`chaos_sre.lab.core.mutations`, :mod:`chaos_sre.lab.core.iam_requests`).

IAM sees no tags on a bucket: a general purpose bucket's tags take part in authorization only
once ABAC is enabled on it, and it is disabled by default ("Enabling ABAC in general purpose
buckets", Amazon S3 User Guide), so a policy scoped by ``aws:ResourceTag`` does not apply to it."""

from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one

POLICY_ACTIONS = ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy")


def _bucket(_region: str, params: Params) -> list[Resource]:
    return [Resource(f"arn:aws:s3:::{one(params, 'Bucket')}", {})]


MUTATED: dict[str, Extractor] = {
    action: lambda p: [f"s3:bucket/{one(p, 'Bucket')}"] for action in POLICY_ACTIONS}
IAM_RESOURCES: dict[str, ResourcesOf] = {action: _bucket for action in POLICY_ACTIONS}
