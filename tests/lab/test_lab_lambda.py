"""Lambda in the lab: function ``api-worker`` invoked as Lambda invokes it - concurrency,
throttles and invocation types (chaos_sre/lab/awslambda/) - for plain boto3 and for
chaostoolkit-aws's Lambda actions."""

import asyncio
import json
from collections.abc import Iterator

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import RunningLab, account_snapshot, lab_for_module, wait_until

from chaos_sre.lab.awslambda.invocations import RESERVED_LIMIT, Invocation
from chaos_sre.lab.awslambda.routes import CAUSE_THROTTLED, FunctionCall
from chaos_sre.lab.web.answers import Failure, Fallback

FUNCTION = "api-worker"


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with lab_for_module(tmp_path_factory) as lab:
        yield lab


def functions(lab: RunningLab) -> dict[str, dict[str, int | None]]:
    return dict(lab.api.status()["lambda_functions"])


def test_invoke_answers_as_lambda_documents_and_reserved_concurrency_throttles(module_lab: RunningLab) -> None:
    """"Invoke" (AWS Lambda API Reference): RequestResponse answers 200 with the function's
    payload, Event 202, DryRun 204 without invoking. "Configuring reserved concurrency": 0
    throttles every invocation - a synchronous caller gets 429 TooManyRequestsException - and a
    reservation leaving fewer than 100 of the account's 1,000 ("Lambda quotas") unreserved is
    refused with InvalidParameterValueException; DeleteFunctionConcurrency lets it run again."""
    aws = module_lab.client("lambda", retries=False)
    start = dict(functions(module_lab)[FUNCTION])  # the module's other tests may have run first
    answered = aws.invoke(FunctionName=FUNCTION, Payload=json.dumps({"order": 7}))
    assert answered["StatusCode"] == 200 and answered["ExecutedVersion"] == "$LATEST"
    assert json.loads(answered["Payload"].read()) == {"order": 7}
    assert aws.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert aws.invoke(FunctionName=FUNCTION, InvocationType="DryRun")["StatusCode"] == 204
    assert wait_until(lambda: functions(module_lab)[FUNCTION].get("invocations") ==
                      start.get("invocations", 0) + 2, timeout=5)
    assert functions(module_lab)[FUNCTION]["reserved_concurrency"] is None  # the event ran too

    aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as throttled:
        aws.invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    with pytest.raises(ClientError, match="below its minimum value of \\[100\\]") as refused:
        aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=901)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert aws.get_function_concurrency(FunctionName=FUNCTION)["ReservedConcurrentExecutions"] == 0
    aws.delete_function_concurrency(FunctionName=FUNCTION)
    assert aws.invoke(FunctionName=FUNCTION, Payload=b"{}")["StatusCode"] == 200
    after = functions(module_lab)[FUNCTION]
    assert after["reserved_concurrency"] is None and after["throttles"] == start.get("throttles", 0) + 1
    with pytest.raises(ClientError) as missing:
        aws.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_chaostoolkit_aws_throttles_and_releases_the_function(module_lab: RunningLab,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """chaostoolkit-aws's put_function_concurrency and delete_function_concurrency against the
    lab: the function is throttled while its reserved concurrency is 0, then runs again, and the
    account snapshot shows it as before."""
    from chaosaws.awslambda.actions import delete_function_concurrency, put_function_concurrency

    before = account_snapshot(module_lab)
    assert (FUNCTION, None, []) in before["lambda"]

    monkeypatch.setenv("AWS_ENDPOINT_URL", module_lab.env["AWS_ENDPOINT_URL"])
    configuration = {"aws_region": "us-east-1"}
    put_function_concurrency(FUNCTION, 0, configuration=configuration)
    aws = module_lab.client("lambda", retries=False)
    with pytest.raises(ClientError, match="TooManyRequestsException"):
        aws.invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert functions(module_lab)[FUNCTION]["reserved_concurrency"] == 0
    assert (FUNCTION, 0, []) in account_snapshot(module_lab)["lambda"]
    delete_function_concurrency(FUNCTION, configuration=configuration)
    assert functions(module_lab)[FUNCTION]["reserved_concurrency"] is None
    assert aws.invoke(FunctionName=FUNCTION, Payload=b"{}")["StatusCode"] == 200
    assert account_snapshot(module_lab) == before


def test_service_api_invokes_the_function_for_its_quote_path_and_degrades_when_throttled(
        module_lab: RunningLab) -> None:
    """/api/quote: service ``api`` invokes ``api-worker`` synchronously (docs/lab.md, topology).
    On the resilient lab a throttled function leaves the page served without its answer
    (``X-Lab-Fallback: api-worker``, a good request), and the invocation is counted as a throttle
    in ``lab status``; the function's reserved concurrency given back, it answers again."""
    url, aws = module_lab.env["CHAOS_SRE_TARGET_URL"], module_lab.client("lambda", retries=False)
    before = dict(functions(module_lab)[FUNCTION])
    served = requests.get(f"{url}/api/quote", timeout=5)
    assert served.status_code == 200 and "X-Lab-Fallback" not in served.headers
    aws.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=0)
    try:
        degraded = requests.get(f"{url}/api/quote", timeout=5)
        assert degraded.status_code == 200 and degraded.headers["X-Lab-Fallback"] == FUNCTION
    finally:
        aws.delete_function_concurrency(FunctionName=FUNCTION)
    after = functions(module_lab)[FUNCTION]  # the module's other tests may have run first, or not
    assert after["throttles"] == before.get("throttles", 0) + 1
    assert after["invocations"] == before.get("invocations", 0) + 1
    assert requests.get(f"{url}/api/quote", timeout=5).headers.get("X-Lab-Fallback") is None


def test_without_graceful_degradation_a_throttled_function_fails_the_quote_with_502() -> None:
    """The fragile profile's service ``api`` passes the throttle on: 502 (pure: the route alone)."""
    throttled = Invocation(FUNCTION, False, throttle_reason=RESERVED_LIMIT)
    fragile = FunctionCall(lambda name: throttled, lambda seconds: seconds, degrade_when_throttled=False)
    resilient = FunctionCall(lambda name: throttled, lambda seconds: seconds, degrade_when_throttled=True)
    outcome = asyncio.run(fragile.before_serving("/api/quote", targets=None))  # type: ignore[arg-type]
    assert isinstance(outcome, Failure) and outcome.status == 502 and outcome.cause == CAUSE_THROTTLED
    assert isinstance(asyncio.run(resilient.before_serving("/api/quote", targets=None)),  # type: ignore[arg-type]
                      Fallback)
    assert asyncio.run(fragile.before_serving("/cart", targets=None)) is None  # type: ignore[arg-type]
