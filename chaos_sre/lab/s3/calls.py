"""What the mutating S3 calls chaos-sre makes act on: the bucket of PutBucketPolicy,
DeleteBucketPolicy and PutBucketReplication, in the run ledger's names (``MUTATED``:
``s3:bucket/NAME``) and by ARN for IAM (``IAM_RESOURCES``; :mod:`chaos_sre.lab.core.mutations`,
:mod:`chaos_sre.lab.core.iam_requests`). PutBucketReplication is also an ``iam:PassRole`` request
for the configuration's role, passed to ``s3.amazonaws.com`` ("To perform this operation, the
user or role performing the action must have the iam:PassRole permission", PutBucketReplication,
Amazon S3 API Reference).

IAM sees no tags on a bucket: a general purpose bucket's tags take part in authorization only
once ABAC is enabled on it, and it is disabled by default ("Enabling ABAC in general purpose
buckets", Amazon S3 User Guide), so a policy scoped by ``aws:ResourceTag`` does not apply to it."""

import re

from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one

POLICY_ACTIONS = ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutReplicationConfiguration")
REPLICATION = "s3:PutReplicationConfiguration"
ROLE = re.compile(rb"<Role>\s*([^<\s]+)\s*</Role>")


def _bucket(_region: str, params: Params) -> list[Resource]:
    return [Resource(f"arn:aws:s3:::{one(params, 'Bucket')}", {})]


MUTATED: dict[str, Extractor] = {
    action: lambda p: [f"s3:bucket/{one(p, 'Bucket')}"] for action in POLICY_ACTIONS}
IAM_RESOURCES: dict[str, ResourcesOf] = {action: _bucket for action in POLICY_ACTIONS}


def iam_requests(action: str, params: Params, region: str,
                 resources: list[Resource]) -> list[Request] | None:
    """PutBucketReplication: the call, and iam:PassRole of the configuration's role to S3."""
    if action != REPLICATION:
        return None
    body = params.get("ReplicationConfiguration", b"")
    found = ROLE.search(body if isinstance(body, bytes) else str(body).encode())
    role = found.group(1).decode() if found else "*"
    return [Request(action, region, resources),
            Request("iam:PassRole", region, (Resource(role),),
                    context={"iam:PassedToService": "s3.amazonaws.com"})]
