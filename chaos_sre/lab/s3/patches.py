"""moto patches of S3: bucket policies as S3 takes them.

* PutBucketPolicy refuses what S3 refuses - a policy over 20 KB, one that is not JSON, a
  statement without a Principal, a principal of the account that does not exist ("Invalid
  principal in policy") - and what the lab cannot evaluate (``MalformedPolicy``;
  :mod:`chaos_sre.lab.s3.bucket_policy`); moto stores any text.
* With the bucket's Block Public Access ``BlockPublicPolicy`` on, PutBucketPolicy of a public
  policy is refused (``AccessDenied``); a public policy put before the setting stays ("Blocking
  public access to your Amazon S3 storage": "Enabling this setting doesn't affect existing
  bucket policies"). moto ignores the setting.
* GetBucketPolicyStatus (``IsPublic``) judges a policy as S3 does
  (:func:`chaos_sre.lab.s3.bucket_policy.is_public`); moto takes any condition for a narrowing one.
* Each stored or deleted policy is told to the S3 simulation, which records on the timeline what
  it took from the application's role (:meth:`chaos_sre.lab.s3.simulation.Storage.policy_changed`).
* Replication (:mod:`chaos_sre.lab.s3.replication`): each object written is told to it, GetObject
  and HeadObject answer the object's ``x-amz-replication-status``, and each replication
  configuration put or deleted is compared with the one before (rules stopped or started again).
"""

import re
import time
from collections.abc import Iterator
from typing import Any, Protocol, cast

from moto.iam.exceptions import NoSuchEntity, NotFoundException
from moto.s3 import models as s3_models
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import S3ClientError

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import hooks, original, replaces
from chaos_sre.lab.core.settings import ACCOUNT_ID
from chaos_sre.lab.s3.bucket_policy import bucket_statements, is_public
from chaos_sre.lab.s3.replication import Replication, rules_of

ACCOUNT_PRINCIPAL = re.compile(r"^arn:aws:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)$")


class PolicyHooks(Protocol):
    """What the S3 patches ask of the service's simulation."""

    replication: Replication

    def policy_changed(self, bucket: str) -> None:
        """Bucket ``bucket``'s policy was put or deleted."""


def _lab() -> PolicyHooks:
    return cast(PolicyHooks, hooks().service("s3"))


def _named_principals(statements: list[dict[str, Any]]) -> Iterator[str]:
    for statement in statements:
        principal = statement["Principal"]
        if isinstance(principal, dict):
            named = principal.get("AWS", [])
            yield from (str(n) for n in (named if isinstance(named, list) else [named]))


def _exists(kind: str, name: str) -> bool:
    iam = moto_backend("iam", region="global")
    try:
        (iam.get_role if kind == "role" else iam.get_user)(name)
    except (NotFoundException, NoSuchEntity):
        return False
    return True


def _check(text: str) -> None:
    """Raise S3's error for a policy S3 would not store."""
    try:
        statements = bucket_statements(text)
    except ValidationError as exc:
        raise S3ClientError("MalformedPolicy", str(exc)) from None
    for arn in _named_principals(statements):
        found = ACCOUNT_PRINCIPAL.match(arn)
        if found and found.group(1) == ACCOUNT_ID and not _exists(found.group(2), found.group(3)):
            raise S3ClientError("MalformedPolicy", "Invalid principal in policy")


@replaces(s3_models.S3Backend, "put_bucket_policy")
def _put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
    """PutBucketPolicy, refused where S3 would (the module doc says when)."""
    text = policy.decode() if isinstance(policy, bytes) else str(policy)
    _check(text)
    block = self.get_bucket(bucket_name).public_access_block
    if block is not None and block.block_public_policy and is_public(text):
        raise S3ClientError("AccessDenied", "Access Denied")
    original(s3_models.S3Backend, "put_bucket_policy")(self, bucket_name, policy)
    _lab().policy_changed(bucket_name)


@replaces(s3_models.S3Backend, "delete_bucket_policy")
def _delete_bucket_policy(self: Any, bucket_name: str) -> None:
    """DeleteBucketPolicy: the bucket's access is its principals' own policies' again."""
    original(s3_models.S3Backend, "delete_bucket_policy")(self, bucket_name)
    _lab().policy_changed(bucket_name)


@replaces(s3_responses, "bucket_policy_is_public")
def _bucket_policy_is_public(policy: bytes | str) -> bool:
    """GetBucketPolicyStatus's ``IsPublic``, as S3 judges it."""
    return is_public(policy.decode() if isinstance(policy, bytes) else str(policy))


@replaces(s3_models.S3Backend, "put_object")
def _put_object(self: Any, bucket_name: str, key_name: str, value: bytes, *args: Any, **kwargs: Any) -> Any:
    """PutObject (and every write moto makes through it): the object starts its replication."""
    written = original(s3_models.S3Backend, "put_object")(self, bucket_name, key_name, value, *args, **kwargs)
    _lab().replication.written(bucket_name, key_name, written.version_id, time.monotonic())
    return written


def _response_headers(self: Any) -> dict[str, Any]:
    """GetObject's and HeadObject's headers, with the object's replication status."""
    headers = dict(original(s3_models.FakeKey, "response_dict").fget(self))
    status = _lab().replication.status(self.bucket_name, self.name, self.version_id)
    if status is not None:
        headers["x-amz-replication-status"] = status
    return headers


replaces(s3_models.FakeKey, "response_dict")(property(_response_headers))  # type: ignore[type-var]


@replaces(s3_models.S3Backend, "put_bucket_replication")
def _put_bucket_replication(self: Any, bucket_name: str, replication: dict[str, Any]) -> None:
    """PutBucketReplication: the rules it stops or starts again go on the timeline."""
    before = rules_of(getattr(self.get_bucket(bucket_name), "replication", None))
    original(s3_models.S3Backend, "put_bucket_replication")(self, bucket_name, replication)
    _lab().replication.configuration_changed(bucket_name, before, rules_of(self.get_bucket(bucket_name).replication))


@replaces(s3_models.S3Backend, "delete_bucket_replication")
def _delete_bucket_replication(self: Any, bucket_name: str) -> None:
    """DeleteBucketReplication: every enabled rule stops."""
    before = rules_of(getattr(self.get_bucket(bucket_name), "replication", None))
    original(s3_models.S3Backend, "delete_bucket_replication")(self, bucket_name)
    _lab().replication.configuration_changed(bucket_name, before, [])
