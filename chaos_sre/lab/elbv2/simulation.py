"""Elastic Load Balancing in the lab: health checks, the routing they decide and the nodes in DNS.

moto stores the load balancers and target groups; this module makes time pass over them the way
an Application Load Balancer does, scaled by the lab's time scale:

* each registered target is health-checked every ``HealthCheckIntervalSeconds``; a new target is
  healthy after one pass, an unhealthy one after ``HealthyThresholdCount`` passes, and
  ``UnhealthyThresholdCount`` failures make a target unhealthy; deregistered targets drain for the
  target group's deregistration delay; when no target is healthy the load balancer fails open to
  all registered targets;
* what a check finds at a target is asked of the service that runs it: EC2 for instances, ECS for
  tasks' IPs (:meth:`~chaos_sre.lab.core.simulation.Services.target_condition`);
* each Application Load Balancer has a node per subnet, listed in DNS while the subnet is the load
  balancer's and for one DNS TTL after it leaves, answering clients while EC2 says the subnet's
  network ACL lets them in (:mod:`chaos_sre.lab.elbv2.nodes`);
* an active ARC zonal shift away from an AZ takes that AZ's node out of DNS (as if its subnet
  left) and the AZ's targets out of the load balancer's routing, unless it fails open
  (:mod:`chaos_sre.lab.arczonalshift.simulation`).

The lab's endpoint reads the resulting :class:`RoutingTable` and nodes without locking; the rest
runs under the lab lock (:mod:`chaos_sre.lab.core.dynamics` ticks it).
"""

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SERVING, UNREACHABLE, SimulationContext
from chaos_sre.lab.elbv2.nodes import DNS_TTL_SECONDS, Node, NodeDirectory

TICK_ORDER = 20
"""After EC2 and Auto Scaling: the checks see this tick's instances."""


class RouteTarget(NamedTuple):
    """A target the load balancer may send a request to, and what it will find there (one per
    target and tick, so a tuple)."""

    instance_id: str
    availability_zone: str
    condition: str


@dataclass(frozen=True)
class RoutingTable:
    """The load balancer's view of one target group, rebuilt every tick."""

    targets: tuple[RouteTarget, ...] = ()
    fail_open: bool = False


@dataclass
class TargetHealthState:
    """The load balancer's health-check state of one registered target."""

    state: str
    next_check: float
    passes: int = 0
    fails: int = 0
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    drain_until: float | None = None


