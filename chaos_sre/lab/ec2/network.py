"""Network ACL evaluation: can the load balancer reach a subnet?

Pure functions over plain rule tuples, so they are testable without moto.
A network ACL is stateless: the load balancer's request must be allowed in
(ingress, TCP to the target port) and the target's answer must be allowed out
(egress, TCP to the load balancer's ephemeral ports). Rules are evaluated in
ascending rule number; the first rule that matches decides; if none matches,
the implicit ``*`` rule denies.
"""

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

TCP = "6"
ALL_PROTOCOLS = "-1"
EPHEMERAL_PORTS = (1024, 65535)
INTERNET_CLIENT = "203.0.113.10/32"
"""Where the lab's clients come from, as a network ACL sees them: one internet address (TEST-NET-3,
RFC 5737), so a rule matches clients only if its CIDR holds that address, as it would for a real one."""


@dataclass(frozen=True)
class AclRule:
    """One network ACL entry, as DescribeNetworkAcls shows it."""

    rule_number: int
    egress: bool
    protocol: str
    allow: bool
    cidr_block: str | None
    port_from: int | None = None
    port_to: int | None = None


def _matches(rule: AclRule, source_cidr: str, port_range: tuple[int, int]) -> bool:
    if rule.protocol not in (ALL_PROTOCOLS, TCP, "tcp", "all"):
        return False
    if rule.cidr_block is None:
        return False
    try:
        if not ipaddress.ip_network(rule.cidr_block, strict=False).overlaps(
            ipaddress.ip_network(source_cidr, strict=False)
        ):
            return False
    except ValueError:
        return False
    if rule.protocol in (ALL_PROTOCOLS, "all") or rule.port_from is None:
        return True
    low, high = port_range
    return int(rule.port_from) <= high and int(rule.port_to or rule.port_from) >= low


def _first_match_allows(
    rules: tuple[AclRule, ...], egress: bool, peer_cidr: str, port_range: tuple[int, int]
) -> bool:
    for rule in sorted((r for r in rules if r.egress == egress), key=lambda r: r.rule_number):
        if _matches(rule, peer_cidr, port_range):
            return rule.allow
    return False


@lru_cache(maxsize=1024)
def lb_can_reach(rules: tuple[AclRule, ...], *, lb_cidr: str, target_port: int) -> bool:
    """True when a subnet with these ACL rules accepts the load balancer's traffic.

    ``lb_cidr`` is where the load balancer's nodes live (the VPC's CIDR);
    ``target_port`` is the target group's port.
    """
    inbound = _first_match_allows(rules, False, lb_cidr, (target_port, target_port))
    outbound = _first_match_allows(rules, True, lb_cidr, EPHEMERAL_PORTS)
    return inbound and outbound


def clients_can_reach(rules: tuple[AclRule, ...], *, listener_port: int) -> bool:
    """True when a subnet with these ACL rules lets an internet client reach a load balancer node
    in it: ``listener_port`` in from the client, the client's ephemeral ports out."""
    return lb_can_reach(rules, lb_cidr=INTERNET_CLIENT, target_port=listener_port)


HTTPS_PORT = 443
INTERNET_PEER = "198.51.100.10/32"
"""An address on the internet (TEST-NET-2, RFC 5737) as a network ACL sees a NAT gateway's or an
AWS public endpoint's peer: a rule matches it only if its CIDR holds that address."""


def passes_peer(rules: tuple[AclRule, ...], peer_cidr: str) -> bool:
    """True when a subnet with these ACL rules lets ``peer_cidr`` open HTTPS connections to it
    (port 443 in) and answers them (its ephemeral ports out) - a NAT gateway's or an interface
    endpoint's subnet, serving the peer."""
    return lb_can_reach(rules, lb_cidr=peer_cidr, target_port=HTTPS_PORT)


@lru_cache(maxsize=1024)
def passes_internet(rules: tuple[AclRule, ...]) -> bool:
    """True when a subnet with these ACL rules lets its HTTPS calls out to the internet (port
    443 out) and their answers back in (ephemeral ports in)."""
    out = _first_match_allows(rules, True, INTERNET_PEER, (HTTPS_PORT, HTTPS_PORT))
    back = _first_match_allows(rules, False, INTERNET_PEER, EPHEMERAL_PORTS)
    return out and back
