"""What Auto Scaling's mutating calls act on: the group, by name in the run ledger's names
(``MUTATED``, :mod:`chaos_sre.lab.core.mutations`) and by ARN and tags for IAM (``IAM_RESOURCES``,
:mod:`chaos_sre.lab.core.iam_requests`; Service Authorization Reference, "Actions defined by Amazon
EC2 Auto Scaling")."""

from chaos_sre.aws.client import tag_dict
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

GROUP_ACTIONS = ("autoscaling:UpdateAutoScalingGroup", "autoscaling:SuspendProcesses",
                 "autoscaling:ResumeProcesses")


def _group_named(params: Params) -> list[str]:
    return [f"autoscaling:{one(params, 'AutoScalingGroupName')}"]


def _group(region: str, params: Params) -> list[Resource]:
    name = one(params, "AutoScalingGroupName")
    group = moto_backend("autoscaling").autoscaling_groups.get(name)
    if group is None:
        return [Resource(f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:autoScalingGroup:*:"
                         f"autoScalingGroupName/{name}")]
    return [Resource(group.arn, tag_dict(group.tags))]


def _group_of_instance(params: Params) -> str:
    """The group of SetInstanceHealth's instance (its IAM resource is the group)."""
    instance = one(params, "InstanceId")
    for name, group in moto_backend("autoscaling").autoscaling_groups.items():
        if any(state.instance.id == instance for state in group.instance_states):
            return str(name)
    return ""


MUTATED: dict[str, Extractor] = {
    **dict.fromkeys(GROUP_ACTIONS, _group_named),
    "autoscaling:SetInstanceHealth": lambda p: [f"autoscaling:{_group_of_instance(p)}"],
}
IAM_RESOURCES: dict[str, ResourcesOf] = {
    **dict.fromkeys(GROUP_ACTIONS, _group),
    "autoscaling:SetInstanceHealth": lambda region, p: _group(
        region, {"AutoScalingGroupName": _group_of_instance(p)}),
}
