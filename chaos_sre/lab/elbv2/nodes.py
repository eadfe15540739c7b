"""An Application Load Balancer's nodes, and which of them DNS gives clients.

How AWS behaves, and so the lab:

* An ALB has a node, with a network interface, in each of its subnets; clients connect to the
  node addresses its DNS name resolves to ("How Elastic Load Balancing works").
* A node's subnet's network ACL applies to the clients' traffic: it must allow the listener port
  in from the clients and their ephemeral ports out ("Troubleshoot your Application Load
  Balancers": "the network ACL for the subnet must allow traffic from the clients"). A deny-all
  ACL leaves the node's address in DNS, answering nothing: clients that connect to it wait
  until they give up.
* A node is listed while its subnet is one of the load balancer's. With cross-zone load
  balancing, always on for an ALB, DNS fails a node only when no target group has a healthy
  target in any AZ (AWS re:Post, "elb-dns-cross-zone-balance-configuration"), so cutting one
  AZ off never takes its node out of DNS.
* A node whose subnet leaves the load balancer (SetSubnets) is removed from DNS and stays active
  until its traffic drains; clients resolved it before keep connecting to it for the record's
  TTL, 60 s (AWS re:Post, "How long does classic LB get served on old IP address": "refresh the
  DNS resolver cache every 60 seconds or less"; "Delete an Application Load Balancer": an alias
  record needs 60 s).

Pure bookkeeping over (subnet, AZ) pairs and a clock, so it is tested without a lab.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DNS_TTL_SECONDS = 60.0
"""TTL of a load balancer's DNS records (AWS seconds)."""


@dataclass(frozen=True)
class Node:
    """One node DNS gives clients: where it is and whether they can reach it."""

    subnet_id: str
    availability_zone: str
    answers: bool
    """Its subnet's network ACL lets clients' traffic in on the listener port and back out."""
    leaving: bool = False
    """Its subnet left the load balancer; clients still use it until their DNS cache expires."""


@dataclass
class NodeDirectory:
    """One load balancer's nodes over time: the listed ones, and those leaving DNS."""

    _zones: dict[str, str] = field(default_factory=dict)
    _unlisted_at: dict[str, float] = field(default_factory=dict)

    def update(self, now: float, subnets: Mapping[str, str], answers: Callable[[str], bool],
               ttl: float) -> tuple[Node, ...]:
        """The nodes clients connect to at ``now`` (by AZ), given the load balancer's ``subnets``
        (subnet id -> AZ), whether clients reach each subnet, and the DNS TTL in lab seconds.

        A subnet that left the load balancer keeps its node for ``ttl`` after this call first
        saw it gone; a subnet added (back) lists its node at once."""
        for gone in set(self._zones) - set(subnets):
            self._unlisted_at.setdefault(gone, now + ttl)
        for subnet in subnets:
            self._unlisted_at.pop(subnet, None)
        self._zones.update(subnets)
        for subnet, until in list(self._unlisted_at.items()):
            if now >= until:
                del self._unlisted_at[subnet], self._zones[subnet]
        return tuple(Node(subnet, zone, answers(subnet), subnet in self._unlisted_at)
                     for subnet, zone in sorted(self._zones.items(), key=lambda sz: (sz[1], sz[0])))
