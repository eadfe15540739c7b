"""The buckets' lines in ``chaos-sre lab status`` and their part of the account snapshot."""

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chaos_sre.lab.core.plugin import Clients


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """Each bucket's policy and what the application's uploads met."""
    lines = []
    for name, bucket in sorted((status.get("s3_buckets") or {}).items()):
        counts = ", ".join(f"{bucket.get(k, 0)} {k.replace('_', ' ')}"
                           for k in ("uploads", "access_denied", "slow_down", "queued", "written_late"))
        lines.append(f"s3 bucket {name}: {'a' if bucket.get('policy') else 'no'} bucket policy; {counts}")
    return lines


def _policy(s3: Any, bucket: str) -> str | None:
    try:
        return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return None
        raise


def _replication(s3: Any, bucket: str) -> Any:
    try:
        return s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError":
            return None
        raise


def snapshot(clients: Clients) -> Any:
    """Every bucket's policy (its text, None: none) and replication configuration."""
    s3 = clients("s3")
    names = sorted(b["Name"] for page in s3.get_paginator("list_buckets").paginate()
                   for b in page["Buckets"])
    return [(name, _policy(s3, name), _replication(s3, name)) for name in names]
