"""Seeds function ``api-worker``, which the application's api service calls, and its role, set up
for AWS FIS's Lambda actions ("Use the AWS FIS aws:lambda:function actions"): the FIS extension
as a layer, ``AWS_LAMBDA_EXEC_WRAPPER`` ``/opt/aws-fis/bootstrap``, ``AWS_FIS_CONFIGURATION_LOCATION``
naming the folder ``FisConfigs/`` of bucket ``fis-lambda-config``, and the role allowed to read
it. AWS publishes the extension from its own account; the lab publishes a layer of that name
in the lab's account (moto refuses a layer it does not hold)."""

import io
import json
import zipfile
from typing import Any

from chaos_sre.lab.core.settings import Profile
from chaos_sre.services.awslambda import FIS_LOCATION_VARIABLE, FIS_WRAPPER, FIS_WRAPPER_VARIABLE

SEED_ORDER = 45
FUNCTION = "api-worker"
FIS_LAYER = "aws-fis-extension-x86_64"
CONFIG_BUCKET = "fis-lambda-config"
CONFIG_PREFIX = "FisConfigs/"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create role and function ``api-worker`` (Python, tagged ``app=api-worker``, no reserved
    concurrency: it draws on the account's unreserved pool), with FIS's extension."""
    iam = session.client("iam", endpoint_url=endpoint_url)
    role = iam.create_role(RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=FUNCTION, PolicyName="fis-extension", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{CONFIG_BUCKET}",
             "Condition": {"StringLike": {"s3:prefix": [f"{CONFIG_PREFIX}*"]}}},
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{CONFIG_BUCKET}/{CONFIG_PREFIX}*"}]}))
    session.client("s3", endpoint_url=endpoint_url).create_bucket(Bucket=CONFIG_BUCKET)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("worker.py", "def handler(event, context):\n    return event\n")
    aws = session.client("lambda", endpoint_url=endpoint_url)
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("aws-fis/bootstrap", "#!/bin/sh\nexec \"$@\"\n")
    layer_arn = aws.publish_layer_version(LayerName=FIS_LAYER, Content={"ZipFile": layer.getvalue()},
                                          CompatibleRuntimes=["python3.12"])["LayerVersionArn"]
    aws.create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="worker.handler",
        Code={"ZipFile": code.getvalue()}, Tags={"app": FUNCTION, "env": "staging"},
        Layers=[layer_arn], Environment={"Variables": {
            FIS_WRAPPER_VARIABLE: FIS_WRAPPER, FIS_LOCATION_VARIABLE: f"arn:aws:s3:::{CONFIG_BUCKET}/{CONFIG_PREFIX}"}})
