"""S3 in the lab: the web tier's ``/upload`` writing to bucket ``uploads`` as role ``web-app``,
the bucket policy evaluated for that role (an explicit deny wins), the resilient application's
queue of refused uploads, and PutBucketPolicy refusing what S3 refuses (chaos_sre/lab/s3/)."""

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, account_snapshot, lab_for_module, wait_until

from chaos_sre.lab.s3.routes import Uploads
from chaos_sre.lab.web.answers import Failure, Fallback

BUCKET = "uploads"
APP_ROLE = "arn:aws:iam::123456789012:role/web-app"


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


def bucket_counts(lab: RunningLab) -> dict[str, int]:
    return dict(lab.api.status()["s3_buckets"][BUCKET])


def test_an_upload_denied_by_the_bucket_policy_is_queued_and_written_once_access_is_back(
        module_lab: RunningLab) -> None:
    """"How Amazon S3 authorizes a request" / "Policy evaluation logic": the role's own policy
    allows s3:PutObject, yet a bucket policy statement denying that role wins; a statement for
    another principal does not touch it. The resilient web tier answers 200 without the upload
    (queued) and writes it once the deny is gone; the account snapshot is as before."""
    url, s3 = module_lab.env["CHAOS_SRE_TARGET_URL"], module_lab.client("s3", retries=False)
    before = account_snapshot(module_lab)
    buckets = {name: replication for name, _policy, replication in before["s3"]}
    assert sorted(buckets) == ["fis-lambda-config", "uploads", "uploads-replica"]
    assert buckets["uploads"]["Rules"][0]["Destination"]["Bucket"] == "arn:aws:s3:::uploads-replica"
    start = bucket_counts(module_lab)
    served = requests.get(f"{url}/upload", timeout=5)
    assert served.status_code == 200 and "X-Lab-Fallback" not in served.headers
    assert bucket_counts(module_lab).get("uploads", 0) == start.get("uploads", 0) + 1

    runner_only = {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:role/s3-replication"},
                   "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [runner_only]}))
    assert "X-Lab-Fallback" not in requests.get(f"{url}/upload", timeout=5).headers
    deny_app = {**runner_only, "Principal": {"AWS": APP_ROLE}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [deny_app]}))
    try:
        queued = requests.get(f"{url}/upload", timeout=5)
        assert queued.status_code == 200 and queued.headers["X-Lab-Fallback"] == "s3"
        assert bucket_counts(module_lab)["access_denied"] >= 1
    finally:
        s3.delete_bucket_policy(Bucket=BUCKET)
    assert wait_until(lambda: bucket_counts(module_lab).get("written_late", 0)
                      >= start.get("written_late", 0) + 1, timeout=10)
    assert account_snapshot(module_lab)["s3"] == before["s3"]


