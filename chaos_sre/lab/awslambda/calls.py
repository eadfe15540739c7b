"""What the mutating Lambda calls chaos-sre makes act on: the function of PutFunctionConcurrency
and DeleteFunctionConcurrency, in the run ledger's names (``MUTATED``: ``lambda:function/NAME``)
and by ARN and tags for IAM (``IAM_RESOURCES``; :mod:`chaos_sre.lab.core.mutations`,
:mod:`chaos_sre.lab.core.iam_requests`). A function is named by name, ARN or partial ARN."""

from moto.awslambda.exceptions import UnknownFunctionException

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

CONCURRENCY_ACTIONS = ("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency")


def function_name(params: Params) -> str:
    """The function a call names (``NAME``, ``arn:...:function:NAME``, ``ACCOUNT:function:NAME``)."""
    return one(params, "FunctionName").split(":function:", 1)[-1].split(":", 1)[0]


def _function(region: str, params: Params) -> list[Resource]:
    name = function_name(params)
    try:
        tags = dict(moto_backend("lambda").get_function(name).tags or {})
    except UnknownFunctionException:
        tags = {}
    return [Resource(f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}", tags)]


MUTATED: dict[str, Extractor] = {
    action: lambda p: [f"lambda:function/{function_name(p)}"] for action in CONCURRENCY_ACTIONS}
IAM_RESOURCES: dict[str, ResourcesOf] = {action: _function for action in CONCURRENCY_ACTIONS}
