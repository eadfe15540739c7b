"""Seeds function ``worker`` (and the role it runs as)."""

import io
import json
import zipfile
from typing import Any

from chaos_sre.lab.core.settings import Profile

SEED_ORDER = 50
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create role ``worker`` and function ``worker`` (Python, tagged ``app=worker``)."""
    role = session.client("iam", endpoint_url=endpoint_url).create_role(
        RoleName="worker", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("worker.py", "def handler(event, context):\n    return event\n")
    session.client("lambda", endpoint_url=endpoint_url).create_function(
        FunctionName="worker", Runtime="python3.12", Role=role, Handler="worker.handler",
        Code={"ZipFile": code.getvalue()}, Tags={"app": "worker", "env": "staging"})
