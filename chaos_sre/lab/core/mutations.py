"""Ground truth of what callers changed: the resources each mutating API call named.

`/__lab/mutations` lists every call by a caller (not the lab itself) whose action changes
something - any action but Describe*, List*, Get*, BatchGet*, Query and Scan - with its time and
the resources it named, in the run ledger's own names (``ec2:instance/i-...``,
``ec2:subnet/subnet-...``, ``autoscaling:web``, ``elbv2:web``, ``dynamodb:table/sessions``,
``ecs:service/staging/api``, ``rds:cluster/orders``, ``ec2:network-acl/acl-...``,
``ec2:vpc/vpc-...``). A test compares them with what each run's ledger planned, so a fault that
touches a resource outside its declared targets is seen, whoever's code made the call. An action
whose resources the lab does not know is listed with the resource ``?``: it is a mutation the
plan cannot account for.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan")
UNKNOWN = "?"

Params = Mapping[str, Any]


def is_mutation(action: str) -> bool:
    """Whether an API action (``TerminateInstances``) may change something."""
    return not action.startswith(READ_PREFIXES)


def query_params(body: bytes) -> dict[str, list[str]]:
    """A query-protocol request's parameters (``InstanceId.1`` -> values)."""
    return parse_qs(body.decode("utf-8", "replace"))


def json_params(body: bytes) -> dict[str, Any]:
    """A JSON-protocol request's parameters (empty when the body is not a JSON object)."""
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _members(params: Params, prefix: str) -> list[str]:
    """Every value of a query list parameter (``InstanceId.1``, ``InstanceId.2``...)."""
    return [str(v) for key, values in params.items() if key.startswith(f"{prefix}.")
            for v in values]


def _one(params: Params, key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _scalable_resource(resource_id: str | None) -> list[str]:
    """An Application Auto Scaling resource id in the ledger's names (``table/sessions``)."""
    if not resource_id:
        return [UNKNOWN]
    kind, _, rest = resource_id.partition("/")
    table = rest.split("/index/", 1)[0]  # a GSI's target: the ledger names the table
    return [{"table": f"dynamodb:table/{table}", "service": f"ecs:service/{rest}"}.get(
        kind, f"application-autoscaling:{resource_id}")]


def _load_balancer(arn: str | None) -> list[str]:
    """``elbv2:NAME`` of a load balancer ARN (``...:loadbalancer/app/NAME/ID``)."""
    parts = (arn or "").split("/")
    return [f"elbv2:{parts[-2]}"] if len(parts) >= 3 else [UNKNOWN]


RESOURCES: dict[str, Callable[[Params, Callable[[str], str | None]], list[str]]] = {
    "ec2:TerminateInstances": lambda p, _: [f"ec2:instance/{i}" for i in _members(p, "InstanceId")],
    "ec2:StopInstances": lambda p, _: [f"ec2:instance/{i}" for i in _members(p, "InstanceId")],
    "ec2:StartInstances": lambda p, _: [f"ec2:instance/{i}" for i in _members(p, "InstanceId")],
    "ec2:CreateNetworkAcl": lambda p, _: [f"ec2:vpc/{_one(p, 'VpcId')}"],
    "ec2:CreateNetworkAclEntry": lambda p, _: [f"ec2:network-acl/{_one(p, 'NetworkAclId')}"],
    "ec2:DeleteNetworkAcl": lambda p, _: [f"ec2:network-acl/{_one(p, 'NetworkAclId')}"],
    "ec2:ReplaceNetworkAclAssociation": lambda p, subnet_of: [
        f"ec2:subnet/{subnet_of(str(_one(p, 'AssociationId')))}"],
    "autoscaling:UpdateAutoScalingGroup": lambda p, _: [f"autoscaling:{_one(p, 'AutoScalingGroupName')}"],
    "autoscaling:SuspendProcesses": lambda p, _: [f"autoscaling:{_one(p, 'AutoScalingGroupName')}"],
    "autoscaling:ResumeProcesses": lambda p, _: [f"autoscaling:{_one(p, 'AutoScalingGroupName')}"],
    "elasticloadbalancing:SetSubnets": lambda p, _: _load_balancer(_one(p, "LoadBalancerArn")),
    "rds:FailoverDBCluster": lambda p, _: [f"rds:cluster/{_one(p, 'DBClusterIdentifier')}"],
    "rds:RebootDBInstance": lambda p, _: [f"rds:instance/{_one(p, 'DBInstanceIdentifier')}"],
    "dynamodb:UpdateTable": lambda p, _: [f"dynamodb:table/{_one(p, 'TableName')}"],
    "application-autoscaling:RegisterScalableTarget":
        lambda p, _: _scalable_resource(_one(p, "ResourceId")),
    "ecs:UpdateService": lambda p, _: [
        f"ecs:service/{str(_one(p, 'cluster')).split('/')[-1]}/{str(_one(p, 'service')).split('/')[-1]}"],
}
"""The resources each mutating action names, from its parameters (and, for a network ACL
association, the subnet the lab knows it by)."""


def mutated_resources(action: str, params: Params, subnet_of: Callable[[str], str | None]) -> list[str]:
    """The resources a mutating call of ``action`` (IAM name) named, ``[?]`` when unknown."""
    extract = RESOURCES.get(action)
    return extract(params, subnet_of) if extract else [UNKNOWN]
