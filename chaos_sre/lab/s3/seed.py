"""Seeds the upload path's storage: bucket ``uploads`` (versioned, replicated to
``uploads-replica``), the web tier's role ``web-app`` that writes and reads it, and the role S3
replicates as."""

import json
from typing import Any

from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.web.layout import TAGS

SEED_ORDER = 46
BUCKET = "uploads"
ASSET = "assets/logo.svg"
"""The object ``/assets/logo.svg`` reads."""
REPLICA = "uploads-replica"
APP_ROLE = "web-app"
REPLICATION_ROLE = "s3-replication"


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create the buckets (versioning on both, as replication requires: "Requirements and
    considerations for replication", Amazon S3 User Guide), the replication rule of every object
    of ``uploads``, the asset ``/assets/logo.svg`` serves, and role ``web-app`` allowed to put and
    get its objects and get the replica's."""
    iam = session.client("iam", endpoint_url=endpoint_url)
    iam.create_role(RoleName=APP_ROLE, AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    iam.put_role_policy(RoleName=APP_ROLE, PolicyName="uploads", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": f"arn:aws:s3:::{BUCKET}/*"}, {
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{REPLICA}/*"}]}))
    replication_role = iam.create_role(RoleName=REPLICATION_ROLE,
                                       AssumeRolePolicyDocument=_trust("s3.amazonaws.com"))["Role"]["Arn"]
    s3 = session.client("s3", endpoint_url=endpoint_url)
    for name in (BUCKET, REPLICA):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v}
                                                              for k, v in TAGS.items()]})
    s3.put_object(Bucket=BUCKET, Key=ASSET, Body=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                  ContentType="image/svg+xml")
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration={
        "Role": replication_role, "Rules": [{
            "ID": "all-uploads", "Priority": 1, "Status": "Enabled", "Filter": {},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{REPLICA}"}}]})
