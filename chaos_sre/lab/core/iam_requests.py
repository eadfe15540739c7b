"""The IAM view of an API request made to the lab: its resources' ARNs and tags, request tags and keys.

For :mod:`chaos_sre.lab.core.iam_evaluation`. Read actions (Describe*, List*, Get*...) are
evaluated on ``*``, as most of them support no resource-level permissions. Each mutating action a
chaos-sre fault makes names its resources as the Service Authorization Reference lists them, with
the tags the lab holds for them (``aws:ResourceTag/K``); an action the lab does not know is
evaluated on ``*``. A create call with ``TagSpecification`` also needs ``ec2:CreateTags`` with
``ec2:CreateAction`` set to the create action ("Grant permission to tag Amazon EC2 resources during
creation", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html):
:func:`requests_of` returns that request too.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.mutations import Params, is_mutation
from chaos_sre.lab.core.settings import ACCOUNT_ID

EC2_KINDS = {"i-": "instance", "acl-": "network-acl", "subnet-": "subnet", "vpc-": "vpc",
             "sg-": "security-group", "eni-": "network-interface"}


def _values(params: Params, prefix: str) -> list[str]:
    """Every value of a query list parameter (``InstanceId.1``...) or a JSON list."""
    value = params.get(prefix)
    if isinstance(value, list) and value and not isinstance(value[0], str | int):
        return [str(v) for v in value]
    return [str(v) for key, values in params.items() if key.startswith(f"{prefix}.")
            and key.count(".") == 1 for v in values]


def _one(params: Params, key: str) -> str:
    value = params.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _pairs(items: Iterable[Mapping[str, Any]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {str(i[key]): str(i[value]) for i in items if key in i}


def _ec2_tags(resource_id: str) -> dict[str, str]:
    return dict(moto_backend("ec2").tags.get(resource_id, {}))


def _ec2(region: str, resource_id: str) -> Resource:
    kind = next((k for p, k in EC2_KINDS.items() if resource_id.startswith(p)), "resource")
    return Resource(f"arn:aws:ec2:{region}:{ACCOUNT_ID}:{kind}/{resource_id}", _ec2_tags(resource_id))


def _query_tag_specifications(params: Params) -> dict[str, str]:
    """Tags of ``TagSpecification.N.Tag.M.Key/Value`` (query protocol)."""
    keys = {k.rsplit(".", 1)[0]: _one(params, k) for k in params if k.startswith("TagSpecification.")
            and k.endswith(".Key")}
    return {key: _one(params, f"{prefix}.Value") for prefix, key in keys.items()}


def _instances(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, i) for i in _values(params, "InstanceId")]


def _acl(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, _one(params, "NetworkAclId"))]


def _association(region: str, params: Params) -> list[Resource]:
    """ReplaceNetworkAclAssociation: the ACL it associates and the subnet of the association."""
    subnet = next((str(a.subnet_id) for acl in list(moto_backend("ec2").network_acls.values())
                   for i, a in acl._associations.items() if i == _one(params, "AssociationId")), "")
    return [*_acl(region, params), *([_ec2(region, subnet)] if subnet else [])]


def _new_acl(region: str, params: Params) -> list[Resource]:
    """CreateNetworkAcl: the ACL to be (no tags of its own yet) and the VPC it goes in."""
    return [Resource(f"arn:aws:ec2:{region}:{ACCOUNT_ID}:network-acl/*"),
            _ec2(region, _one(params, "VpcId"))]


def _tagged(region: str, params: Params) -> list[Resource]:
    return [_ec2(region, r) for r in _values(params, "ResourceId")]


def _group(region: str, params: Params) -> list[Resource]:
    group = moto_backend("autoscaling").autoscaling_groups.get(_one(params, "AutoScalingGroupName"))
    if group is None:
        return [Resource(f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:autoScalingGroup:*:"
                         f"autoScalingGroupName/{_one(params, 'AutoScalingGroupName')}")]
    return [Resource(group.arn, _pairs(group.tags))]


def _load_balancer(region: str, params: Params) -> list[Resource]:
    arn = _one(params, "LoadBalancerArn")
    tags = moto_backend("elbv2").tagging_service.get_tag_dict_for_resource(arn)
    return [Resource(arn, dict(tags))]


def _db_cluster(region: str, params: Params) -> list[Resource]:
    name = _one(params, "DBClusterIdentifier")
    cluster = moto_backend("rds").clusters.get(name)
    return [Resource(f"arn:aws:rds:{region}:{ACCOUNT_ID}:cluster:{name}",
                     _pairs(cluster.tags) if cluster is not None else {})]


def _db_instance(region: str, params: Params) -> list[Resource]:
    name = _one(params, "DBInstanceIdentifier")
    database = moto_backend("rds").databases.get(name)
    return [Resource(f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{name}",
                     _pairs(database.tags) if database is not None else {})]


def _table(region: str, params: Params) -> list[Resource]:
    name = _one(params, "TableName").rsplit("/", 1)[-1]
    table = moto_backend("dynamodb").tables.get(name)
    return [Resource(f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}",
                     _pairs(table.tags) if table is not None else {})]


def _service(region: str, params: Params) -> list[Resource]:
    """UpdateService: the service's ARN in the long format (``service/CLUSTER/NAME``)."""
    cluster = (_one(params, "cluster") or "default").rsplit("/", 1)[-1]
    name = _one(params, "service").rsplit("/", 1)[-1]
    service = moto_backend("ecs").services.get(f"{cluster}:{name}")
    tags = _pairs(service.tags, "key", "value") if service is not None else {}
    return [Resource(f"arn:aws:ecs:{region}:{ACCOUNT_ID}:service/{cluster}/{name}", tags)]


RESOURCES: dict[str, Callable[[str, Params], list[Resource]]] = {
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
    "elasticloadbalancing:SetSubnets": _load_balancer,
    "rds:FailoverDBCluster": _db_cluster,
    "rds:RebootDBInstance": _db_instance,
    "dynamodb:UpdateTable": _table,
    "ecs:UpdateService": _service,
}
"""The resources each mutating action acts on, from its parameters."""


def requests_of(action: str, params: Params, region: str) -> list[Request]:
    """The IAM requests one API call makes: itself, and ec2:CreateTags when it tags what it creates."""
    if not is_mutation(action.split(":", 1)[1]):
        return [Request(action, region)]
    resources = RESOURCES.get(action, lambda _r, _p: [Resource()])(region, params)
    if action == "ec2:CreateTags":
        tags = {_one(params, k): _one(params, k[:-4] + ".Value") for k in params
                if k.startswith("Tag.") and k.endswith(".Key")}
        return [Request(action, region, resources, request_tags=tags)]
    tags = _query_tag_specifications(params)
    made = [Request(action, region, resources, request_tags=tags)]
    if tags and action.startswith("ec2:Create"):
        created = [r for r in resources if r.arn.endswith("/*")] or [Resource()]
        made.append(Request("ec2:CreateTags", region, created, request_tags=tags,
                            context={"ec2:CreateAction": action.split(":", 1)[1]}))
    return made
