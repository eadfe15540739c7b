"""Which of an Application Load Balancer's nodes DNS gives clients, over time (pure)."""

from chaos_sre.lab.web.nodes import Node, NodeDirectory

SUBNETS = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-c": "us-east-1c"}
TTL = 6.0


def reachable(subnet: str) -> bool:
    return True


def test_a_node_is_listed_while_its_subnet_is_the_load_balancers_even_when_cut_off() -> None:
    """Cross-zone load balancing keeps a node in DNS while any AZ has a healthy target (AWS
    re:Post, "elb-dns-cross-zone-balance-configuration"): a network ACL that keeps clients out
    of its subnet does not unlist it, however long it lasts."""
    directory = NodeDirectory()
    for now in (0.0, 100.0, 1000.0):
        nodes = directory.update(now, SUBNETS, lambda subnet: subnet != "subnet-a", TTL)
        assert nodes == (Node("subnet-a", "us-east-1a", answers=False),
                         Node("subnet-b", "us-east-1b", answers=True),
                         Node("subnet-c", "us-east-1c", answers=True))


def test_a_node_whose_subnet_left_stays_listed_for_one_ttl_then_is_gone() -> None:
    """SetSubnets without a subnet removes its node from DNS; clients that resolved the name
    before keep connecting to it until their cache expires (TTL 60 s)."""
    directory = NodeDirectory()
    directory.update(0.0, SUBNETS, reachable, TTL)
    remaining = {s: z for s, z in SUBNETS.items() if s != "subnet-a"}
    leaving = directory.update(10.0, remaining, reachable, TTL)
    assert [(n.subnet_id, n.leaving) for n in leaving] == [
        ("subnet-a", True), ("subnet-b", False), ("subnet-c", False)]
    assert len(directory.update(10.0 + TTL - 0.1, remaining, reachable, TTL)) == 3
    assert [n.subnet_id for n in directory.update(10.0 + TTL, remaining, reachable, TTL)] == [
        "subnet-b", "subnet-c"]


def test_a_subnet_given_back_lists_its_node_at_once() -> None:
    """A subnet added back before its old node left DNS, or after, is listed and not leaving."""
    directory = NodeDirectory()
    directory.update(0.0, SUBNETS, reachable, TTL)
    remaining = {s: z for s, z in SUBNETS.items() if s != "subnet-b"}
    directory.update(1.0, remaining, reachable, TTL)
    assert not any(n.leaving for n in directory.update(2.0, SUBNETS, reachable, TTL))
    directory.update(3.0, remaining, reachable, TTL)
    assert len(directory.update(3.0 + TTL, remaining, reachable, TTL)) == 2
    assert [n.subnet_id for n in directory.update(20.0, SUBNETS, reachable, TTL)] == sorted(SUBNETS)