def test_put_bucket_policy_refuses_what_s3_refuses(module_lab: RunningLab) -> None:
    """PutBucketPolicy: a policy over 20 KB, or a statement without a Principal, is refused
    (MalformedPolicy) and nothing is stored."""
    s3 = module_lab.client("s3", retries=False)
    big = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": [f"arn:aws:s3:::{BUCKET}/{n:05d}/*" for n in range(1000)]}
    for statement, message in ((big, "maximum allowed document size"),
                               ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, "needs a Principal")):
        with pytest.raises(ClientError, match=message) as refused:
            s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Statement": [statement]}))
        assert refused.value.response["Error"]["Code"] == "MalformedPolicy"
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)


def test_an_asset_read_denied_is_served_from_cache_and_the_timeline_names_what_was_taken(
        module_lab: RunningLab) -> None:
    """GetObject by the application's role, denied by the bucket policy: the resilient web tier
    serves the asset from its cache; the timeline records the policy that took s3:GetObject
    from the role as a fault, and its removal as access restored. A missing asset is a 404."""
    url, s3 = module_lab.env["CHAOS_SRE_TARGET_URL"], module_lab.client("s3", retries=False)
    served = requests.get(f"{url}/assets/logo.svg", timeout=5)
    assert served.status_code == 200 and "X-Lab-Fallback" not in served.headers
    assert requests.get(f"{url}/assets/none.svg", timeout=5).status_code == 404
    deny_reads = {"Sid": "NoReads", "Effect": "Deny", "Principal": {"AWS": APP_ROLE},
                  "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [deny_reads]}))
    try:
        cached = requests.get(f"{url}/assets/logo.svg", timeout=5)
        assert cached.status_code == 200 and cached.headers["X-Lab-Fallback"] == "s3"
        assert "X-Lab-Fallback" not in requests.get(f"{url}/upload", timeout=5).headers
    finally:
        s3.delete_bucket_policy(Bucket=BUCKET)
    events = [(e["kind"], e["detail"]["actions"]) for e in module_lab.timeline()["events"]
              if e["resource"] == BUCKET and e["kind"].startswith("s3-bucket-access")]
    assert events[-2:] == [("s3-bucket-access-denied", ["s3:GetObject"]),
                           ("s3-bucket-access-restored", ["s3:GetObject"])]


def test_put_bucket_policy_refuses_an_unknown_principal_and_a_public_policy_block_public_access_blocks(
        module_lab: RunningLab) -> None:
    """"Invalid principal in policy" (MalformedPolicy) for a role the account does not have.
    Block Public Access's BlockPublicPolicy: "Amazon S3 rejects calls to PUT Bucket policy if the
    specified bucket policy allows public access", and "Enabling this setting doesn't affect
    existing bucket policies" - so a public policy put before the block stays, and
    GetBucketPolicyStatus calls it public."""
    s3 = module_lab.client("s3", retries=False)
    nobody = {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:role/no-such-role"},
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    with pytest.raises(ClientError, match="Invalid principal in policy") as refused:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Statement": [nobody]}))
    assert refused.value.response["Error"]["Code"] == "MalformedPolicy"
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/assets/*"}]})
    narrowed = public.replace('"Resource"', '"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}}, '
                                            '"Resource"')
    try:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=public)
        assert s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"] is True
        s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})
        assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == public
        with pytest.raises(ClientError) as blocked:
            s3.put_bucket_policy(Bucket=BUCKET, Policy=public)
        assert blocked.value.response["Error"]["Code"] == "AccessDenied"
        s3.put_bucket_policy(Bucket=BUCKET, Policy=narrowed)
        assert s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"] is False
    finally:
        s3.delete_public_access_block(Bucket=BUCKET)
        s3.delete_bucket_policy(Bucket=BUCKET)


def test_objects_replicate_after_seconds_and_a_disabled_rule_leaves_new_ones_unreplicated(
        module_lab: RunningLab) -> None:
    """Replication: an object written under an enabled rule is PENDING, then COMPLETED with a
    REPLICA in the destination ("Replication status information", Amazon S3 User Guide). One
    written while the rule is disabled gets no status and is not replicated when the rule is
    enabled again ("Managing or pausing live replication": S3 Batch Replication replicates
    those). /uploads/recent reads the upload of some seconds ago from the replica; the timeline
    records the rule stopped and started again."""
    url, s3 = module_lab.env["CHAOS_SRE_TARGET_URL"], module_lab.client("s3", retries=False)
    version = s3.put_object(Bucket=BUCKET, Key="incoming/first.bin", Body=b"1")["VersionId"]
    assert s3.head_object(Bucket=BUCKET, Key="incoming/first.bin")["ReplicationStatus"] == "PENDING"
    assert wait_until(lambda: s3.head_object(Bucket=BUCKET, Key="incoming/first.bin",
                                             VersionId=version).get("ReplicationStatus") == "COMPLETED",
                      timeout=10, interval=0.1)
    assert s3.head_object(Bucket="uploads-replica", Key="incoming/first.bin")["ReplicationStatus"] == "REPLICA"
    requests.get(f"{url}/upload", timeout=5)
    assert wait_until(lambda: requests.get(f"{url}/uploads/recent", timeout=5).status_code == 200
                      and "X-Lab-Fallback" not in requests.get(f"{url}/uploads/recent", timeout=5).headers,
                      timeout=10, interval=0.2)

    configuration = s3.get_bucket_replication(Bucket=BUCKET)["ReplicationConfiguration"]
    disabled = {**configuration, "Rules": [{**r, "Status": "Disabled"} for r in configuration["Rules"]]}
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=disabled)
    try:
        s3.put_object(Bucket=BUCKET, Key="incoming/second.bin", Body=b"2")
        assert "ReplicationStatus" not in s3.head_object(Bucket=BUCKET, Key="incoming/second.bin")
    finally:
        s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=configuration)
    time.sleep(1.0)  # ten AWS seconds: twice the replication time
    assert "ReplicationStatus" not in s3.head_object(Bucket=BUCKET, Key="incoming/second.bin")
    with pytest.raises(ClientError, match="404|Not Found"):
        s3.head_object(Bucket="uploads-replica", Key="incoming/second.bin")
    events = [(e["kind"], e["detail"].get("rules")) for e in module_lab.timeline()["events"]
              if e["resource"] == BUCKET and e["kind"].startswith("s3-replication")]
    assert events[-2:] == [("s3-replication-paused", ["all-uploads"]),
                           ("s3-replication-resumed", ["all-uploads"])]


def test_without_a_queue_a_refused_upload_is_lost() -> None:
    """The fragile web tier passes S3's refusal on (pure: the route alone)."""
    fragile = Uploads(lambda bucket, key, body: "AccessDenied", lambda bucket, key: None,
                      lambda bucket, key: "AccessDenied", False)
    outcome = asyncio.run(fragile.before_serving("/upload", targets=None))  # type: ignore[arg-type]
    assert isinstance(outcome, Failure) and outcome.status == 500
    assert outcome.cause == "500-upload-access-denied"
    queued: list[str] = []
    resilient = Uploads(lambda bucket, key, body: "SlowDown", lambda bucket, key: queued.append(key),
                        lambda bucket, key: "SlowDown", True)
    assert isinstance(asyncio.run(resilient.before_serving("/upload", targets=None)),  # type: ignore[arg-type]
                      Fallback) and len(queued) == 1
    assert asyncio.run(fragile.before_serving("/cart", targets=None)) is None  # type: ignore[arg-type]
    lost = asyncio.run(fragile.before_serving("/assets/logo.svg", targets=None))  # type: ignore[arg-type]
    assert isinstance(lost, Failure) and lost.cause == "500-asset-access-denied"
    cached = asyncio.run(resilient.before_serving("/assets/logo.svg", targets=None))  # type: ignore[arg-type]
    assert isinstance(cached, Fallback) and cached.cause == "200-asset-cached"


def test_a_recent_upload_the_replica_lacks_is_read_from_the_source_or_fails() -> None:
    """/uploads/recent reads the upload of 15 s ago from the replica (pure: the route alone):
    when the replica lacks it (replication paused), the resilient web tier reads the source
    bucket (a good request), the fragile one fails with 502; an upload the replica has, or none
    yet, is served as is."""
    def read(bucket: str, key: str) -> str | None:
        return "NoSuchKey" if bucket == "uploads-replica" else None

    def recent(bucket: str, seconds: float) -> str | None:
        return "incoming/old.bin"

    def unused(*args: object) -> None:
        raise AssertionError("no upload here")

    fragile = Uploads(unused, unused, read, False, recent)  # type: ignore[arg-type]
    missing = asyncio.run(fragile.before_serving("/uploads/recent", targets=None))  # type: ignore[arg-type]
    assert isinstance(missing, Failure) and (missing.status, missing.cause) == (502, "502-replica-missing")
    resilient = Uploads(unused, unused, read, True, recent)  # type: ignore[arg-type]
    behind = asyncio.run(resilient.before_serving("/uploads/recent", targets=None))  # type: ignore[arg-type]
    assert isinstance(behind, Fallback) and behind.cause == "200-replica-behind"
    replicated = Uploads(unused, unused, lambda bucket, key: None, False, recent)  # type: ignore[arg-type]
    assert asyncio.run(replicated.before_serving("/uploads/recent", targets=None)) is None  # type: ignore[arg-type]
    nothing_yet = Uploads(unused, unused, read, False, lambda bucket, seconds: None)  # type: ignore[arg-type]
    assert asyncio.run(nothing_yet.before_serving("/uploads/recent", targets=None)) is None  # type: ignore[arg-type]
