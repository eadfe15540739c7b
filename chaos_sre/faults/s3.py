"""S3 faults: deny the application's role access to a bucket with a bucket policy statement, then
restore the policy exactly.

For a principal of the bucket's own account, an explicit ``Deny`` in the bucket policy wins over
every ``Allow`` of the principal's own policies ("Policy evaluation logic", IAM User Guide; "How
Amazon S3 authorizes a request"), so one statement takes the named actions from one role and
from no one else - never the runner (refused), never everyone (the statement names the role's
ARN and nothing wider). `deny_bucket_access` writes the bucket's policy before the fault - its
exact text, or none - to the run ledger, then puts the policy with the statement added.
`restore_bucket_access` (or any replay of the ledger) puts that text back, or deletes the bucket
policy when there was none. Had someone changed the policy during the run, the restore takes
out only the fault's statement (``Sid`` ``ChaosSreDeny...``) and keeps their change.

Refused before anything changes: a bucket whose policy would pass S3's 20 KB limit with the
statement, and a bucket whose policy is public while its Block Public Access now blocks public
policies - a change still pending on that policy: S3 would refuse the changed policy, and the
restore of the old one alike ("Enabling this setting doesn't affect existing bucket policies",
"Blocking public access to your Amazon S3 storage"). IAM cannot scope these calls by the bucket's
tags unless ABAC is enabled on it (off by default: "Enabling ABAC in general purpose buckets"),
so the generated policy grants them on ``arn:aws:s3:::*``; the guardrails still check the tags.
"""

import logging
import re
from collections.abc import Sequence
from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client, call
from chaos_sre.errors import ValidationError
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.preflight import principal_arn
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Share, Target, fault
from chaos_sre.faults.s3_fis import bucket_policy_in_fis
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.s3 import (
    APP_ACTIONS,
    MAX_POLICY_BYTES,
    blocks_public_policies,
    bucket_policy,
    bucket_tags,
    denied_actions,
    policy_is_public,
    set_bucket_policy,
    sids,
    statements,
    with_statement,
    without_statement,
)

__all__ = ["deny_bucket_access", "restore_bucket_access"]

logger = logging.getLogger("chaostoolkit")
BUCKETS = "arn:aws:s3:::*"
RESTORE_OP = "restore_bucket_policy"
EFFECT = "deny-bucket-access"
S3_ACTION = re.compile(r"^s3:[A-Za-z*?]+$")
Actions = Annotated[list[str], pydantic.Field(min_length=1)]


def statement_id(role_name: str) -> str:
    """The ``Sid`` of the fault's statement for ``role_name`` (letters and digits only)."""
    return "ChaosSreDeny" + re.sub(r"[^A-Za-z0-9]", "", role_name)


def deny_statement(sid: str, role_arn: str, bucket: str, actions: Sequence[str]) -> dict[str, Any]:
    """The statement that takes ``actions`` on the bucket and its objects from the role."""
    return {"Sid": sid, "Effect": "Deny", "Principal": {"AWS": role_arn}, "Action": list(actions),
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}


def _role_arn(configuration: Settings, secrets: Settings, role_name: str) -> str:
    if not role_name:
        raise ValidationError("role_name must name the IAM role the application calls S3 as")
    role = call(aws_client("iam", configuration, secrets), "get_role", RoleName=role_name)
    arn = str(role["Role"]["Arn"])
    runner = principal_arn(str(call(aws_client("sts", configuration, secrets), "get_caller_identity")["Arn"]))
    if ":role/" in runner and runner.rsplit("/", 1)[-1] == role_name:
        raise ValidationError(f"role {role_name} is the runner's own: denying it access would lock "
                              "chaos-sre out of its own restore; name the application's role")
    return arn


