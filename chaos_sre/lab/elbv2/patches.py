"""moto patches of Elastic Load Balancing v2: the addresses of a load balancer's nodes, per subnet,
and SetSubnets as each load balancer type takes it.

* A Network Load Balancer has a node with a network interface in each of its subnets, and that
  interface's address: the Elastic IP its SubnetMapping named (internet-facing), the private IPv4
  address it named (internal), else one AWS picks. DescribeLoadBalancers and SetSubnets show them as
  ``LoadBalancerAddresses`` (moto: none, and a SubnetMapping's AllocationId is dropped).
* SetSubnets on a Network Load Balancer that removes a subnet deletes that node's network interface:
  its Elastic IP or private address goes with it, and "when adding back a previously removed subnet,
  a new network interface is created" - with a new address unless its SubnetMapping names the old one
  ("Update the Availability Zones for your Network Load Balancer",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html). A subnet
  that stays keeps its configuration, and a mapping that changes it is refused; one subnet is enough
  (moto: two at least, and a re-added subnet is indistinguishable from before).
* SetSubnets on a Gateway Load Balancer must "include all subnets that were enabled previously"
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetSubnets.html): the
  lab refuses a removal with ``InvalidConfigurationRequest`` (moto: accepted).

* DescribeLoadBalancers answers ``LoadBalancerNotFound`` ("The specified load balancer does not
  exist", API reference) when any load balancer it names does not exist (moto: only when the
  first one does not).

* DescribeTargetHealth reports the lab load balancer's health-check state
  (:mod:`chaos_sre.lab.elbv2.simulation`; moto: every target ``healthy``);
* DescribeTags refuses more than 20 resource ARNs, as AWS does ("Array Members: Maximum
  number of 20 items",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html;
  moto: any number);
* a terminated instance stays registered until its target group's health checks find it down
  (moto: deregistered in the terminating call).

Application Load Balancers keep moto's node addresses (they are not in the API).
"""

import ipaddress
import random
from typing import Any, Protocol, cast

from moto.elbv2 import models as elbv2_models
from moto.elbv2.exceptions import ELBClientError, LoadBalancerNotFoundError

from chaos_sre.lab.core.patches import hooks, original, replaces

NODE_ADDRESSES = "lab_node_addresses"
"""The FakeLoadBalancer attribute holding {subnet id: its node's LoadBalancerAddress}."""

KEPT_KEYS = ("AllocationId", "PrivateIPv4Address", "IPv6Address")
"""A SubnetMapping's keys that name a node's address."""

_random = random.Random()


class LoadBalancingHooks(Protocol):
    """What Elastic Load Balancing's patches ask of its simulation."""

    def target_health(self, target_group_arn: str, target_id: str) -> tuple[str, str | None, str | None] | None:
        """(state, reason, description) of a target, or None to let moto answer."""


def _lab() -> LoadBalancingHooks:
    return cast(LoadBalancingHooks, hooks().service("elbv2"))


def _invalid(message: str) -> ELBClientError:
    return ELBClientError("InvalidConfigurationRequest", message)


def _node_addresses(balancer: Any) -> dict[str, dict[str, str]]:
    addresses: dict[str, dict[str, str]] | None = getattr(balancer, NODE_ADDRESSES, None)
    if addresses is None:
        addresses = {}
        setattr(balancer, NODE_ADDRESSES, addresses)
    return addresses


def _new_address(backend: Any, balancer: Any, subnet: Any, mapping: dict[str, str]) -> dict[str, str]:
    """The address of a new node's network interface in ``subnet``, as ``mapping`` names it."""
    allocation = mapping.get("AllocationId")
    if allocation:
        if balancer.scheme != "internet-facing":
            raise _invalid("Elastic IP addresses are only supported for internet-facing load balancers")
        found = [a for a in backend.ec2_backend.addresses if a.allocation_id == allocation]
        if not found:
            raise ELBClientError("AllocationIdNotFound", f"Elastic IP '{allocation}' not found")
        return {"IpAddress": found[0].public_ip, "AllocationId": allocation}
    network = ipaddress.ip_network(subnet.cidr_block)
    private = mapping.get("PrivateIPv4Address") or str(network[_random.randrange(10, network.num_addresses - 1)])
    if balancer.scheme == "internet-facing":
        return {"IpAddress": f"3.{_random.randrange(256)}.{_random.randrange(256)}.{_random.randrange(1, 255)}"}
    return {"IpAddress": private, "PrivateIPv4Address": private}


def _changes_configuration(kept: dict[str, str], mapping: dict[str, str]) -> bool:
    return any(mapping.get(key) and mapping[key] != kept.get(key) for key in KEPT_KEYS)


