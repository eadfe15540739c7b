"""S3 probes: whether a bucket's policy lets the application's role at the bucket, and the policy
a fault changes and a restore must bring back.

For a principal of the bucket's account an explicit ``Deny`` in the bucket policy wins over every
``Allow`` ("Policy evaluation logic", IAM User Guide), so a bucket policy statement that denies
the role an action takes that action away whatever the role's own policies say. These probes
read the bucket policy's Deny statements for the role (naming it, its account or everyone); a
statement with a condition counts as denying - the probe errs towards "not reachable". They do
not evaluate the role's own policies: an action the role was never allowed is not their concern.
"""

from typing import Any

from chaos_sre.aws import aws_client, call
from chaos_sre.permissions import requires
from chaos_sre.services.s3 import bucket_policy, denied_actions, statements

__all__ = ["bucket_access", "bucket_reachable", "policy_statements"]

DEFAULT_ACTIONS = ["s3:GetObject", "s3:PutObject"]


@requires("s3:GetBucketPolicy", "iam:GetRole")
def bucket_access(bucket_name: str, role_name: str, actions: list[str] | None = None,
                  configuration: dict[str, Any] | None = None,
                  secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Which of `actions` (default s3:GetObject, s3:PutObject) the bucket's policy denies the
    role: ``{"role_arn", "denied": [...], "reachable": bool}``."""
    wanted = list(actions or DEFAULT_ACTIONS)
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
