"""The lab names every request by botocore's service models, in every wire protocol: the
operation, its IAM action and its parameters; a request it cannot name is refused, never served
unseen (in process: requests are serialized and signed by botocore itself, as boto3 sends them)."""

import io
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.serialize
import botocore.session
import pytest

from chaos_sre.lab.core import operations
from chaos_sre.lab.core.operations import NameRequests, UnnamedRequest, name_request
from chaos_sre.lab.core.services import botocore_services

operations.preload([*botocore_services(), "elb"])  # as a lab does before it serves (with ELB
# Classic here, so that naming every operation below reads 17 models, not all 455)
SESSION = botocore.session.get_session()
CREDENTIALS = botocore.credentials.Credentials("AKIDEXAMPLE", "secret")
SERVICES = ("ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "dynamodb", "ecs", "rds",
            "application-autoscaling", "sts", "iam", "lambda", "s3", "eks", "fis", "arc-zonal-shift")
"""Every protocol: ec2, query (Auto Scaling, ELB, ELBv2, RDS, STS, IAM), json (DynamoDB, ECS,
Application Auto Scaling), smithy-rpc-v2-cbor (CloudWatch), rest-json (Lambda, EKS, FIS, ARC
zonal shift) and rest-xml (S3)."""
WIRE_TWINS = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",
}
"""Operations whose request is the very same as another's: deprecated S3 operations and their
replacements (the same method, path and query), and ListDirectoryBuckets, which only its
endpoint (s3express) tells from ListBuckets. The lab names them as the one that replaced them."""


def _dummy(shape: Any, depth: int = 0) -> Any:
    """A value of ``shape`` with every required member (what a serializer needs)."""
    kind = shape.type_name
    if kind == "structure":
        return {n: _dummy(shape.members[n], depth + 1) for n in shape.required_members} \
            if depth < 6 else {}
    return {"string": shape.enum[0] if getattr(shape, "enum", None) else "x1", "integer": 1,
            "long": 1, "float": 1.0, "double": 1.0, "boolean": True, "blob": b"x", "timestamp": 0,
            "map": {}}.get(kind, [_dummy(shape.member, depth + 1)] if kind == "list" else "x")


def environ_for(service: str, operation: str) -> dict[str, Any]:
    """The WSGI environ of ``service.operation`` as botocore serializes and signs it."""
    model = SESSION.get_service_model(service)
    operation_model = model.operation_model(operation)
    params = _dummy(operation_model.input_shape) if operation_model.input_shape else {}
    request = botocore.serialize.create_serializer(model.protocol, include_validation=False) \
        .serialize_to_request(params, operation_model)
    url = "http://127.0.0.1:5000" + request["url_path"]
    query = request["query_string"]
    if query:
        url += ("&" if "?" in url else "?") + (urlencode(query, doseq=True)
                                               if isinstance(query, dict) else query)
    signed = botocore.awsrequest.AWSRequest(method=request["method"], url=url,
                                            data=request["body"], headers=request["headers"])
    signing = model.metadata.get("signingName") or model.metadata["endpointPrefix"]
    botocore.auth.SigV4Auth(CREDENTIALS, signing, "us-east-1").add_auth(signed)
    prepared = signed.prepare()
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    parts = urlsplit(prepared.url)
    environ: dict[str, Any] = {"REQUEST_METHOD": prepared.method, "PATH_INFO": unquote(parts.path),
                               "QUERY_STRING": parts.query, "CONTENT_LENGTH": str(len(body)),
                               "wsgi.input": io.BytesIO(body)}
    for key, value in prepared.headers.items():
        name = key.upper().replace("-", "_")
        text = value.decode() if isinstance(value, bytes) else value
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif name != "CONTENT_LENGTH":
            environ[f"HTTP_{name}"] = text
    return environ


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_of_every_protocol_is_named(service: str) -> None:
    model = SESSION.get_service_model(service)
    misnamed = {}
    for operation in model.operation_names:
        environ = environ_for(service, operation)
        named = name_request(environ)
        if (named.service, named.operation) != (service, WIRE_TWINS.get(operation, operation)):
            misnamed[operation] = (named.service, named.operation)
        assert environ["wsgi.input"].read() is not None  # the body is still there for moto
    assert not misnamed


