"""The web tier's simulation: EC2 boot, load balancer health checks, ASG healing.

moto stores the AWS resources; this module makes time pass over them the way
AWS does, scaled by the lab's time scale:

* an instance launched by anyone is ``pending`` for the EC2 pending time, then
  ``running``; its application answers after the profile's boot time;
* the load balancer health-checks each registered target every
  ``HealthCheckIntervalSeconds``; a new target is healthy after one pass, an
  unhealthy one after ``HealthyThresholdCount`` passes, and
  ``UnhealthyThresholdCount`` failures make a target unhealthy; deregistered
  targets drain for the target group's deregistration delay; when no target is
  healthy the load balancer fails open to all registered targets;
* every health sweep, each Auto Scaling group replaces instances that are not
  running (any health check type) or that the load balancer finds unhealthy
  after the grace period (``ELB`` type), then launches up to desired capacity
  in the least-populated reachable AZ, and rebalances AZs that differ by more
  than one instance, or instances left in an AZ the group's subnets no longer
  include (launch first, then retire); suspended processes
  (``HealthCheck``/``ReplaceUnhealthy``, ``Launch``, ``AZRebalance``,
  ``Terminate``) are respected;
* network ACLs decide which subnets the load balancer can reach, and which of its
  nodes clients can reach; a new one is "not found" by calls naming it for a moment
  (EC2 eventual consistency);
* each Application Load Balancer has a node per subnet, listed in DNS while the
  subnet is the load balancer's and for one DNS TTL after it leaves
  (:mod:`chaos_sre.lab.web.nodes`);
* IP targets (ECS tasks) are asked of the service that runs them
  (:meth:`~chaos_sre.lab.core.simulation.Services.target_condition`).

The load balancer endpoint reads the resulting :class:`RoutingTable` without
locking; everything else runs under the same lock as moto's request handling
(:mod:`chaos_sre.lab.core.dynamics` ticks it).
"""

import random
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from moto.ec2.models.instances import StateReason

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import BOOTING, DEAD, SERVING, UNREACHABLE, SimulationContext
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.web.network import AclRule, clients_can_reach, lb_can_reach
from chaos_sre.lab.web.nodes import DNS_TTL_SECONDS, Node, NodeDirectory
from chaos_sre.lab.web.settings import TIMINGS, WebTimings

TICK_ORDER = 20
LIVE_STATES = ("pending", "running")
START_FAILED_CODE = "Client.InternalError"
START_FAILED_MESSAGE = "Client.InternalError: Client error on launch"
AWS_MANAGED_EBS_KEY = "alias/aws/ebs"


def customer_managed_keys(instance: Any) -> list[str]:
    """The customer managed KMS keys the instance's EBS volumes are encrypted with (a volume
    encrypted with no key named uses the AWS managed key ``alias/aws/ebs``, which needs no grant
    from the caller)."""
    keys = []
    for _, block in instance.get_block_device_mapping:
        volume = instance.ec2_backend.volumes.get(block.volume_id)
        key = getattr(volume, "kms_key_id", None) if volume is not None else None
        if volume is not None and volume.encrypted and key and AWS_MANAGED_EBS_KEY not in key:
            keys.append(str(key))
    return keys


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
class InstanceLife:
    """Lab-side timeline of one EC2 instance (monotonic seconds)."""

    running_at: float
    ready_at: float
    last_state: str = "pending"
    in_service_at: float | None = None
    left_running_at: float | None = None
    terminated_by_lab: bool = False
    start_fails: bool = False
    """Started by a caller without ``kms:CreateGrant`` on its volumes' key: stops instead of running."""


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
class _Backends:
    ec2: Any
    autoscaling: Any
    elbv2: Any


