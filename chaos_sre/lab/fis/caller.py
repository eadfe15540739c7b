"""How the lab's FIS reaches the lab's AWS API: as FIS does, with the experiment's role.

FIS resolves targets and runs its actions by calling the services' APIs with the role the
experiment names (a multi-account experiment: each target account configuration's role), in a
session it opens with ``sts:AssumeRole`` ("Experiment role", "Permissions for multi-account
experiments"). The lab does the same through its own endpoint: the calls are named, logged
(``/__lab/api-calls``, ``/__lab/mutations``), drawn from the account's API rate limits (the
SDK's standard retries wait a throttle out, as FIS retries) and made in the role's account.
When the lab's IAM holds the role, the session is held to the role's policies
(:mod:`chaos_sre.lab.fis.roles`). The calls are counted per experiment (``lab status``:
``fis_experiments[].api_calls``). FIS runs on AWS's side, outside the account's network: its
calls always reach the API, whatever a fault did to the runner's subnets
(:func:`~chaos_sre.lab.core.caller_route.add_service_caller`).
"""

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from chaos_sre.aws.call_counts import RequestCounts, count_requests
from chaos_sre.lab.core.caller_route import add_service_caller
from chaos_sre.lab.core.internal_client import internal_session
from chaos_sre.lab.core.settings import REGION

SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)
"""FIS's calls: standard retries (a throttled read waits and retries), bounded timeouts."""
_CLIENTS = threading.Lock()
"""boto3's session makes one client at a time (the lab's session is shared by its threads)."""


@dataclass
class FisCaller:
    """One experiment's calls: a session per role it acts as, every request counted."""

    endpoint_url: str
    session_name: str
    attach_policy: Callable[[dict[str, Any] | None, str], None]
    """Hold an access key's calls to a policy (the lab's IAM evaluation)."""
    counts: RequestCounts = field(default_factory=RequestCounts)
    policies: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Role ARN -> the policy its sessions are held to (:mod:`chaos_sre.lab.fis.roles`)."""
    _credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, role_arn: str) -> Any:
        """A client of ``service`` acting as ``role_arn`` (in the role's account), made once per
        experiment (boto3's clients are safe to share between threads)."""
        with self._lock:
            found = self._clients.get((service, role_arn))
        if found is not None:
            return found
        credentials = self._assumed(role_arn)
        with _CLIENTS:
            client = internal_session().client(
                service, endpoint_url=self.endpoint_url, region_name=REGION, config=SDK_CONFIG,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"])
        count_requests(client, self.counts)
        with self._lock:
            return self._clients.setdefault((service, role_arn), client)

    def calls(self) -> dict[str, int]:
        """The requests made so far, retries included, by IAM action."""
        return dict(sorted(self.counts.snapshot().items()))

    def _assumed(self, role_arn: str) -> dict[str, Any]:
        """The role's credentials (AssumeRole once per role and experiment)."""
        with self._lock:
            found = self._credentials.get(role_arn)
        if found is not None:
            return found
        with _CLIENTS:
            sts = internal_session().client("sts", endpoint_url=self.endpoint_url, config=SDK_CONFIG)
        credentials = dict(sts.assume_role(RoleArn=role_arn, RoleSessionName=self.session_name)["Credentials"])
        self.counts.add("sts:AssumeRole")
        add_service_caller(credentials["AccessKeyId"])
        if role_arn in self.policies:
            self.attach_policy(dict(self.policies[role_arn]), credentials["AccessKeyId"])
        with self._lock:
            self._credentials[role_arn] = credentials
        return credentials
