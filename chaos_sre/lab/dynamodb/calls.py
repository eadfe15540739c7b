"""What the mutating DynamoDB call chaos-sre makes acts on: the table of UpdateTable, in the run
ledger's names (``MUTATED``) and by ARN and tags for IAM (``IAM_RESOURCES``;
:mod:`chaos_sre.lab.core.mutations`, :mod:`chaos_sre.lab.core.iam_requests`)."""

from chaos_sre.aws.client import tag_dict
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID


def _table(region: str, params: Params) -> list[Resource]:
    name = one(params, "TableName").rsplit("/", 1)[-1]
    table = moto_backend("dynamodb").tables.get(name)
    return [Resource(f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}",
                     tag_dict(table.tags) if table is not None else {})]


MUTATED: dict[str, Extractor] = {
    "dynamodb:UpdateTable": lambda p: [f"dynamodb:table/{one(p, 'TableName')}"],
}
IAM_RESOURCES: dict[str, ResourcesOf] = {"dynamodb:UpdateTable": _table}