@dataclass
class LoadBalancing:
    """Target groups' health and Application Load Balancers' nodes, over time."""

    context: SimulationContext
    _health: dict[tuple[str, str], TargetHealthState] = field(default_factory=dict)
    _directories: dict[str, NodeDirectory] = field(default_factory=dict)
    _nodes: dict[str, tuple[Node, ...]] = field(default_factory=dict)
    _routes: dict[str, RoutingTable] = field(default_factory=dict)

    # -- hooks called from moto and the other services (lock held) ------------
    def target_health(self, target_group_arn: str, target_id: str) -> tuple[str, str | None, str | None] | None:
        """The (state, reason, description) DescribeTargetHealth reports for a target, or None."""
        record = self._health.get((target_group_arn, target_id))
        return None if record is None else (record.state, record.reason, record.description)

    def health_state(self, target_group_arn: str, target_id: str) -> str | None:
        """A target's health state (``healthy``, ``unhealthy`` ...), None when not registered."""
        record = self._health.get((target_group_arn, target_id))
        return None if record is None else record.state

    # -- read side for the endpoint (lock-free) ----------------------------------
    def routing_table(self, target_group_name: str) -> RoutingTable:
        """The latest routing table of a target group."""
        return self._routes.get(target_group_name, RoutingTable())

    def load_balancer_nodes(self, name: str) -> tuple[Node, ...]:
        """The nodes of load balancer ``name`` that DNS gives clients now."""
        return self._nodes.get(name, ())

    def status(self) -> dict[str, Any]:
        """Target health per target group and each load balancer's nodes in DNS."""
        target_groups = {}
        for tg in moto_backend("elbv2").target_groups.values():
            states: dict[str, int] = {}
            for target_id in tg.targets:
                state = self.health_state(tg.arn, target_id) or "unknown"
                states[state] = states.get(state, 0) + 1
            target_groups[tg.name] = states
        return {
            "target_health": target_groups,
            "load_balancer_nodes": {
                name: [{"subnet_id": n.subnet_id, "availability_zone": n.availability_zone,
                        "answers": n.answers, "leaving": n.leaving} for n in nodes]
                for name, nodes in sorted(self._nodes.items())},
        }

    def tick(self, now: float) -> None:
        """Health checks, then the routing tables and the nodes in DNS."""
        elbv2 = moto_backend("elbv2")
        shifts = self.context.services.find_service("arczonalshift")
        self._health_checks(elbv2, now)
        self._publish_routes(elbv2, now, shifts)
        self._publish_nodes(elbv2, now, shifts)

    # -- health checks -------------------------------------------------------------
    def _condition(self, target_id: str, now: float) -> tuple[str, str]:
        """(what a request or check finds at the target, its AZ); a target no service runs is
        taken as serving, in no known AZ."""
        return self.context.services.target_condition(target_id, now) or (SERVING, "")

    def _health_checks(self, elbv2: Any, now: float) -> None:
        for tg in list(elbv2.target_groups.values()):
            interval = self.context.scaled(float(tg.health_check_interval_seconds))
            healthy_after = int(tg.healthy_threshold_count)
            unhealthy_after = int(tg.unhealthy_threshold_count)
            for target_id in list(tg.targets):
                key = (tg.arn, target_id)
                record = self._health.get(key)
                if record is None or record.state == "draining":
                    record = self._health[key] = TargetHealthState("initial", now + interval)
                    if self.context.warm:
                        record.state, record.reason, record.description = "healthy", None, None
                if now < record.next_check:
                    continue
                record.next_check = max(record.next_check + interval, now)
                condition = self._condition(target_id, now)[0]
                self._apply_check(tg, target_id, record, condition, healthy_after, unhealthy_after)
            delay = self.context.scaled(float(tg.attributes.get("deregistration_delay.timeout_seconds", 300)))
            for target_id in list(tg.deregistered_targets):
                key = (tg.arn, target_id)
                record = self._health.get(key)
                if record is None:
                    continue
                if record.state != "draining":
                    record.state, record.drain_until = "draining", now + delay
                    record.reason = "Target.DeregistrationInProgress"
                    record.description = "Target deregistration is in progress"
                elif record.drain_until is not None and now >= record.drain_until:
                    del self._health[key]

    def _apply_check(self, tg: Any, target_id: str, record: TargetHealthState, condition: str,
                     healthy_after: int, unhealthy_after: int) -> None:
        if condition == SERVING:
            record.passes, record.fails = record.passes + 1, 0
            # a newly registered target needs one passing check; an unhealthy one, the threshold
            needed = 1 if record.state == "initial" else healthy_after
            if record.state != "healthy" and record.passes >= needed:
                record.state, record.reason, record.description = "healthy", None, None
                self.context.timeline.event("target-healthy", target_id, target_group=tg.name)
            return
        record.passes, record.fails = 0, record.fails + 1
        if record.state != "unhealthy" and record.fails >= unhealthy_after:
            record.state = "unhealthy"
            if condition == UNREACHABLE:
                record.reason, record.description = "Target.Timeout", "Request timed out"
            else:
                record.reason = "Target.FailedHealthChecks"
                record.description = "Health checks failed"
            self.context.timeline.event("target-unhealthy", target_id, target_group=tg.name, cause=condition)

    # -- what the endpoint reads -------------------------------------------------------
    def _shifted_away(self, shifts: Any, balancer_arns: Any) -> frozenset[str]:
        """The AZs an active ARC zonal shift moves these load balancers' traffic away from
        (``shifts``: the lab's zonal shifts, None in a lab without them)."""
        if shifts is None:
            return frozenset()
        return frozenset().union(*(shifts.shifted_away(arn) for arn in balancer_arns))

    def _publish_routes(self, elbv2: Any, now: float, shifts: Any) -> None:
        """Each target group's targets: the healthy ones outside any AZ its load balancers are
        shifted away from, else (none healthy) every registered one, failing open - a zonal shift
        has no effect on a load balancer that fails open."""
        routes: dict[str, RoutingTable] = {}
        for tg in list(elbv2.target_groups.values()):
            registered = list(tg.targets)
            healthy = [t for t in registered if self.health_state(tg.arn, t) == "healthy"]
            chosen, fail_open = (healthy, False) if healthy else (registered, bool(registered))
            targets = tuple(self._route_target(t, now) for t in chosen)
            away = () if fail_open else self._shifted_away(shifts, tg.load_balancer_arns)
            routes[tg.name] = RoutingTable(
                targets=tuple(t for t in targets if t.availability_zone not in away),
                fail_open=fail_open)
        self._routes = routes

    def _route_target(self, target_id: str, now: float) -> RouteTarget:
        condition, zone = self._condition(target_id, now)
        return RouteTarget(target_id, zone, condition)

    def _publish_nodes(self, elbv2: Any, now: float, shifts: Any) -> None:
        """Each Application Load Balancer's nodes in DNS; a node leaving DNS is an event."""
        ec2 = self.context.services.service("ec2")
        nodes: dict[str, tuple[Node, ...]] = {}
        for balancer in list(elbv2.load_balancers.values()):
            if balancer.type != "application":
                continue
            directory = self._directories.setdefault(balancer.name, NodeDirectory())
            away = self._shifted_away(shifts, [balancer.arn])
            listed = directory.update(now, {s.id: s.availability_zone for s in balancer.subnets
                                            if s.availability_zone not in away},
                                      ec2.clients_reach, self.context.scaled(DNS_TTL_SECONDS))
            for gone in {n.subnet_id for n in self._nodes.get(balancer.name, ())} - {
                    n.subnet_id for n in listed}:
                self.context.timeline.event("load-balancer-node-unlisted", gone, load_balancer=balancer.name)
            nodes[balancer.name] = listed
        self._nodes = nodes


def create(context: SimulationContext) -> LoadBalancing:
    """Elastic Load Balancing's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return LoadBalancing(context)
