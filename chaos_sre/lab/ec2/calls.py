"""What EC2's mutating calls act on.

``MUTATED``: the resources each names, in the run ledger's names (the lab's ground truth of
mutations, :mod:`chaos_sre.lab.core.mutations`). ``IAM_RESOURCES``: their ARNs and tags as IAM
evaluates them (:mod:`chaos_sre.lab.core.iam_requests`; Service Authorization Reference, "Actions
defined by Amazon EC2" and "by Amazon EC2 Auto Scaling").
"""

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, members, one
from chaos_sre.lab.core.settings import ACCOUNT_ID

EC2_KINDS = {"i-": "instance", "acl-": "network-acl", "subnet-": "subnet", "vpc-": "vpc",
             "sg-": "security-group", "eni-": "network-interface"}


def subnet_of_association(association_id: str) -> str | None:
    """The subnet of a network ACL association, as the lab's EC2 knows it (None if unknown)."""
    for acl in list(moto_backend("ec2").network_acls.values()):
        association = acl._associations.get(association_id)
        if association is not None:
            return str(association.subnet_id)
    return None


def _instances_named(params: Params) -> list[str]:
    return [f"ec2:instance/{i}" for i in members(params, "InstanceId")]


MUTATED: dict[str, Extractor] = {
    "ec2:TerminateInstances": _instances_named,
    "ec2:StopInstances": _instances_named,
    "ec2:StartInstances": _instances_named,
    "ec2:CreateNetworkAcl": lambda p: [f"ec2:vpc/{one(p, 'VpcId')}"],
    "ec2:CreateNetworkAclEntry": lambda p: [f"ec2:network-acl/{one(p, 'NetworkAclId')}"],
    "ec2:DeleteNetworkAcl": lambda p: [f"ec2:network-acl/{one(p, 'NetworkAclId')}"],
    "ec2:ReplaceNetworkAclAssociation": lambda p: [
        f"ec2:subnet/{subnet_of_association(one(p, 'AssociationId'))}"],
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
    subnet = subnet_of_association(one(params, "AssociationId"))
    return [*_acl(region, params), *([_ec2(region, subnet)] if subnet else [])]


def _new_acl(region: str, params: Params) -> list[Resource]:
    """CreateNetworkAcl: the ACL to be (no tags of its own yet) and the VPC it goes in."""
    return [Resource(f"arn:aws:ec2:{region}:{ACCOUNT_ID}:network-acl/*"),
            _ec2(region, one(params, "VpcId"))]


def _tagged(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, r) for r in members(params, "ResourceId")]


IAM_RESOURCES: dict[str, ResourcesOf] = {
    "ec2:TerminateInstances": _instances,
    "ec2:StopInstances": _instances,
    "ec2:StartInstances": _instances,
    "ec2:CreateNetworkAcl": _new_acl,
    "ec2:CreateNetworkAclEntry": _acl,
    "ec2:DeleteNetworkAcl": _acl,
    "ec2:ReplaceNetworkAclAssociation": _association,
    "ec2:CreateTags": _tagged,
}


def _query_tag_specifications(params: Params) -> dict[str, str]:
    """Tags of ``TagSpecification.N.Tag.M.Key/Value`` (query protocol)."""
    keys = {k.rsplit(".", 1)[0]: one(params, k) for k in params if k.startswith("TagSpecification.")
            and k.endswith(".Key")}
    return {key: one(params, f"{prefix}.Value") for prefix, key in keys.items()}


def iam_requests(action: str, params: Params, region: str,
                 resources: list[Resource]) -> list[Request] | None:
    """EC2's tags as IAM sees them: ec2:CreateTags requests the tags it adds, and a create call
    with ``TagSpecification`` also needs ``ec2:CreateTags`` with ``ec2:CreateAction`` set to the
    create action ("Grant permission to tag Amazon EC2 resources during creation",
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html)."""
    if not action.startswith("ec2:"):
        return None
    if action == "ec2:CreateTags":
        tags = {one(params, k): one(params, k[:-4] + ".Value") for k in params
                if k.startswith("Tag.") and k.endswith(".Key")}
        return [Request(action, region, resources, request_tags=tags)]
    tags = _query_tag_specifications(params)
    made = [Request(action, region, resources, request_tags=tags)]
    if tags and action.startswith("ec2:Create"):
        created = [r for r in resources if r.arn.endswith("/*")] or [Resource()]
        made.append(Request("ec2:CreateTags", region, created, request_tags=tags,
                            context={"ec2:CreateAction": action.split(":", 1)[1]}))
    return made
