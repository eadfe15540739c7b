"""What the mutating Elastic Load Balancing calls act on: the load balancer of SetSubnets, by
name in the run ledger's names (``MUTATED``) and by ARN and tags for IAM (``IAM_RESOURCES``;
:mod:`chaos_sre.lab.core.mutations`, :mod:`chaos_sre.lab.core.iam_requests`)."""

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import UNKNOWN, Extractor, Params, one


def _load_balancer_named(arn: str) -> list[str]:
    """``elbv2:NAME`` of a load balancer ARN (``...:loadbalancer/app/NAME/ID``)."""
    parts = arn.split("/")
    return [f"elbv2:{parts[-2]}"] if len(parts) >= 3 else [UNKNOWN]


def _load_balancer(region: str, params: Params) -> list[Resource]:
    arn = one(params, "LoadBalancerArn")
    return [Resource(arn, dict(moto_backend("elbv2").tagging_service.get_tag_dict_for_resource(arn)))]


MUTATED: dict[str, Extractor] = {
    "elasticloadbalancing:SetSubnets": lambda p: _load_balancer_named(one(p, "LoadBalancerArn")),
}
IAM_RESOURCES: dict[str, ResourcesOf] = {"elasticloadbalancing:SetSubnets": _load_balancer}
