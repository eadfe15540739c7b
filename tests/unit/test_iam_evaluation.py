"""The lab's IAM policy evaluation (chaos_sre.lab.core.iam_evaluation), as AWS documents it
("Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
against the generated runner policy: pure logic, no lab."""

import pytest
from conftest import runner_policy

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.iam_evaluation import Request, Resource, allows, request_from_json, validate

STAGING = {"env": "staging", "app": "web"}
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def statements() -> list[dict]:
    return validate(runner_policy())


def test_reads_are_allowed_anywhere_and_mutations_only_on_tagged_targets_in_the_region() -> None:
    policy = statements()
    assert allows(policy, Request("ec2:DescribeInstances", "us-east-1"))
    assert allows(policy, Request("ec2:TerminateInstances", "us-east-1", (Resource(INSTANCE, STAGING),)))
    assert not allows(policy, Request("ec2:TerminateInstances", "us-east-1", (Resource(INSTANCE),)))
    assert not allows(policy, Request("ec2:TerminateInstances", "us-east-1",
                                      (Resource(INSTANCE, {"env": "production"}),)))
    assert not allows(policy, Request("ec2:TerminateInstances", "eu-west-1",
                                      (Resource(INSTANCE, STAGING),)))
    assert not allows(policy, Request("ec2:RunInstances", "us-east-1"))


def test_every_resource_of_a_request_must_be_allowed() -> None:
    """TerminateInstances of a tagged and an untagged instance is denied as a whole."""
    both = (Resource(INSTANCE, STAGING), Resource(INSTANCE.replace("0abc", "0def")))
    assert not allows(statements(), Request("ec2:TerminateInstances", "us-east-1", both))


def test_the_runner_cannot_rewrite_the_tags_the_guardrails_trust() -> None:
    """ec2:CreateTags only on network ACLs it creates, tagged as its own, at creation."""
    policy = statements()
    acl = Resource("arn:aws:ec2:us-east-1:123456789012:network-acl/*")
    own = {"chaos-sre:fault": "deny-all", "chaos-sre:run": "run-1"}
    assert allows(policy, Request("ec2:CreateTags", "us-east-1", (acl,), own,
                                  {"ec2:CreateAction": "CreateNetworkAcl"}))
    assert not allows(policy, Request("ec2:CreateTags", "us-east-1", (Resource(INSTANCE, STAGING),),
                                      {"env": "staging"}))
    assert not allows(policy, Request("ec2:CreateTags", "us-east-1", (acl,), own))
    existing = Resource("arn:aws:ec2:us-east-1:123456789012:network-acl/acl-1", {"env": "staging"})
    assert not allows(policy, Request("ec2:DeleteNetworkAcl", "us-east-1", (existing,)))
    assert allows(policy, Request("ec2:DeleteNetworkAcl", "us-east-1", (Resource(
        existing.arn, {"chaos-sre:fault": "deny-all"}),)))


def test_explicit_deny_wins_and_wildcards_match_as_iam_does() -> None:
    document = {"Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ec2:terminate?nstances", "Resource": "arn:aws:ec2:*:*:instance/*",
         "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/env": "production"}}},
    ]}
    policy = validate(document)
    assert not allows(policy, Request("ec2:TerminateInstances", "us-east-1",
                                      (Resource(INSTANCE, {"env": "production"}),)))
    assert not allows(policy, Request("ec2:TerminateInstances", "us-east-1", (Resource(INSTANCE),))), \
        "IfExists: an absent tag satisfies the Deny"
    assert allows(policy, Request("ec2:TerminateInstances", "us-east-1", (Resource(INSTANCE, STAGING),)))
    assert not allows(policy, Request("rds:RebootDBInstance", "us-east-1"))


def test_bool_conditions_and_requests_round_trip_through_json() -> None:
    policy = validate({"Statement": [{
        "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "arn:aws:kms:*:*:key/*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]})
    grant = Request("kms:CreateGrant", "us-east-1",
                    (Resource("arn:aws:kms:us-east-1:123456789012:key/k-1"),),
                    context={"kms:GrantIsForAWSResource": "true"})
    assert allows(policy, grant)
    assert not allows(policy, Request("kms:CreateGrant", "us-east-1", grant.resources))
    assert request_from_json(grant.as_json()) == grant


@pytest.mark.parametrize("document, message", [
    ({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}, "NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                     "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]},
     "NumericLessThan"),
    ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, "Effect"),
    ({"Version": "2012-10-17"}, "Statement"),
])
def test_a_document_the_lab_cannot_evaluate_is_refused(document: dict, message: str) -> None:
    """The lab never guesses in the permissive direction."""
    with pytest.raises(ValidationError, match=message):
        validate(document)