@dataclass
class WebTier:
    """EC2 instances, their Auto Scaling groups and their load balancer, over time."""

    context: SimulationContext
    timings: WebTimings = TIMINGS
    _lives: dict[str, InstanceLife] = field(default_factory=dict)
    _health: dict[tuple[str, str], TargetHealthState] = field(default_factory=dict)
    _reachable: dict[str, bool] = field(default_factory=dict)
    _clients_reach: dict[str, bool] = field(default_factory=dict)
    _directories: dict[str, NodeDirectory] = field(default_factory=dict)
    _nodes: dict[str, tuple[Node, ...]] = field(default_factory=dict)
    _routes: dict[str, RoutingTable] = field(default_factory=dict)
    _instances: dict[str, Any] = field(default_factory=dict)
    _new_acls: dict[str, float] = field(default_factory=dict)
    _acl_verdicts: dict[str, tuple[tuple[Any, ...], str, bool, bool]] = field(default_factory=dict)
    """Network ACL id -> (its entries, the VPC's CIDR, load balancer reaches targets, clients reach
    the listener), reused while the entries are the same objects: EC2 replaces an entry rather
    than changing it (moto too), and the tick runs 50 times a second."""
    _next_sweep: float = 0.0

    # -- helpers -----------------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        return self.context.timeline

    @property
    def warm(self) -> bool:
        return self.context.warm

    def scaled(self, aws_seconds: float) -> float:
        """Lab seconds for ``aws_seconds`` of AWS time."""
        return self.context.scaled(aws_seconds)

    @staticmethod
    def _backends() -> _Backends:
        return _Backends(
            ec2=moto_backend("ec2"),
            autoscaling=moto_backend("autoscaling"),
            elbv2=moto_backend("elbv2"),
        )

    def _boot_seconds(self, instance: Any) -> float:
        return self.context.profile.part("web").app_boot_seconds

    # -- hooks called from moto (lock held by the caller) -------------------
    def instance_launched(self, instance: Any) -> None:
        """Start the instance's pending/boot timeline (or make it ready when warm)."""
        now = time.monotonic()
        if self.warm:
            self._lives[instance.id] = InstanceLife(now, now, last_state="running")
            return
        instance._state.name = "pending"
        instance._state.code = 0
        running_at = now + self.scaled(self.timings.ec2_pending_seconds)
        self._lives[instance.id] = InstanceLife(
            running_at, running_at + self.scaled(self._boot_seconds(instance))
        )
        self.timeline.event(
            "instance-launched", instance.id, availability_zone=instance.placement.zone
        )

    def network_acl_created(self, network_acl_id: str) -> None:
        """A CreateNetworkAcl: calls naming the ACL do not find it for a moment."""
        if not self.warm:
            self._new_acls[network_acl_id] = time.monotonic() + self.scaled(
                self.timings.new_network_acl_not_found_seconds)

    def network_acl_found(self, network_acl_id: str) -> bool:
        """Whether calls naming ``network_acl_id`` find it yet (EC2 eventual consistency)."""
        until = self._new_acls.get(network_acl_id)
        if until is None:
            return True
        if time.monotonic() >= until:
            del self._new_acls[network_acl_id]
            return True
        return False

    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the load balancer can reach ``subnet_id`` (last evaluation)."""
        return self._reachable.get(subnet_id, True)

    def asg_launch_failed(self, group_name: str, reason: str) -> None:
        """Record a failed ASG launch; the next sweep tries again."""
        self.timeline.event("asg-launch-failed", group_name, reason=reason)

    def target_health(
        self, target_group_arn: str, target_id: str
    ) -> tuple[str, str | None, str | None] | None:
        """The health state DescribeTargetHealth reports for a target."""
        record = self._health.get((target_group_arn, target_id))
        if record is None:
            return None
        return record.state, record.reason, record.description

    # -- read side for the endpoint and `lab status` ------------------------
    def routing_table(self, target_group_name: str) -> RoutingTable:
        """The latest routing table of a target group (lock-free read)."""
        return self._routes.get(target_group_name, RoutingTable())

    def load_balancer_nodes(self, name: str) -> tuple[Node, ...]:
        """The nodes of load balancer ``name`` that DNS gives clients now (lock-free read)."""
        return self._nodes.get(name, ())

    def status(self) -> dict[str, Any]:
        """A summary of instances per AZ and target health, for `lab status`."""
        backends = self._backends()
        instances: dict[str, dict[str, int]] = {}
        for instance in backends.ec2.all_instances():
            zone = instances.setdefault(instance.placement.zone, {})
            zone[instance.state] = zone.get(instance.state, 0) + 1
        groups = {
            name: {
                "desired": group.desired_capacity,
                "in_service": sum(
                    1 for s in group.instance_states if s.lifecycle_state == "InService"
                ),
            }
            for name, group in backends.autoscaling.autoscaling_groups.items()
        }
        target_groups = {}
        for tg in backends.elbv2.target_groups.values():
            states: dict[str, int] = {}
            for target_id in tg.targets:
                record = self._health.get((tg.arn, target_id))
                state = record.state if record else "unknown"
                states[state] = states.get(state, 0) + 1
            target_groups[tg.name] = states
        return {
            "instances_by_az": instances,
            "auto_scaling_groups": groups,
            "target_health": target_groups,
            "unreachable_subnets": sorted(s for s, ok in self._reachable.items() if not ok),
            "load_balancer_nodes": {
                name: [{"subnet_id": n.subnet_id, "availability_zone": n.availability_zone,
                        "answers": n.answers, "leaving": n.leaving} for n in nodes]
                for name, nodes in sorted(self._nodes.items())},
        }

    def tick(self, now: float) -> None:
        """Network reachability, instance states, ASG promotion, health checks, healing, routes."""
        backends = self._backends()
        self._instances = {i.id: i for i in backends.ec2.all_instances()}
        self._evaluate_network(backends.ec2)
        self._advance_instances(now)
        self._promote_in_service(backends, now)
        self._health_checks(backends, now)
        if now >= self._next_sweep:
            period = self.scaled(self.timings.asg_health_sweep_seconds)
            self._next_sweep = now + period * random.uniform(0.5, 1.5)
            self._asg_sweep(backends, now)
        self._publish_routes(backends)
        self._publish_nodes(backends, now)

    # -- network --------------------------------------------------------------
    def _evaluate_network(self, ec2: Any) -> None:
        acl_of_subnet: dict[str, Any] = {}
        default_acl: dict[str, Any] = {}
        for acl in list(ec2.network_acls.values()):
            if acl.default:
                default_acl[acl.vpc_id] = acl
            for association in acl.associations:
                acl_of_subnet[association.subnet_id] = acl
        for zone_subnets in list(ec2.subnets.values()):
            for subnet in list(zone_subnets.values()):
                acl = acl_of_subnet.get(subnet.id) or default_acl.get(subnet.vpc_id)
                vpc = ec2.vpcs.get(subnet.vpc_id)
                if acl is None or vpc is None:
                    continue
                reachable, self._clients_reach[subnet.id] = self._verdicts(acl, vpc.cidr_block)
                previous = self._reachable.get(subnet.id)
                self._reachable[subnet.id] = reachable
                if previous is not None and previous != reachable:
                    self.timeline.event(
                        "subnet-reachable" if reachable else "subnet-unreachable",
                        subnet.id,
                        availability_zone=subnet.availability_zone,
                        network_acl=acl.id,
                    )

    def _verdicts(self, acl: Any, lb_cidr: str) -> tuple[bool, bool]:
        """Whether the load balancer reaches targets and clients reach the listener through
        ``acl``, computed again only when its entries or the VPC's CIDR changed."""
        entries = tuple(acl.network_acl_entries)
        cached = self._acl_verdicts.get(acl.id)
        if cached is not None and cached[1] == lb_cidr and len(cached[0]) == len(entries) \
                and all(a is b for a, b in zip(cached[0], entries, strict=True)):
            return cached[2], cached[3]
        rules = tuple(
            AclRule(
                rule_number=int(e.rule_number),
                egress=str(e.egress).lower() == "true",
                protocol=str(e.protocol),
                allow=str(e.rule_action).lower() == "allow",
                cidr_block=e.cidr_block,
                port_from=int(e.port_range_from) if e.port_range_from else None,
                port_to=int(e.port_range_to) if e.port_range_to else None,
            )
            for e in entries
        )
        reachable = lb_can_reach(rules, lb_cidr=lb_cidr, target_port=80)
        clients = clients_can_reach(rules, listener_port=80)
        self._acl_verdicts[acl.id] = (entries, lb_cidr, reachable, clients)
        return reachable, clients

    def instance_started(self, instance: Any, caller_may_grant: bool) -> None:
        """StartInstances: ``pending`` for the EC2 pending time (moto: ``running`` at once), then
        ``running`` and booting - or, when a volume is encrypted with a customer managed KMS key
        and the caller may not ``kms:CreateGrant``, back to ``stopped`` (Client.InternalError),
        as AWS re:Post's "kms-iam-ec2-permission" describes."""
        now = time.monotonic()
        instance._state.name, instance._state.code = "pending", 0
        life = self._lives.setdefault(instance.id, InstanceLife(now, now))
        life.running_at = now + self.scaled(self.timings.ec2_pending_seconds)
        life.ready_at = life.running_at + self.scaled(self._boot_seconds(instance))
        life.start_fails = not caller_may_grant and bool(customer_managed_keys(instance))
        self.timeline.event("instance-started", instance.id,
                            availability_zone=instance.placement.zone)

    # -- EC2 --------------------------------------------------------------------
    def _advance_instances(self, now: float) -> None:
        for instance in self._instances.values():
            life = self._lives.get(instance.id)
            if life is None:
                life = self._lives[instance.id] = InstanceLife(now, now, last_state=instance.state)
            if instance.state == "pending" and now >= life.running_at and life.start_fails:
                instance._state.name, instance._state.code = "stopped", 80
                instance.state_reason = StateReason(START_FAILED_MESSAGE, START_FAILED_CODE)
                life.start_fails, life.last_state = False, "stopped"
                self.timeline.event("instance-start-failed", instance.id,
                                    availability_zone=instance.placement.zone,
                                    reason=START_FAILED_MESSAGE)
                continue
            if instance.state == "pending" and now >= life.running_at:
                instance._state.name = "running"
                instance._state.code = 16
            state = instance.state
            if state == life.last_state:
                continue
            previous, life.last_state = life.last_state, state
            life.left_running_at = None if state in LIVE_STATES else now
            zone = instance.placement.zone
            if state in ("terminated", "shutting-down") and not life.terminated_by_lab:
                if previous not in ("terminated", "shutting-down"):
                    self.timeline.event("instance-terminated", instance.id, availability_zone=zone)
            elif state in ("stopped", "stopping") and previous in LIVE_STATES:
                self.timeline.event("instance-stopped", instance.id, availability_zone=zone)

    # -- Auto Scaling -----------------------------------------------------------
    def _promote_in_service(self, backends: _Backends, now: float) -> None:
        for name, group in list(backends.autoscaling.autoscaling_groups.items()):
            promoted = False
            for state in group.instance_states:
                if state.lifecycle_state == "Pending" and state.instance.state == "running":
                    state.lifecycle_state = "InService"
                    life = self._lives.get(state.instance.id)
                    if life is not None:
                        life.in_service_at = now
                    promoted = True
            if promoted:
                backends.autoscaling.update_attached_target_groups(name)

    def _unhealthy_reason(self, group: Any, state: Any, now: float) -> str | None:
        instance = state.instance
        life = self._lives.get(instance.id)
        if instance.state not in LIVE_STATES:
            detected_after = self.scaled(self.timings.asg_state_detection_seconds)
            if life is not None and life.left_running_at is not None \
                    and now - life.left_running_at < detected_after:
                return None
            return f"an EC2 health check indicates the instance is {instance.state}"
        if group.health_check_type != "ELB" or state.lifecycle_state != "InService":
            return None
        grace = self.scaled(float(group.health_check_grace_period or 0))
        if life is None or life.in_service_at is None or now - life.in_service_at < grace:
            return None
        for arn in group.target_group_arns:
            record = self._health.get((arn, instance.id))
            if record is not None and record.state == "unhealthy":
                return "an Elastic Load Balancing health check failed"
        return None

    def _asg_sweep(self, backends: _Backends, now: float) -> None:
        for name, group in list(backends.autoscaling.autoscaling_groups.items()):
            suspended = set(getattr(group, "_suspended_processes", None) or ())
            replaced = []
            if not suspended & {"HealthCheck", "ReplaceUnhealthy"}:
                replaced = self._replace_unhealthy(name, group, backends, now)
            if replaced:
                backends.autoscaling.update_attached_target_groups(name)
            if "Launch" in suspended:
                continue
            missing = (group.desired_capacity or 0) - len(group.active_instances())
            if missing > 0:
                group.replace_autoscaling_group_instances(missing, group.get_propagated_tags())
            elif not suspended & {"AZRebalance", "Terminate"}:
                self._rebalance(name, group, backends)

    def _replace_unhealthy(self, name: str, group: Any, backends: _Backends, now: float) -> list[str]:
        replaced = []
        for state in list(group.instance_states):
            reason = self._unhealthy_reason(group, state, now)
            if reason is None:
                continue
            instance = state.instance
            state.health_status = "Unhealthy"
            group.instance_states.remove(state)
            self._terminate_by_lab(instance, backends)
            replaced.append(instance.id)
            self.timeline.event(
                "asg-instance-replaced",
                instance.id,
                group=name,
                reason=reason,
                availability_zone=instance.placement.zone,
            )
        return replaced

    def _terminate_by_lab(self, instance: Any, backends: _Backends) -> None:
        if instance.state in LIVE_STATES or instance.state == "stopped":
            life = self._lives.get(instance.id)
            if life is not None:
                life.terminated_by_lab = True
            backends.ec2.terminate_instances([instance.id])

    def _rebalance(self, name: str, group: Any, backends: _Backends) -> None:
        """AZRebalance ("Rebalancing activities", EC2 Auto Scaling User Guide): when the group's
        AZs changed or grew unbalanced, launch in the emptiest reachable AZ first, then terminate
        an instance in an AZ the group no longer has, else one in the fullest AZ."""
        if any(s.lifecycle_state == "Pending" for s in group.instance_states):
            return
        subnets = [s for s in (group.vpc_zone_identifier or "").split(",") if s]
        group_zones = {backends.ec2.get_subnet(s).availability_zone for s in subnets}
        zones = {s: backends.ec2.get_subnet(s).availability_zone for s in subnets
                 if self.subnet_reachable(s)}
        counts = {zone: 0 for zone in zones.values()}
        members: dict[str, list[Any]] = {zone: [] for zone in counts}
        left_behind = []
        for state in group.active_instances():
            zone = state.instance.placement.zone
            if zone in counts:
                counts[zone] += 1
                members[zone].append(state)
            elif zone not in group_zones:
                left_behind.append(state)
        if not counts:
            return
        if len(group.active_instances()) > (group.desired_capacity or 0):
            fullest = max(counts, key=lambda z: counts[z])
            state = left_behind[0] if left_behind else members[fullest][0]
            zone = state.instance.placement.zone
            group.instance_states.remove(state)
            self._terminate_by_lab(state.instance, backends)
            backends.autoscaling.update_attached_target_groups(name)
            self.timeline.event("asg-rebalance-terminated", state.instance.id,
                                group=name, availability_zone=zone)
        elif left_behind or max(counts.values()) - min(counts.values()) > 1:
            self.timeline.event("asg-rebalance-launch", name,
                                availability_zone=min(counts, key=lambda z: counts[z]))
            group.replace_autoscaling_group_instances(1, group.get_propagated_tags())

    # -- load balancer ----------------------------------------------------------
    def _condition(self, target_id: str, now: float) -> str:
        instance = self._instances.get(target_id)
        if instance is None:
            task = self.context.services.target_condition(target_id, now)
            return SERVING if task is None else task[0]
        if not self._reachable.get(instance.subnet_id, True):
            return UNREACHABLE
        if instance.state != "running":
            return DEAD
        life = self._lives.get(target_id)
        if life is not None and now < life.ready_at:
            return BOOTING
        return SERVING

    def _health_checks(self, backends: _Backends, now: float) -> None:
        for tg in list(backends.elbv2.target_groups.values()):
            interval = self.scaled(float(tg.health_check_interval_seconds))
            healthy_after = int(tg.healthy_threshold_count)
            unhealthy_after = int(tg.unhealthy_threshold_count)
            for target_id in list(tg.targets):
                key = (tg.arn, target_id)
                record = self._health.get(key)
                if record is None or record.state == "draining":
                    record = self._health[key] = TargetHealthState("initial", now + interval)
                    if self.warm:
                        record.state, record.reason, record.description = "healthy", None, None
                if now < record.next_check:
                    continue
                record.next_check = max(record.next_check + interval, now)
                condition = self._condition(target_id, now)
                self._apply_check(tg, target_id, record, condition, healthy_after, unhealthy_after)
            delay = self.scaled(float(tg.attributes.get("deregistration_delay.timeout_seconds", 300)))
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

    def _apply_check(
        self,
        tg: Any,
        target_id: str,
        record: TargetHealthState,
        condition: str,
        healthy_after: int,
        unhealthy_after: int,
    ) -> None:
        if condition == SERVING:
            record.passes, record.fails = record.passes + 1, 0
            # a newly registered target needs one passing check; an unhealthy one, the threshold
            needed = 1 if record.state == "initial" else healthy_after
            if record.state != "healthy" and record.passes >= needed:
                record.state, record.reason, record.description = "healthy", None, None
                self.timeline.event("target-healthy", target_id, target_group=tg.name)
            return
        record.passes, record.fails = 0, record.fails + 1
        if record.state != "unhealthy" and record.fails >= unhealthy_after:
            record.state = "unhealthy"
            if condition == UNREACHABLE:
                record.reason, record.description = "Target.Timeout", "Request timed out"
            else:
                record.reason = "Target.FailedHealthChecks"
                record.description = "Health checks failed"
            self.timeline.event(
                "target-unhealthy", target_id, target_group=tg.name, cause=condition
            )

    def _publish_routes(self, backends: _Backends) -> None:
        now = time.monotonic()
        routes: dict[str, RoutingTable] = {}
        for tg in list(backends.elbv2.target_groups.values()):
            registered = list(tg.targets)
            healthy = [
                t for t in registered
                if (r := self._health.get((tg.arn, t))) is not None and r.state == "healthy"
            ]
            chosen, fail_open = (healthy, False) if healthy else (registered, bool(registered))
            routes[tg.name] = RoutingTable(
                targets=tuple(self._route_target(t, now) for t in chosen),
                fail_open=fail_open,
            )
        self._routes = routes

    def _publish_nodes(self, backends: _Backends, now: float) -> None:
        """Each Application Load Balancer's nodes in DNS; a node leaving DNS is an event."""
        nodes: dict[str, tuple[Node, ...]] = {}
        for balancer in list(backends.elbv2.load_balancers.values()):
            if balancer.type != "application":
                continue
            directory = self._directories.setdefault(balancer.name, NodeDirectory())
            listed = directory.update(
                now, {s.id: s.availability_zone for s in balancer.subnets},
                lambda subnet: self._clients_reach.get(subnet, True),
                self.scaled(DNS_TTL_SECONDS))
            for gone in {n.subnet_id for n in self._nodes.get(balancer.name, ())} - {
                    n.subnet_id for n in listed}:
                self.timeline.event("load-balancer-node-unlisted", gone, load_balancer=balancer.name)
            nodes[balancer.name] = listed
        self._nodes = nodes

    def _route_target(self, target_id: str, now: float) -> RouteTarget:
        """Where a target is and what a request finds there (one look per target)."""
        instance = self._instances.get(target_id)
        if instance is not None:
            return RouteTarget(target_id, str(instance.placement.zone), self._condition(target_id, now))
        task = self.context.services.target_condition(target_id, now)
        return RouteTarget(target_id, "", SERVING) if task is None else RouteTarget(target_id, task[1], task[0])


def create(context: SimulationContext) -> WebTier:
    """The web tier's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return WebTier(context)
