"""Which of an Application Load Balancer's nodes DNS gives clients, over time, and what its metrics
count of the requests a cut-off node never took (pure)."""

from chaos_sre.lab.elbv2.metrics import NEVER_REACHED, alb_counts
from chaos_sre.lab.elbv2.nodes import Node, NodeDirectory
from chaos_sre.lab.web.endpoint import CAUSE_NODE_CUT_OFF

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


def test_requests_a_cut_off_node_never_took_are_in_none_of_the_load_balancers_metrics() -> None:
    """ALB metrics count what the load balancer saw ("CloudWatch metrics for your Application
    Load Balancer"): a request whose node a network ACL cut off never reached it, so CloudWatch
    (and so the budget gate's traffic weights) sees no request and no error for it."""
    counts = alb_counts({"ok": 90, "timeout-load-balancer-node-cut-off": 30,
                         "timeout-target-unreachable": 5, "502-target-down": 2})
    assert counts == {"RequestCount": 97, "HTTPCode_ELB_503_Count": 0, "HTTPCode_ELB_5XX_Count": 2,
                      "HTTPCode_ELB_4XX_Count": 5, "HTTPCode_Target_5XX_Count": 0}
    assert CAUSE_NODE_CUT_OFF in NEVER_REACHED
