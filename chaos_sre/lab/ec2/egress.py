"""Where a subnet's traffic to the internet and to AWS's public endpoints goes, and whether it
gets there.

Pure functions over plain tuples, so they are testable without moto. A subnet uses the route
table associated with it, else its VPC's main route table ("Configure route tables", Amazon
VPC User Guide); its default route (``0.0.0.0/0``) sends internet-bound traffic to an internet
gateway or a NAT gateway. Traffic reaches the internet when:

* the subnet's own network ACL lets it out and its answers in
  (:func:`~chaos_sre.lab.ec2.network.passes_internet`);
* through a NAT gateway: the gateway is ``available`` (a route to a deleted gateway is a
  ``blackhole`` route), its subnet's network ACL lets the subnet's traffic in and the answers
  out, and the gateway's own subnet reaches the internet through an internet gateway ("NAT
  gateways": "the NAT gateway sends the traffic to the internet gateway", Amazon VPC User Guide).

A route to another target (a transit gateway, a peering connection, an instance) is taken to
reach the internet: the lab does not follow it further.

An interface VPC endpoint with private DNS answers its service's public name with the addresses
of its network interfaces, one per subnet, so a caller in its VPC reaches that service through
the endpoint instead of its default route ("Access an AWS service using an interface VPC
endpoint", AWS PrivateLink Guide); a call goes to one of them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from chaos_sre.lab.ec2.network import AclRule, passes_peer

DEFAULT_ROUTE = "0.0.0.0/0"
NO_ROUTE = "no route to the internet"


@dataclass(frozen=True)
class Subnet:
    """A subnet as egress sees it."""

    subnet_id: str
    cidr_block: str
    rules: tuple[AclRule, ...]
    """Its network ACL's entries."""
    network_acl_id: str
    default_route: str | None
    """Where its route table's ``0.0.0.0/0`` route goes: ``igw-...`` (attached), ``blackhole
    igw-...`` (detached), ``nat-...``, another target, or None."""
    internet: bool
    """Its network ACL lets its calls out to the internet and their answers in
    (:func:`~chaos_sre.lab.ec2.network.passes_internet` of ``rules``)."""


@dataclass(frozen=True)
class NatGateway:
    """A NAT gateway: its state and the subnet it is in."""

    gateway_id: str
    state: str
    subnet_id: str


def cut_reason(subnet: Subnet, subnets: Mapping[str, Subnet],
               gateways: Mapping[str, NatGateway]) -> str | None:
    """Why ``subnet``'s internet traffic does not get there, or None when it does (or when it
    has no default route: then it never had egress, nothing cut it)."""
    target = subnet.default_route
    if target is None:
        return None
    if not subnet.internet:
        return f"network ACL {subnet.network_acl_id} of {subnet.subnet_id} denies its internet traffic"
    if target.startswith("blackhole "):
        return f"its default route goes to {target.split()[1]}, which is detached (a blackhole route)"
    if not target.startswith("nat-"):
        return None
    gateway = gateways.get(target)
    if gateway is None or gateway.state != "available":
        state = gateway.state if gateway is not None else "gone"
        return f"NAT gateway {target} is {state} (a blackhole route)"
    home = subnets.get(gateway.subnet_id)
    if home is None:
        return f"NAT gateway {target}'s subnet {gateway.subnet_id} is gone"
    if not passes_peer(home.rules, subnet.cidr_block) or not home.internet:
        return (f"NAT gateway {target} is in subnet {home.subnet_id}, which network ACL "
                f"{home.network_acl_id} cuts off")
    if home.default_route is None or not home.default_route.startswith("igw-"):
        return f"NAT gateway {target}'s subnet {home.subnet_id} has no route to an internet gateway"
    return None


def endpoint_reaches(caller: Subnet, interface_subnets: tuple[Subnet, ...], call: int) -> bool:
    """Whether call number ``call`` from ``caller`` through an interface endpoint with network
    interfaces in ``interface_subnets`` is answered: DNS hands out the interfaces' addresses in
    turn, and a call to one whose subnet's network ACL refuses the caller times out."""
    if not interface_subnets:
        return False
    chosen = interface_subnets[call % len(interface_subnets)]
    return passes_peer(chosen.rules, caller.cidr_block)
