"""One cached boto3 session per (region, endpoint, profile, role), read from Chaos Toolkit's AWS
configuration keys, so chaos-sre's activities act on the account chaostoolkit-aws's act on.

Pure logic: moto's in-process backends answer STS, no lab subprocess.
AssumeRole returns temporary credentials whose caller identity is the assumed role:
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
"""

from pathlib import Path

import pytest
from moto import mock_aws

from chaos_sre.aws.client import aws_client, aws_session, session_key
from chaos_sre.errors import AWSError
from chaos_sre.safety.ledger import Ledger

ROLE = "arn:aws:iam::123456789012:role/chaos-runner"


@pytest.fixture(autouse=True)
def offline_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fake credentials and a private AWS config file; no endpoint, so moto's mock answers."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = tmp_path / "config"
    config.write_text("[profile staging]\naws_access_key_id = AKIASTAGINGEXAMPLE\n"
                      "aws_secret_access_key = staging-secret\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return config


@mock_aws
def test_an_assumed_role_is_assumed_once_and_shared_by_every_client() -> None:
    configuration = {"aws_region": "us-east-1", "aws_assume_role_arn": ROLE,
                     "aws_assume_role_session_name": "gameday"}
    key = session_key(configuration)
    assert aws_session(key) is aws_session(session_key(dict(configuration)))
    identity = aws_client("sts", configuration).get_caller_identity()
    assert identity["Arn"].endswith(":assumed-role/chaos-runner/gameday"), identity
    ec2, ecs = aws_client("ec2", configuration), aws_client("ecs", configuration)
    first, second = (c._request_signer._credentials.get_frozen_credentials() for c in (ec2, ecs))
    assert first == second and first.access_key != "testing" and first.token


@mock_aws
def test_without_a_role_the_callers_own_credentials_are_used() -> None:
    identity = aws_client("sts", {"aws_region": "us-east-1"}).get_caller_identity()
    assert ":assumed-role/" not in identity["Arn"]
    assert aws_session(session_key({"aws_region": "us-east-1"})) is not \
        aws_session(session_key({"aws_region": "us-east-1", "aws_assume_role_arn": ROLE}))


def test_a_profile_names_the_credentials() -> None:
    client = aws_client("ec2", {"aws_region": "us-east-1", "aws_profile_name": "staging"})
    assert client._request_signer._credentials.access_key == "AKIASTAGINGEXAMPLE"
    assert client.meta.region_name == "us-east-1"  # aws_region wins over the profile's region


def test_an_unknown_profile_is_a_one_line_error() -> None:
    with pytest.raises(AWSError, match=r"^AWS profile 'prod' \(aws_profile_name\) is not configured$"):
        aws_client("ec2", {"aws_region": "us-east-1", "aws_profile_name": "prod"})


def test_the_endpoint_and_region_come_from_the_configuration_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    key = session_key({"aws_region": "eu-central-1", "aws_endpoint_url": "http://127.0.0.1:5566"})
    assert (key.region, key.endpoint) == ("eu-central-1", "http://127.0.0.1:5566")
    assert session_key({}).endpoint == "http://127.0.0.1:9"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AWSError, match="no AWS region"):
        session_key({})


def test_the_ledger_keeps_the_profile_and_role_so_a_rollback_acts_as_the_run_did(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "run.jsonl")
    ledger.note_context({"aws_region": "us-east-1", "aws_profile_name": "staging",
                         "aws_assume_role_arn": ROLE})
    seq = ledger.record("table sessions", "throttle", {}, None)
    context = ledger.contexts()[seq]
    assert context["aws_profile_name"] == "staging" and context["aws_assume_role_arn"] == ROLE
    assert "testing" not in (tmp_path / "run.jsonl").read_text()  # never a credential
    ledger.note_context({"aws_region": "us-east-1", "aws_profile_name": "staging",
                         "aws_assume_role_arn": ROLE})
    ledger.note_context({"aws_region": "us-east-1"})
    ledger.note_context({"aws_region": "us-east-1"})
    contexts = [e for e in ledger.entries() if e["kind"] == "context"]
    assert len(contexts) == 2 and "aws_profile_name" not in contexts[1]  # written only when it changes
