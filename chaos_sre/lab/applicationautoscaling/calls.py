"""What RegisterScalableTarget acts on.

``MUTATED``: in the run ledger's names (:mod:`chaos_sre.lab.core.mutations`), the table or service
it scales (a GSI's target: its table), as the throttle and scale-to-zero faults record them.
``IAM_RESOURCES`` and ``iam_requests``: as IAM evaluates it (Service Authorization Reference,
"Actions, resources, and condition keys for AWS Application Auto Scaling"): the scalable target's
ARN (``scalable-target/*`` for one not registered yet), with the condition keys
``application-autoscaling:service-namespace`` and ``application-autoscaling:scalable-dimension``
of the request, so a policy can grant one service's dimension and nothing else of the Region.
"""

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import UNKNOWN, Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

REGISTER = "application-autoscaling:RegisterScalableTarget"


def _scaled_resource(resource_id: str) -> list[str]:
    """An Application Auto Scaling resource id in the ledger's names (``table/sessions``)."""
    if not resource_id:
        return [UNKNOWN]
    kind, _, rest = resource_id.partition("/")
    table = rest.split("/index/", 1)[0]
    return [{"table": f"dynamodb:table/{table}", "service": f"ecs:service/{rest}"}.get(
        kind, f"application-autoscaling:{resource_id}")]


def _scalable_target(region: str, params: Params) -> list[Resource]:
    """The registered target's ARN, or the pattern of a target not registered yet."""
    dimension, resource_id = one(params, "ScalableDimension"), one(params, "ResourceId")
    target = moto_backend("applicationautoscaling").targets.get(dimension, {}).get(resource_id)
    arn = str(getattr(target, "arn", "") or f"arn:aws:application-autoscaling:{region}:{ACCOUNT_ID}"
                                             ":scalable-target/*")
    return [Resource(arn)]


def iam_requests(action: str, params: Params, region: str,
                 resources: list[Resource]) -> list[Request] | None:
    """RegisterScalableTarget carries its namespace and dimension as condition keys."""
    if action != REGISTER:
        return None
    return [Request(action, region, resources, context={
        "application-autoscaling:service-namespace": one(params, "ServiceNamespace"),
        "application-autoscaling:scalable-dimension": one(params, "ScalableDimension")})]


MUTATED: dict[str, Extractor] = {REGISTER: lambda p: _scaled_resource(one(p, "ResourceId"))}
IAM_RESOURCES: dict[str, ResourcesOf] = {REGISTER: _scalable_target}
