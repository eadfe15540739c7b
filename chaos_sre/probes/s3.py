"""S3 probes: whether a bucket's policy lets the application's role at the bucket, the policy a
fault changes and a restore must bring back, and how a bucket's replication stands.

For a principal of the bucket's account an explicit ``Deny`` in the bucket policy wins over every
``Allow`` ("Policy evaluation logic", IAM User Guide), so a bucket policy statement that denies
the role an action takes that action away whatever the role's own policies say. These probes
read the bucket policy's Deny statements for the role (naming it, its account or everyone); a
statement with a condition counts as denying - the probe errs towards "not reachable". They do
not evaluate the role's own policies: an action the role was never allowed is not their concern.

Replication: each object of a replicated bucket has a replication status (HeadObject's
``ReplicationStatus``: PENDING, COMPLETED, FAILED; none when no enabled rule covered it when it
was written) - "Replication status information", Amazon S3 User Guide. `replication_status`
samples a page of a prefix's objects and reports their statuses and the oldest pending one's
age, the lag a reader of the replica sees at least.
"""

from datetime import UTC, datetime
from typing import Any

from chaos_sre.aws import aws_client, call
from chaos_sre.permissions import requires
from chaos_sre.services.s3 import APP_ACTIONS, bucket_policy, denied_actions, replication_configuration, statements

__all__ = ["bucket_access", "bucket_reachable", "policy_statements", "replication_rules",
           "replication_status"]



@requires("s3:GetBucketPolicy", "iam:GetRole")
def bucket_access(bucket_name: str, role_name: str, actions: list[str] | None = None,
                  configuration: dict[str, Any] | None = None,
                  secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Which of `actions` (default s3:GetObject, s3:PutObject) the bucket's policy denies the
    role: ``{"role_arn", "denied": [...], "reachable": bool}``."""
    wanted = list(actions or APP_ACTIONS)
    role_arn = str(call(aws_client("iam", configuration, secrets), "get_role",
                        RoleName=role_name)["Role"]["Arn"])
    policy = bucket_policy(aws_client("s3", configuration, secrets), bucket_name)
    denied = denied_actions(policy, role_arn, bucket_name, wanted)
    return {"role_arn": role_arn, "denied": denied, "reachable": not denied}


@requires("s3:GetBucketPolicy", "iam:GetRole")
def bucket_reachable(bucket_name: str, role_name: str, actions: list[str] | None = None,
                     configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> bool:
    """Whether the bucket's policy denies the role none of `actions` (a steady state before an
    access fault)."""
    return bool(bucket_access(bucket_name, role_name, actions, configuration, secrets)["reachable"])


@requires("s3:GetBucketPolicy")
def policy_statements(bucket_name: str, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bucket's policy as a fault leaves it: each statement's Sid, effect, principal and
    actions (``{"policy": None}`` when the bucket has none)."""
    policy = bucket_policy(aws_client("s3", configuration, secrets), bucket_name)
    if policy is None:
        return {"policy": None}
    return {"policy": [{key: s.get(key) for key in ("Sid", "Effect", "Principal", "Action")}
                       for s in statements(policy)]}


@requires("s3:GetReplicationConfiguration")
def replication_rules(bucket_name: str, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, str]:
    """Each replication rule of the bucket and its status (``Enabled``/``Disabled``); empty when
    the bucket replicates nothing."""
    found = replication_configuration(aws_client("s3", configuration, secrets), bucket_name) or {}
    return {str(rule.get("ID")): str(rule.get("Status")) for rule in found.get("Rules", [])}


@requires("s3:ListBucket", "s3:GetObject")
def replication_status(bucket_name: str, prefix: str = "", sample: int = 50,
                       configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The replication statuses of up to `sample` objects under `prefix` (one ListObjectsV2
    page, then HeadObject each): counts per status (``NONE``: not replicated) and
    ``oldest_pending_seconds``, the age of the oldest pending one (0 when none is pending)."""
    s3 = aws_client("s3", configuration, secrets)
    listed = call(s3, "list_objects_v2", Bucket=bucket_name, Prefix=prefix,
                  MaxKeys=max(1, min(int(sample), 1000))).get("Contents", [])
    counts: dict[str, int] = {}
    oldest = 0.0
    now = datetime.now(UTC)
    for item in listed:
        head = call(s3, "head_object", Bucket=bucket_name, Key=item["Key"])
        status = str(head.get("ReplicationStatus", "NONE"))
        counts[status] = counts.get(status, 0) + 1
        if status == "PENDING":
            oldest = max(oldest, (now - head["LastModified"]).total_seconds())
    return {"sampled": len(listed), "statuses": counts, "oldest_pending_seconds": round(oldest, 1)}
