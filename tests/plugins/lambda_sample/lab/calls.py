"""What the mutating Lambda calls act on: the function, in the run ledger's names (``MUTATED``)
and by its ARN and tags for IAM (``IAM_RESOURCES``)."""

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

CONCURRENCY = ("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency")


def _name(params: Params) -> str:
    """The function's name (a call may give its ARN)."""
    return one(params, "FunctionName").rsplit(":", 1)[-1]


def _function(region: str, params: Params) -> list[Resource]:
    name = _name(params)
    functions = moto_backend("lambda").list_functions()
    tags = next((dict(f.tags or {}) for f in functions if f.function_name == name), {})
    return [Resource(f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}", tags)]


MUTATED: dict[str, Extractor] = {action: lambda p: [f"lambda:function/{_name(p)}"]
                                 for action in CONCURRENCY}
IAM_RESOURCES: dict[str, ResourcesOf] = dict.fromkeys(CONCURRENCY, _function)
