"""moto patches of EC2: instances that take time to start, and network ACLs as EC2 keeps them.

* RunInstances and StartInstances start instances in ``pending`` (moto: ``running`` at once);
  a start by a caller without ``kms:CreateGrant``, of an instance with a volume encrypted by a
  customer managed key, ends ``stopped`` (moto: ``running``);
* a network ACL just created is "not found" (``InvalidNetworkAclID.NotFound``)
  for a moment by CreateNetworkAclEntry, ReplaceNetworkAclAssociation and
  DeleteNetworkAcl, as EC2's eventual consistency allows ("Eventual consistency
  in the Amazon EC2 API",
  https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html;
  moto: found at once);
* a Describe filter with several values matches a resource when any of its values matches any
  of the filter's, as EC2 documents ("If you specify multiple values for a filter, the values
  are joined with an OR", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Using_Filtering.html;
  moto: a resource with several values, such as a network ACL's associated subnets, matches only
  when one set holds the other, so DescribeNetworkAcls by ``association.subnet-id`` over subnets
  of two VPCs answered no ACL at all);
* the network interfaces of NAT gateways and interface VPC endpoints are described as AWS
  describes them: their InterfaceType, requester-managed, with AWS's description (moto: plain
  ``interface``), so a tool can tell whose interface a subnet holds.
"""

import fnmatch
from typing import Any, Protocol, cast

from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import InvalidNetworkAclIdError
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.models.network_acls import NetworkAclBackend
from moto.ec2.models.vpcs import VPCBackend

from chaos_sre.lab.core.access_denied import caller_may
from chaos_sre.lab.core.patches import hooks, original, replaces
from chaos_sre.lab.core.settings import ACCOUNT_ID
from chaos_sre.lab.ec2.simulation import customer_managed_keys


class Ec2Hooks(Protocol):
    """What EC2's patches ask of its simulation (:class:`chaos_sre.lab.ec2.simulation.Ec2`)."""

    def instance_started(self, instance: Any, caller_may_grant: bool) -> None:
        """StartInstances accepted for the instance; whether its caller may kms:CreateGrant."""

    def instance_launched(self, instance: Any) -> None:
        """A new instance exists (any caller); decide its pending/boot timeline."""

    def network_acl_created(self, network_acl_id: str) -> None:
        """A network ACL was created."""

    def network_acl_found(self, network_acl_id: str) -> bool:
        """Whether calls naming the network ACL find it yet."""


def _lab() -> Ec2Hooks:
    return cast(Ec2Hooks, hooks().service("ec2"))


@replaces(InstanceBackend, "run_instances")
def _run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
    reservation = original(InstanceBackend, "run_instances")(self, *args, **kwargs)
    for instance in reservation.instances:
        _lab().instance_launched(instance)
    return reservation


@replaces(InstanceBackend, "start_instances")
def _start_instances(self: Any, instance_ids: list[str]) -> Any:
    started = original(InstanceBackend, "start_instances")(self, instance_ids)
    for instance, previous in started:
        if previous.name == "stopped":
            region = instance.ec2_backend.region_name
            keys = [k if k.startswith("arn:") else f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{k}"
                    for k in customer_managed_keys(instance)]
            _lab().instance_started(instance, all(caller_may("kms:CreateGrant", k) for k in keys))
    return started


@replaces(NetworkAclBackend, "create_network_acl")
def _create_network_acl(self: Any, *args: Any, **kwargs: Any) -> Any:
    acl = original(NetworkAclBackend, "create_network_acl")(self, *args, **kwargs)
    _lab().network_acl_created(acl.id)
    return acl


def _found(network_acl_id: str) -> None:
    if not _lab().network_acl_found(network_acl_id):
        raise InvalidNetworkAclIdError(network_acl_id)


@replaces(NetworkAclBackend, "create_network_acl_entry")
def _create_network_acl_entry(self: Any, network_acl_id: str, *args: Any, **kwargs: Any) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "create_network_acl_entry")(self, network_acl_id, *args, **kwargs)


@replaces(NetworkAclBackend, "replace_network_acl_association")
def _replace_network_acl_association(self: Any, association_id: str, network_acl_id: str) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "replace_network_acl_association")(
        self, association_id, network_acl_id)


@replaces(NetworkAclBackend, "delete_network_acl")
def _delete_network_acl(self: Any, network_acl_id: str) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "delete_network_acl")(self, network_acl_id)


@replaces(ec2_utils, "is_filter_matching")
def _is_filter_matching(obj: Any, filter_name: str, filter_values: Any) -> bool:
    """EC2's filter semantics: any of the resource's values matches any of the filter's values."""
    value = obj.get_filter_value(filter_name)
    if isinstance(value, list | set | tuple) and isinstance(filter_values, list):
        return any(fnmatch.fnmatch(str(item), pattern) for item in value for pattern in filter_values)
    return bool(original(ec2_utils, "is_filter_matching")(obj, filter_name, filter_values))



if not hasattr(NetworkInterface, "private_dns_name"):
    # moto's ECS tasks read it from their network interface, which lacks it
    setattr(NetworkInterface, "private_dns_name", property(  # noqa: B010 - moto declares no such attribute
        lambda eni: f"ip-{str(eni.private_ip_address).replace('.', '-')}.ec2.internal"))


@replaces(NatGatewayBackend, "create_nat_gateway")
def _create_nat_gateway(self: Any, *args: Any, **kwargs: Any) -> Any:
    """A NAT gateway's network interface as AWS describes it (moto: a plain ``interface``):
    InterfaceType ``nat_gateway``, requester-managed, "Interface for NAT Gateway nat-..."."""
    gateway = original(NatGatewayBackend, "create_nat_gateway")(self, *args, **kwargs)
    _managed_interface(gateway._eni, "nat_gateway", f"Interface for NAT Gateway {gateway.id}")
    return gateway


@replaces(VPCBackend, "create_vpc_endpoint")
def _create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
    """An interface endpoint's network interfaces as AWS describes them: InterfaceType
    ``vpc_endpoint``, requester-managed, "VPC Endpoint Interface vpce-..."."""
    endpoint = original(VPCBackend, "create_vpc_endpoint")(self, *args, **kwargs)
    for eni_id in getattr(endpoint, "network_interface_ids", None) or []:
        eni = self.enis.get(eni_id)
        if eni is not None:
            _managed_interface(eni, "vpc_endpoint", f"VPC Endpoint Interface {endpoint.id}")
    return endpoint


def _managed_interface(eni: Any, interface_type: str, description: str) -> None:
    eni.interface_type, eni.description = interface_type, description
    eni.requester_managed = True
