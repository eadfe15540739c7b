"""S3 access denied (a bucket policy statement) in AWS FIS (:mod:`chaos_sre.fis.mapping`): FIS
has no action that changes a bucket policy, so the fault runs as a generated SSM Automation
document (:mod:`chaos_sre.fis.automation`) with the fault's own calls and values, from its dry
run: PutBucketPolicy with the deny statement added, the hold, then the policy back as it was -
PutBucketPolicy with its old text, or DeleteBucketPolicy when the bucket had none - on cancel and
on failure too. Unlike chaos-sre's own restore, the document puts the old policy back whole even
if someone changed the bucket's policy during the hold."""

from typing import Any

from chaos_sre.fis.automation import ONE_CALL_RESTORE_SECONDS, ApiCall, Change, automation_part
from chaos_sre.fis.mapping import FisContext, FisPart
from chaos_sre.services.s3 import policy_call


def _call(bucket: str, policy: str | None) -> ApiCall:
    return ApiCall("s3", *policy_call(bucket, policy))


def bucket_policy_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``deny_bucket_access`` as one automation (the module doc says which calls)."""
    planned = context.planned()
    bucket = str(planned["bucket_name"])
    change = Change("DenyAccess", _call(bucket, planned["after"]["policy"]),
                    undo=_call(bucket, planned["before"]["policy"]))
    return automation_part("deny-bucket-access", f"chaos-sre: S3 bucket {bucket} denies "
                           f"{', '.join(planned['actions'])} to {planned['role_arn']}, then its "
                           "policy back as it was", [change], context, ONE_CALL_RESTORE_SECONDS)
