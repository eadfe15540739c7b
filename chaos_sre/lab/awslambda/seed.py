"""Seeds function ``api-worker``, which the application's api service calls, and its role."""

import io
import json
import zipfile
from typing import Any

from chaos_sre.lab.core.settings import Profile

SEED_ORDER = 45
FUNCTION = "api-worker"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create role and function ``api-worker`` (Python, tagged ``app=api-worker``, no reserved
    concurrency: it draws on the account's unreserved pool)."""
    role = session.client("iam", endpoint_url=endpoint_url).create_role(
        RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("worker.py", "def handler(event, context):\n    return event\n")
    session.client("lambda", endpoint_url=endpoint_url).create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="worker.handler",
        Code={"ZipFile": code.getvalue()}, Tags={"app": FUNCTION, "env": "staging"})
