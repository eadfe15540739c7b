"""Seeds the lab's orchestrator account (:data:`~chaos_sre.lab.core.settings.ORCHESTRATOR_ACCOUNT_ID`):
the role ``chaos-sre-runner``, which the application's account may assume, so a runner reaches the
orchestrator account as it would in a real organization (``chaos-sre fis run
--orchestrator-role-arn``). The account holds nothing else: a multi-account FIS experiment made
there acts on the application's account."""

import json
from typing import Any

from chaos_sre.lab.core.settings import ACCOUNT_ID, ORCHESTRATOR_ACCOUNT_ID, REGION, Profile

SEED_ORDER = 40
RUNNER_ROLE = "chaos-sre-runner"
ORCHESTRATOR_RUNNER_ROLE_ARN = f"arn:aws:iam::{ORCHESTRATOR_ACCOUNT_ID}:role/{RUNNER_ROLE}"


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create the orchestrator account's runner role (reached through STS AssumeRole, as moto
    places an assumed role's calls in the role's account)."""
    sts = session.client("sts", endpoint_url=endpoint_url)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ORCHESTRATOR_ACCOUNT_ID}:role/lab-seeding",
                                  RoleSessionName="chaos-sre-lab")["Credentials"]
    iam = session.client("iam", endpoint_url=endpoint_url, region_name=REGION,
                         aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=RUNNER_ROLE, AssumeRolePolicyDocument=json.dumps(trust),
                    Description="The chaos-sre runner in the orchestrator account (multi-account FIS)")
