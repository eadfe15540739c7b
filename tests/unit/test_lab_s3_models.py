"""S3's bucket policy evaluation and request rates per prefix, as the lab plays them
(chaos_sre/lab/s3/): pure, without a lab."""

import json

import pytest

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.s3.bucket_policy import MAX_POLICY_BYTES, Decision, allowed, bucket_statements, decide
from chaos_sre.lab.s3.request_rates import READ_RATE, WRITE_RATE, PrefixRates, prefix_of

ACCOUNT = "123456789012"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-app"
APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/web-app/i-0abc"
RUNNER = f"arn:aws:iam::{ACCOUNT}:role/chaos-runner"
OBJECTS = "arn:aws:s3:::uploads/*"


def put_object(key: str = "incoming/a.png") -> Request:
    return Request("s3:PutObject", "us-east-1", (Resource(f"arn:aws:s3:::uploads/{key}"),))


def policy(*statements: dict[str, object]) -> list[dict[str, object]]:
    return bucket_statements(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_an_explicit_deny_for_the_role_wins_over_every_allow_and_names_only_that_role() -> None:
    """"Policy evaluation logic" (IAM User Guide) and "How Amazon S3 authorizes a request": an
    explicit Deny in the bucket policy wins over the principal's identity-based Allow; within the
    account, an Allow from either policy suffices; a statement for the role applies to its
    sessions ("AWS JSON policy elements: Principal") and to no other principal."""
    deny_app = {"Sid": "ChaosSreDeny", "Effect": "Deny", "Principal": {"AWS": APP_ROLE},
                "Action": ["s3:PutObject", "s3:GetObject"], "Resource": OBJECTS}
    statements = policy(deny_app, {"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                   "Action": "s3:*", "Resource": OBJECTS})
    assert decide(statements, APP_SESSION, put_object()) is Decision.DENY
    assert not allowed(statements, APP_SESSION, put_object(), identity_allows=True)
    assert allowed(statements, RUNNER, put_object(), identity_allows=False)  # the account's allow
    assert decide(statements, APP_ROLE, Request("s3:DeleteObject", "us-east-1",
                                                (Resource(f"{OBJECTS[:-1]}x"),))) is Decision.ALLOW
    silent = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                     "Action": "s3:GetObject", "Resource": OBJECTS})
    assert decide(silent, APP_SESSION, put_object()) is Decision.SILENT
    assert allowed(silent, APP_SESSION, put_object(), identity_allows=True)
    assert not allowed(silent, APP_SESSION, put_object(), identity_allows=False)
    everyone = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS})
    assert decide(everyone, RUNNER, put_object()) is Decision.DENY


def test_what_s3_refuses_or_the_lab_cannot_evaluate_is_refused_when_put() -> None:
    """PutBucketPolicy: at most 20 KB ("Policy exceeds the maximum allowed document size"),
    valid JSON, a Principal in every statement; NotPrincipal is not evaluated by the lab."""
    big = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": [f"arn:aws:s3:::uploads/{n:05d}/*" for n in range(1000)]}
    assert len(json.dumps({"Statement": [big]})) > MAX_POLICY_BYTES
    for text, message in ((json.dumps({"Statement": [big]}), "maximum allowed document size"),
                          ("{not json", "valid JSON"),
                          (json.dumps({"Statement": [{"Effect": "Deny", "Action": "s3:*",
                                                      "Resource": "*"}]}), "needs a Principal"),
                          (json.dumps({"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": RUNNER},
                                                      "Principal": "*", "Action": "s3:*",
                                                      "Resource": "*"}]}), "NotPrincipal is not supported")):
        with pytest.raises(ValidationError, match=message):
            bucket_statements(text)


def test_each_prefix_has_its_own_rates_and_past_them_requests_slow_down() -> None:
    """"Optimizing Amazon S3 performance": at least 3,500 PUT/COPY/POST/DELETE and 5,500
    GET/HEAD requests per second per partitioned prefix; the lab's partition is the key up to its
    last "/" and its window one second."""
    rates = PrefixRates()
    assert prefix_of("incoming/2026/a.png") == "incoming/2026" and prefix_of("a.png") == ""
    assert all(rates.admit("uploads", f"incoming/{n}.png", "PUT", 10.0) for n in range(WRITE_RATE))
    assert not rates.admit("uploads", "incoming/late.png", "PUT", 10.5)
    assert rates.admit("uploads", "assets/logo.png", "PUT", 10.5)  # another prefix
    assert all(rates.admit("uploads", "incoming/x.png", "GET", 10.5) for _ in range(READ_RATE))
    assert not rates.admit("uploads", "incoming/x.png", "HEAD", 10.6)
    assert rates.admit("uploads", "incoming/next.png", "PUT", 11.01)  # a second later
