"""Multi-account FIS experiments: the experiment in an orchestrator account, the faults in a
target account ("Working with multi-account experiments for AWS FIS").

The orchestrator account owns the template, the experiment, its stop-condition alarms and its
dashboard; the target account holds the resources the faults act on - the account the
experiment's own configuration reaches, where its probes and SLO read the service. FIS acts in
the target account through role chaining: the template's role, in the orchestrator account,
assumes the role of the target account configuration ("Prerequisites for multi-account
experiments": the target role trusts the orchestrator role for ``sts:AssumeRole`` with
``sts:ExternalId`` the orchestrator's experiment ARNs). The runner reaches the orchestrator
account by assuming ``--orchestrator-role-arn`` from its own credentials.

The stop condition is a cross-account alarm: its metric queries name the target account
(``AccountId``), which CloudWatch cross-account observability must let the orchestrator (the
monitoring account) read.
"""

import re
from dataclasses import dataclass
from typing import Any

from chaos_sre.errors import ValidationError

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class Accounts:
    """Where an exported experiment lives and where it acts."""

    target: str
    """The account whose resources the faults act on (the experiment's configuration reaches it)."""
    orchestrator: str | None = None
    """The account that owns the template and the experiment; None: the target's own."""

    @property
    def home(self) -> str:
        """The account that owns the template, its alarms and dashboard."""
        return self.orchestrator or self.target

    @property
    def multi(self) -> bool:
        """Whether the experiment runs in another account than the one it acts on."""
        return self.orchestrator is not None and self.orchestrator != self.target

    def target_role_arn(self, role_name: str) -> str:
        """The role FIS assumes in the target account (the target account configuration's)."""
        return f"arn:aws:iam::{self.target}:role/{role_name}"


def role_account(role_arn: str, option: str = "--orchestrator-role-arn") -> str:
    """The account of IAM role ``role_arn`` (a one-line ValidationError when it is not one)."""
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ValidationError(f"{option}: expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), "
                              f"got {role_arn!r}")
    return match.group(1)


def orchestrator_configuration(configuration: dict[str, Any] | None,
                               orchestrator_role_arn: str | None) -> dict[str, Any]:
    """The configuration that reaches the orchestrator account: the experiment's, assuming
    ``orchestrator_role_arn`` (unchanged without one)."""
    configuration = dict(configuration or {})
    if orchestrator_role_arn:
        configuration.update(aws_assume_role_arn=orchestrator_role_arn,
                             aws_assume_role_session_name="chaos-sre-fis")
    return configuration


def target_trust_policy(orchestrator_role_arn: str, region: str, orchestrator: str) -> dict[str, Any]:
    """The target role's trust policy: the orchestrator's FIS role, for its experiments only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": orchestrator_role_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {
            "sts:ExternalId": f"arn:aws:fis:{region}:{orchestrator}:experiment/*"}}}]}