@fault(
    reads=[Permission("s3:GetBucketPolicy"), Permission("s3:GetBucketTagging"),
           Permission("s3:GetBucketPolicyStatus"), Permission("s3:GetBucketPublicAccessBlock"),
           Permission("iam:GetRole"), Permission("sts:GetCallerIdentity")],
    permissions=[Permission("s3:PutBucketPolicy", BUCKETS),
                 Permission("s3:DeleteBucketPolicy", BUCKETS)],
    inverses=[RESTORE_OP], effects=[EFFECT], fis=bucket_policy_in_fis,
)
def deny_bucket_access(
    bucket_name: str,
    role_name: str,
    actions: Actions | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Deny an IAM role (the application's) `actions` on an S3 bucket and its objects: one
    bucket policy statement with an explicit Deny for that role alone, which wins over the
    role's own Allow (default actions: s3:GetObject and s3:PutObject).

    The bucket's policy before - its exact text, or none - goes to the run ledger first;
    `restore_bucket_access` puts it back, or deletes the bucket policy when there was none.
    Refused: the runner's own role, actions outside S3, a bucket already denied to the role by
    chaos-sre, a policy that would pass S3's 20 KB, and a public policy that the bucket's Block
    Public Access now blocks (S3 would refuse the restore). With `dry_run` the plan is printed
    and nothing changes. Returns the bucket, the role and the policy before and after.
    """
    actions = list(actions or APP_ACTIONS)
    unknown = [a for a in actions if not S3_ACTION.match(a)]
    if unknown:
        raise ValidationError(f"actions must be S3 actions (s3:GetObject, s3:Put*): not {', '.join(unknown)}")
    if not bucket_name:
        raise ValidationError("bucket_name must name an S3 bucket")
    role_arn = _role_arn(configuration, secrets, role_name)
    s3 = aws_client("s3", configuration, secrets)
    tags = bucket_tags(s3, bucket_name)
    before = bucket_policy(s3, bucket_name)
    sid = statement_id(role_name)
    if sid in sids(before):
        raise ValidationError(f"bucket {bucket_name}'s policy already holds chaos-sre's statement {sid} "
                              "(a run that was not restored?): run `chaos-sre rollback --last` first")
    after = with_statement(before, deny_statement(sid, role_arn, bucket_name, actions))
    if len(after.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ValidationError(f"bucket {bucket_name}'s policy would be {len(after.encode('utf-8'))} bytes "
                              f"with the deny statement, more than S3's {MAX_POLICY_BYTES}")
    if before is not None and policy_is_public(s3, bucket_name) and blocks_public_policies(s3, bucket_name):
        raise ValidationError(
            f"bucket {bucket_name}'s policy grants public access that its Block Public Access now "
            "blocks (BlockPublicPolicy, a change pending on the policy): S3 would refuse the changed "
            "policy and its restore alike; settle the bucket's public access first")
    resource = f"s3:bucket/{bucket_name}"
    bucket_arn = f"arn:aws:s3:::{bucket_name}"

    def apply(ledger: Ledger) -> None:
        with ledger.mutation(resource, EFFECT, {"policy": before},
                             {"op": RESTORE_OP, "bucket_name": bucket_name, "policy": before,
                              "statement_id": sid, "written": after}) as mutation:
            set_bucket_policy(s3, bucket_name, after)
            mutation.applied()
            mutation.outcome = {"statement_id": sid, "role_arn": role_arn, "actions": list(actions)}
        logger.info(f"chaos-sre: S3 bucket {bucket_name} denies {', '.join(actions)} to role {role_name}")

    return Plan(
        targets=[Target(resource, tags)],
        shares=[Share(f"role {role_name}'s access to S3 bucket {bucket_name}", 1, 1)],
        summary={"bucket_name": bucket_name, "role_arn": role_arn, "actions": list(actions),
                 "before": {"policy": before}, "after": {"policy": after}},
        apply=apply,
        calls=[PlannedCall("s3:PutBucketPolicy", bucket_arn),
               *([PlannedCall("s3:DeleteBucketPolicy", bucket_arn)] if before is None else [])],
        action=f"deny role {role_name} {', '.join(actions)} on S3 bucket {bucket_name} "
               f"(statement {sid} added to {'its policy' if before is not None else 'a new policy'})")


@requires()  # its inverses use the permissions their faults declare
def restore_bucket_access(configuration: dict[str, Any] | None = None,
                          secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """`restore_run` (undo everything this run changed): a bucket gets its policy back exactly
    as it was - the same text, or no policy at all. Returns what was restored."""
    return {"restored": restore_run(configuration, secrets)}


class RestoreBucketPolicy(Inverse):
    """A bucket's policy, exactly as it was (None: no bucket policy)."""

    bucket_name: str
    policy: str | None
    statement_id: str
    written: str
    """The policy the fault put: when the bucket still has it, the old one goes back whole."""


def _same(left: str | None, right: str | None) -> bool:
    return left == right or (left is not None and right is not None
                             and statements(left) == statements(right))


@inverse(RESTORE_OP, RestoreBucketPolicy)
def _restore_bucket_policy(op: RestoreBucketPolicy, configuration: Settings, secrets: Settings) -> str:
    s3 = aws_client("s3", configuration, secrets)
    now = bucket_policy(s3, op.bucket_name)
    if _same(now, op.policy):
        return f"S3 bucket {op.bucket_name} already has its policy as it was"
    if _same(now, op.written):
        set_bucket_policy(s3, op.bucket_name, op.policy)
        return (f"S3 bucket {op.bucket_name} restored to "
                f"{'its policy as it was' if op.policy is not None else 'no bucket policy'}")
    if now is not None and op.statement_id in sids(now):
        set_bucket_policy(s3, op.bucket_name, without_statement(now, op.statement_id))
        return (f"S3 bucket {op.bucket_name}: statement {op.statement_id} taken out; the rest of its "
                "policy changed during the run and was kept")
    return f"S3 bucket {op.bucket_name} no longer holds statement {op.statement_id}: nothing to restore"


@effect_check(EFFECT)
def _deny_holds(intent: Operation, outcome: Any, configuration: Settings, secrets: Settings) -> str | None:
    """The bucket's policy still denies the role the actions the fault took."""
    bucket = str(intent["resource"]).split("/", 1)[1]
    if not isinstance(outcome, dict) or not {"role_arn", "actions"} <= set(outcome):
        return "the run ledger does not say which role and actions the fault denied"
    policy = bucket_policy(aws_client("s3", configuration, secrets), bucket)
    held = denied_actions(policy, str(outcome["role_arn"]), bucket, list(outcome["actions"]))
    missing = [a for a in outcome["actions"] if a not in held]
    if missing:
        return (f"its policy no longer denies {', '.join(missing)} to {outcome['role_arn']}: "
                "something changed it back")
    return None