@property  # type: ignore[misc]
def _availability_zones(self: Any) -> list[Any]:
    """The load balancer's AZs, each with its node's address (network load balancers)."""
    zones = [elbv2_models.AvailabilityZone(subnet) for subnet in self.subnets]
    addresses = getattr(self, NODE_ADDRESSES, {})
    for zone in zones:
        if zone.subnet_id in addresses:
            zone.load_balancer_addresses = [dict(addresses[zone.subnet_id])]  # type: ignore[attr-defined]
    return zones


replaces(elbv2_models.FakeLoadBalancer, "availability_zones")(_availability_zones)


@replaces(elbv2_models.ELBv2Backend, "create_load_balancer")
def _create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
    """CreateLoadBalancer, giving a network load balancer's nodes their addresses."""
    balancer = original(elbv2_models.ELBv2Backend, "create_load_balancer")(self, *args, **kwargs)
    if balancer.type == "network":
        mappings = {m["SubnetId"]: m for m in kwargs.get("subnet_mappings") or []}
        addresses = _node_addresses(balancer)
        for subnet in balancer.subnets:
            addresses[subnet.id] = _new_address(self, balancer, subnet, mappings.get(subnet.id, {}))
    return balancer


@replaces(elbv2_models.ELBv2Backend, "set_subnets")
def _set_subnets(self: Any, arn: str, subnets: list[str],
                 subnet_mappings: list[dict[str, Any]]) -> list[Any]:
    """SetSubnets as each load balancer type takes it (see the module's docstring)."""
    balancer = self.load_balancers.get(arn)
    if balancer is None or balancer.type == "application":
        return original(elbv2_models.ELBv2Backend, "set_subnets")(self, arn, subnets, subnet_mappings)
    requested: dict[str, dict[str, str]] = {subnet: {} for subnet in subnets}
    requested.update({m["SubnetId"]: m for m in subnet_mappings})
    current = {subnet.id for subnet in balancer.subnets}
    removed = sorted(current - set(requested))
    if balancer.type == "gateway" and removed:
        raise _invalid(f"Subnets {', '.join(removed)} cannot be removed from a Gateway Load Balancer: "
                       "include all subnets that were enabled previously")
    zones: dict[str, str] = {}
    chosen = [self._get_subnet(zones, subnet_id) for subnet_id in requested]
    addresses = _node_addresses(balancer)
    for subnet in chosen:
        kept = addresses.get(subnet.id)
        if kept is not None and _changes_configuration(kept, requested[subnet.id]):
            raise _invalid(f"Subnet {subnet.id} is enabled with another configuration: remove it first, "
                           "then add it with the new one")
    for subnet_id in removed:
        addresses.pop(subnet_id, None)  # the node's network interface is deleted with its address
    for subnet in chosen:
        if subnet.id not in addresses and balancer.type == "network":
            addresses[subnet.id] = _new_address(self, balancer, subnet, requested[subnet.id])
    balancer.subnets = chosen
    return list(balancer.availability_zones)


@replaces(elbv2_models.ELBv2Backend, "describe_load_balancers")
def _describe_load_balancers(self: Any, arns: list[str] | None, names: list[str] | None) -> list[Any]:
    """DescribeLoadBalancers, refusing a call that names any load balancer that does not exist."""
    known = self.load_balancers.values()
    if set(arns or ()) - {b.arn for b in known} or set(names or ()) - {b.name for b in known}:
        raise LoadBalancerNotFoundError()
    return list(original(elbv2_models.ELBv2Backend, "describe_load_balancers")(self, arns, names))


@replaces(elbv2_models.FakeTargetGroup, "health_for")
def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    answer = _lab().target_health(self.arn, target["Id"])
    if answer is None:
        return original(elbv2_models.FakeTargetGroup, "health_for")(self, target, ec2_backend)
    state, reason, description = answer
    port = (self.targets.get(target["Id"]) or target).get("Port", self.port)
    return elbv2_models.FakeHealthStatus(
        target["Id"], port, self.health_check_port, state, reason, description
    )


DESCRIBE_TAGS_MAX_ARNS = 20


@replaces(elbv2_models.ELBv2Backend, "describe_tags")
def _describe_tags(self: Any, resource_arns: list[str]) -> dict[str, dict[str, str]]:
    if len(resource_arns) > DESCRIBE_TAGS_MAX_ARNS:
        raise ELBClientError(
            "ValidationError", "1 validation error detected: Value at 'resourceArns' failed to "
            f"satisfy constraint: Member must have length less than or equal to "
            f"{DESCRIBE_TAGS_MAX_ARNS}")
    return dict(original(elbv2_models.ELBv2Backend, "describe_tags")(self, resource_arns))


@replaces(elbv2_models.ELBv2Backend, "notify_terminate_instances")
def _ignore_termination(self: Any, instance_ids: list[str]) -> None:
    """Health checks notice terminations in their own time."""
