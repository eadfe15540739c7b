"""The IAM action an AWS API operation needs.

It is the service's IAM prefix and the operation's name (``ec2:TerminateInstances``), except
where the Service Authorization Reference says otherwise ("Actions, resources, and condition
keys for AWS services",
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
a prefix other than the name the service signs its requests with, or a permission named
differently from its operation.
"""

IAM_PREFIXES = {"monitoring": "cloudwatch"}
"""Signing names whose IAM prefix differs (CloudWatch signs as ``monitoring``)."""
IAM_ACTIONS = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeWithResponseStream": "lambda:InvokeFunction",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:DeleteObjects": "s3:DeleteObject",
    "s3:CopyObject": "s3:PutObject",
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:GetBucketReplication": "s3:GetReplicationConfiguration",
    "s3:PutBucketReplication": "s3:PutReplicationConfiguration",
    "s3:DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}
"""Operations whose permission has another name."""


def iam_action(signing_name: str, operation: str) -> str:
    """The IAM action of ``operation`` of the service signing as ``signing_name``."""
    name = f"{IAM_PREFIXES.get(signing_name, signing_name)}:{operation}"
    return IAM_ACTIONS.get(name, name)
