"""S3 buckets as faults and probes read them: the bucket policy, its tags, Block Public Access.

A bucket has at most one bucket policy, a JSON document of at most 20 KB that S3 returns as it
was put (GetBucketPolicy answers ``NoSuchBucketPolicy`` when there is none); PutBucketPolicy
replaces it whole and DeleteBucketPolicy removes it ("Bucket policies for Amazon S3", Amazon S3
User Guide). With the bucket's Block Public Access ``BlockPublicPolicy`` on, S3 refuses a policy
that grants public access, while one put before stays ("Blocking public access to your Amazon S3
storage"). For a principal of the bucket's account an explicit ``Deny`` in the bucket policy wins
over every ``Allow`` ("Policy evaluation logic", IAM User Guide).
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from botocore import xform_name

from chaos_sre.aws import call
from chaos_sre.errors import AWSError, ValidationError

APP_ACTIONS = ("s3:GetObject", "s3:PutObject")
"""What an application does with its bucket: the actions access faults and probes take by default."""
MAX_POLICY_BYTES = 20 * 1024
"""The size limit of a bucket policy ("Bucket policy examples": at most 20 KB)."""


def _answer(client: Any, operation: str, missing: tuple[str, ...], **kwargs: Any) -> dict[str, Any] | None:
    """An S3 call's answer; None when S3 answers that the bucket has no such configuration."""
    try:
        return call(client, operation, **kwargs)
    except AWSError as error:
        if error.code in missing:
            return None
        raise


def bucket_policy(client: Any, bucket: str) -> str | None:
    """The bucket's policy document as S3 holds it; None when it has none."""
    found = _answer(client, "get_bucket_policy", ("NoSuchBucketPolicy",), Bucket=bucket)
    return None if found is None else str(found["Policy"])


def bucket_tags(client: Any, bucket: str) -> dict[str, str]:
    """The bucket's tags (none: an empty dict)."""
    found = _answer(client, "get_bucket_tagging", ("NoSuchTagSet", "NoSuchTagSetError"), Bucket=bucket)
    return {str(t["Key"]): str(t["Value"]) for t in (found or {}).get("TagSet", [])}


def blocks_public_policies(client: Any, bucket: str) -> bool:
    """Whether the bucket's Block Public Access refuses public bucket policies (``BlockPublicPolicy``)."""
    found = _answer(client, "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",),
                    Bucket=bucket)
    return bool((found or {}).get("PublicAccessBlockConfiguration", {}).get("BlockPublicPolicy"))


def policy_is_public(client: Any, bucket: str) -> bool:
    """S3's own judgement of the bucket's policy (GetBucketPolicyStatus ``IsPublic``)."""
    found = _answer(client, "get_bucket_policy_status", ("NoSuchBucketPolicy",), Bucket=bucket)
    return bool((found or {}).get("PolicyStatus", {}).get("IsPublic"))


def replication_configuration(client: Any, bucket: str) -> dict[str, Any] | None:
    """The bucket's replication configuration (Role and Rules); None when it has none."""
    found = _answer(client, "get_bucket_replication", ("ReplicationConfigurationNotFoundError",),
                    Bucket=bucket)
    return None if found is None else dict(found["ReplicationConfiguration"])


def policy_call(bucket: str, policy: str | None) -> tuple[str, dict[str, Any]]:
    """The S3 API call (its API name, its parameters) that leaves the bucket with ``policy``:
    PutBucketPolicy, or DeleteBucketPolicy for none."""
    if policy is None:
        return "DeleteBucketPolicy", {"Bucket": bucket}
    return "PutBucketPolicy", {"Bucket": bucket, "Policy": policy}


def set_bucket_policy(client: Any, bucket: str, policy: str | None) -> None:
    """Give the bucket exactly ``policy`` (None: no bucket policy)."""
    api, parameters = policy_call(bucket, policy)
    call(client, xform_name(api), **parameters)


def statements(policy: str | None) -> list[dict[str, Any]]:
    """A bucket policy's statements (none: an empty list)."""
    if policy is None:
        return []
    try:
        document = json.loads(policy)
    except json.JSONDecodeError:
        raise ValidationError("the bucket policy S3 returned is not JSON") from None
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return [dict(s) for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def with_statement(policy: str | None, statement: Mapping[str, Any]) -> str:
    """``policy`` with ``statement`` added (a new document when there was none)."""
    document = json.loads(policy) if policy is not None else {"Version": "2012-10-17", "Statement": []}
    found = document.get("Statement", [])
    document["Statement"] = [*(found if isinstance(found, list) else [found]), dict(statement)]
    return json.dumps(document, separators=(",", ":"))


def without_statement(policy: str, sid: str) -> str | None:
    """``policy`` without its statement ``sid`` (None: nothing else was left)."""
    document = json.loads(policy)
    kept = [s for s in statements(policy) if s.get("Sid") != sid]
    if not kept:
        return None
    document["Statement"] = kept
    return json.dumps(document, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(principal: Any, role_arn: str) -> bool:
    """Whether a statement's ``Principal`` takes in the role (everyone, its account, the role)."""
    if principal == "*":
        return True
    account = role_arn.split(":")[4]
    named = _as_list(principal.get("AWS", [])) if isinstance(principal, Mapping) else []
    return any(n in ("*", account, f"arn:aws:iam::{account}:root", role_arn) for n in named)


def _covers(patterns: Any, value: str) -> bool:
    return any(fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))


def denied_actions(policy: str | None, role_arn: str, bucket: str,
                   actions: Sequence[str]) -> list[str]:
    """The ``actions`` a Deny statement of the bucket policy takes from the role on the
    bucket's objects - a statement naming the role, its account or everyone, the action and the
    bucket (or its objects). A statement with a condition counts: it may deny, and a probe
    errs on the side of "denied"."""
    objects = (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}/x")
    return [action for action in actions if any(
        s.get("Effect") == "Deny" and _names(s.get("Principal"), role_arn)
        and _covers(s.get("Action", []), action)
        and any(_covers(s.get("Resource", []), resource) for resource in objects)
        for s in statements(policy))]


def sids(policy: str | None) -> Iterable[str]:
    """The statement ids of a bucket policy."""
    return (str(s["Sid"]) for s in statements(policy) if "Sid" in s)
