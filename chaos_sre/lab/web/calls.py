"""What the web tier's mutating EC2 and Auto Scaling calls act on.

``MUTATED``: the resources each names, in the run ledger's names (the lab's ground truth of
mutations, :mod:`chaos_sre.lab.core.mutations`). ``IAM_RESOURCES``: their ARNs and tags as IAM
evaluates them (:mod:`chaos_sre.lab.core.iam_requests`; Service Authorization Reference, "Actions
defined by Amazon EC2" and "by Amazon EC2 Auto Scaling").
"""

from collections.abc import Callable

from chaos_sre.aws.client import tag_dict
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, members, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

EC2_KINDS = {"i-": "instance", "acl-": "network-acl", "subnet-": "subnet", "vpc-": "vpc",
             "sg-": "security-group", "eni-": "network-interface"}


def _instances_named(params: Params, _subnet_of: Callable[[str], str | None]) -> list[str]:
    return [f"ec2:instance/{i}" for i in members(params, "InstanceId")]


def _group_named(params: Params, _subnet_of: Callable[[str], str | None]) -> list[str]:
    return [f"autoscaling:{one(params, 'AutoScalingGroupName')}"]


MUTATED: dict[str, Extractor] = {
    "ec2:TerminateInstances": _instances_named,
    "ec2:StopInstances": _instances_named,
    "ec2:StartInstances": _instances_named,
    "ec2:CreateNetworkAcl": lambda p, _: [f"ec2:vpc/{one(p, 'VpcId')}"],
    "ec2:CreateNetworkAclEntry": lambda p, _: [f"ec2:network-acl/{one(p, 'NetworkAclId')}"],
    "ec2:DeleteNetworkAcl": lambda p, _: [f"ec2:network-acl/{one(p, 'NetworkAclId')}"],
    "ec2:ReplaceNetworkAclAssociation": lambda p, subnet_of: [
        f"ec2:subnet/{subnet_of(one(p, 'AssociationId'))}"],
    "autoscaling:UpdateAutoScalingGroup": _group_named,
    "autoscaling:SuspendProcesses": _group_named,
    "autoscaling:ResumeProcesses": _group_named,
}


def _ec2(region: str, resource_id: str) -> Resource:
    kind = next((k for p, k in EC2_KINDS.items() if resource_id.startswith(p)), "resource")
    return Resource(f"arn:aws:ec2:{region}:{ACCOUNT_ID}:{kind}/{resource_id}",
                    dict(moto_backend("ec2").tags.get(resource_id, {})))


def _instances(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, i) for i in members(params, "InstanceId")]


def _acl(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, one(params, "NetworkAclId"))]


def _association(region: str, params: Params) -> list[Resource]:
    """ReplaceNetworkAclAssociation: the ACL it associates and the subnet of the association."""
    subnet = next((str(a.subnet_id) for acl in list(moto_backend("ec2").network_acls.values())
                   for i, a in acl._associations.items() if i == one(params, "AssociationId")), "")
    return [*_acl(region, params), *([_ec2(region, subnet)] if subnet else [])]


def _new_acl(region: str, params: Params) -> list[Resource]:
    """CreateNetworkAcl: the ACL to be (no tags of its own yet) and the VPC it goes in."""
    return [Resource(f"arn:aws:ec2:{region}:{ACCOUNT_ID}:network-acl/*"),
            _ec2(region, one(params, "VpcId"))]


def _tagged(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, r) for r in members(params, "ResourceId")]


def _group(region: str, params: Params) -> list[Resource]:
    name = one(params, "AutoScalingGroupName")
    group = moto_backend("autoscaling").autoscaling_groups.get(name)
    if group is None:
        return [Resource(f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:autoScalingGroup:*:"
                         f"autoScalingGroupName/{name}")]
    return [Resource(group.arn, tag_dict(group.tags))]


IAM_RESOURCES: dict[str, ResourcesOf] = {
    "ec2:TerminateInstances": _instances,
    "ec2:StopInstances": _instances,
    "ec2:StartInstances": _instances,
    "ec2:CreateNetworkAcl": _new_acl,
    "ec2:CreateNetworkAclEntry": _acl,
    "ec2:DeleteNetworkAcl": _acl,
    "ec2:ReplaceNetworkAclAssociation": _association,
    "ec2:CreateTags": _tagged,
    "autoscaling:UpdateAutoScalingGroup": _group,
    "autoscaling:SuspendProcesses": _group,
    "autoscaling:ResumeProcesses": _group,
}
