"""What the mutating ECS call chaos-sre makes acts on: the service of UpdateService, in the run
ledger's names (``MUTATED``) and by its long-format ARN (``service/CLUSTER/NAME``) and tags for IAM
(``IAM_RESOURCES``; :mod:`chaos_sre.lab.core.mutations`, :mod:`chaos_sre.lab.core.iam_requests`)."""

from chaos_sre.aws.client import tag_dict
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID


def _names(params: Params) -> tuple[str, str]:
    """(cluster, service) names of a call that may give either as a name or an ARN."""
    return ((one(params, "cluster") or "default").rsplit("/", 1)[-1],
            one(params, "service").rsplit("/", 1)[-1])


def _service(region: str, params: Params) -> list[Resource]:
    cluster, name = _names(params)
    service = moto_backend("ecs").services.get(f"{cluster}:{name}")
    tags = tag_dict(service.tags, "key", "value") if service is not None else {}
    return [Resource(f"arn:aws:ecs:{region}:{ACCOUNT_ID}:service/{cluster}/{name}", tags)]


MUTATED: dict[str, Extractor] = {
    "ecs:UpdateService": lambda p: ["ecs:service/{}/{}".format(*_names(p))],
}
IAM_RESOURCES: dict[str, ResourcesOf] = {"ecs:UpdateService": _service}