def test_iam_actions_and_parameters_follow_the_service_authorization_reference() -> None:
    """IAM names: CloudWatch signs as monitoring but its actions are cloudwatch:*; Lambda's
    Invoke needs lambda:InvokeFunction and S3's ListObjectsV2 s3:ListBucket. REST parameters:
    the URI labels by member name, with the JSON body."""
    concurrency = name_request(environ_for("lambda", "PutFunctionConcurrency"))
    assert concurrency.iam_action == "lambda:PutFunctionConcurrency"
    assert concurrency.params == {"FunctionName": "x1", "ReservedConcurrentExecutions": 1}
    assert concurrency.protocol == "rest-json"
    assert name_request(environ_for("lambda", "Invoke")).iam_action == "lambda:InvokeFunction"
    assert name_request(environ_for("s3", "ListObjectsV2")).iam_action == "s3:ListBucket"
    assert name_request(environ_for("s3", "PutBucketPolicy")).params["Bucket"] == "x1"
    assert name_request(environ_for("cloudwatch", "PutMetricData")).iam_action == \
        "cloudwatch:PutMetricData"
    assert name_request(environ_for("elb", "DescribeLoadBalancers")).service == "elb"
    assert name_request(environ_for("elbv2", "DescribeLoadBalancers")).service == "elbv2"
    terminate = name_request(environ_for("ec2", "TerminateInstances"))
    assert (terminate.protocol, terminate.params["InstanceId.1"]) == ("ec2", ["x1"])


@pytest.mark.parametrize(("change", "why"), [
    (lambda e: e.pop("HTTP_AUTHORIZATION"), "not signed with AWS Signature Version 4"),
    (lambda e: e.update(HTTP_AUTHORIZATION=e["HTTP_AUTHORIZATION"].replace("/lambda/", "/nope/")),
     "no AWS service signs as 'nope'"),
    (lambda e: e.update(PATH_INFO="/2099-01-01/nothing"), "no lambda operation answers POST "),
    (lambda e: e.update(REQUEST_METHOD="PATCH"), "no lambda operation answers PATCH "),
])
def test_a_request_that_names_no_operation_is_refused_in_one_line(
        change: Any, why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "_signing_index", dict)  # no other model signs as "nope"
    environ = environ_for("lambda", "Invoke")
    change(environ)
    with pytest.raises(UnnamedRequest, match=why):
        name_request(environ)
    served: list[str] = []
    answered: list[str] = []
    app = NameRequests(lambda env, start: served.append("moto") or [b""])
    body = b"".join(app(environ, lambda status, headers: answered.append(status)))
    assert served == [] and answered == ["400 Bad Request"]
    assert b"the chaos-sre lab cannot name this request" in body and why.encode() in body
    assert list(app.refused.values()) == [1]


def test_the_labs_own_requests_are_named_without_reading_every_model() -> None:
    """Reading all of botocore's models takes seconds and hundreds of megabytes: a lab names the
    requests of the services it answers from their models alone (it read them before serving)."""
    operations._signing_index.cache_clear()
    for service in botocore_services():
        model = SESSION.get_service_model(service)
        for operation in list(model.operation_names)[:25]:
            assert name_request(environ_for(service, operation)).service == service
    assert operations._signing_index.cache_info().currsize == 0


def test_a_service_the_lab_does_not_answer_is_found_among_botocore_s_other_models(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """ELB Classic signs as elasticloadbalancing, as ELBv2 (which the lab answers) does: its
    calls are named from the second tier, botocore's other models (a stand-in index here:
    reading them all takes seconds)."""
    monkeypatch.setattr(operations, "_declared", {"elasticloadbalancing": ("elbv2",)})
    monkeypatch.setattr(operations, "_signing_index",
                        lambda: {"elasticloadbalancing": ("elbv2", "elb")})
    classic = name_request(environ_for("elb", "DescribeLoadBalancerPolicies"))
    assert (classic.service, classic.iam_action) == (
        "elb", "elasticloadbalancing:DescribeLoadBalancerPolicies")
    assert name_request(environ_for("elbv2", "DescribeLoadBalancers")).service == "elbv2"


def test_put_bucket_replication_also_passes_its_role_to_s3() -> None:
    """PutBucketReplication: "the user or role performing the action must have the iam:PassRole
    permission" (Amazon S3 API Reference): the lab reads the configuration's Role from the XML
    body and makes an iam:PassRole request for it, passed to s3.amazonaws.com."""
    from chaos_sre.lab.core.iam_evaluation import Resource
    from chaos_sre.lab.s3.calls import iam_requests

    request = name_request(environ_for("s3", "PutBucketReplication"))
    made = iam_requests(request.iam_action, request.params, "us-east-1", [Resource("arn:aws:s3:::x1")])
    assert made is not None
    assert [(r.action, [x.arn for x in r.resources], dict(r.context)) for r in made] == [
        ("s3:PutReplicationConfiguration", ["arn:aws:s3:::x1"], {}),
        ("iam:PassRole", ["x1"], {"iam:PassedToService": "s3.amazonaws.com"})]
