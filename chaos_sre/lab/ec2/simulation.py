"""EC2 in the lab: instances' lives over time and the network ACLs that cut subnets off.

moto stores the instances and ACLs; this module makes time pass over them the way EC2 does,
scaled by the lab's time scale:

* an instance launched by anyone is ``pending`` for the EC2 pending time, then ``running``; the
  application on it answers after the sample application's boot time;
* StartInstances of an instance whose volume is encrypted with a customer managed KMS key, by a
  caller without ``kms:CreateGrant`` on it, ends ``stopped`` (``Client.InternalError``);
* network ACLs decide which subnets the load balancer can reach, and which of its nodes clients
  can reach; a new one is "not found" by calls naming it for a moment now and then (EC2 eventual
  consistency: a window drawn per ACL, most ACLs none; every ACL the longest window with
  ``CHAOS_SRE_LAB_CONSISTENCY=worst-case``, the test suite's setting);
* with the route tables and NAT gateways, they decide which subnets reach the internet
  (:mod:`chaos_sre.lab.ec2.egress`), and whether the lab's callers reach AWS: they sit where the
  network interface described ``chaos-sre runner`` is (:meth:`Ec2.caller_reaches`);
* an instance is a target the load balancer may route to: :meth:`Ec2.target_condition` says what
  it finds there (:mod:`chaos_sre.lab.core.simulation`).

Everything runs under the lab lock (:mod:`chaos_sre.lab.core.dynamics` ticks it).
"""

import itertools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models.instances import StateReason

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import BOOTING, DEAD, SERVING, UNREACHABLE, SimulationContext
from chaos_sre.lab.ec2.egress import DEFAULT_ROUTE, NatGateway, Subnet, cut_reason, endpoint_reaches
from chaos_sre.lab.ec2.network import AclRule, clients_can_reach, lb_can_reach, passes_internet
from chaos_sre.lab.ec2.settings import (
    CALLER_INTERFACE_DESCRIPTION,
    CONSISTENCY_SETTING,
    TIMINGS,
    Ec2Timings,
    not_found_window,
)

TICK_ORDER = 15
LIVE_STATES = ("pending", "running")
START_FAILED_CODE = "Client.InternalError"
START_FAILED_MESSAGE = "Client.InternalError: Client error on launch"
AWS_MANAGED_EBS_KEY = "alias/aws/ebs"
APPLICATION = "web"
"""The lab service whose profile part says how long the application on an instance boots."""


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


@dataclass
class InstanceLife:
    """Lab-side timeline of one EC2 instance (monotonic seconds)."""

    running_at: float
    ready_at: float
    last_state: str = "pending"
    left_running_at: float | None = None
    terminated_by_lab: bool = False
    start_fails: bool = False
    """Started by a caller without ``kms:CreateGrant`` on its volumes' key: stops instead of running."""


@dataclass(frozen=True)
class AclVerdicts:
    """What a network ACL's entries let through (:meth:`Ec2._verdicts` keeps them per ACL)."""

    entries: tuple[Any, ...]
    rules: tuple[AclRule, ...]
    lb_cidr: str
    reachable: bool
    """The load balancer reaches targets in its subnets."""
    clients: bool
    """Clients reach a load balancer node in its subnets."""
    internet: bool
    """Its subnets' calls reach the internet and are answered (:func:`passes_internet`)."""


@dataclass(frozen=True)
class CallerPlace:
    """Where the lab's callers sit (the ``chaos-sre runner`` interface's subnet), and how their
    calls leave it."""

    subnet: Subnet
    cut: str | None
    """Why its default route does not reach the internet (None: it does)."""
    endpoints: dict[str, tuple[Subnet, ...]]
    """Signing name of a service (``ec2``) -> the subnets of the private-DNS interface endpoint
    for it in the caller's VPC, which its calls to that service go through."""

    def unreached(self, signing_name: str, call: int) -> str | None:
        """Why call number ``call`` to ``signing_name`` gets no answer, or None when it gets one."""
        through = self.endpoints.get(signing_name)
        if through is not None:
            return None if endpoint_reaches(self.subnet, through, call) else (
                "the interface endpoint's address it was given is in a cut subnet")
        if self.subnet.default_route is None:
            return f"subnet {self.subnet.subnet_id} has no route to the internet"
        return self.cut


@dataclass
class Ec2:
    """EC2 instances and network ACLs, over time."""

    context: SimulationContext
    timings: Ec2Timings = TIMINGS
    _lives: dict[str, InstanceLife] = field(default_factory=dict)
    _reachable: dict[str, bool] = field(default_factory=dict)
    _clients_reach: dict[str, bool] = field(default_factory=dict)
    _instances: dict[str, Any] = field(default_factory=dict)
    _new_acls: dict[str, float] = field(default_factory=dict)
    _acl_verdicts: dict[str, "AclVerdicts"] = field(default_factory=dict)
    _egress_cut: dict[str, str] = field(default_factory=dict)
    """Subnet -> why its default route no longer reaches the internet."""
    _caller: CallerPlace | None = None
    _calls: Iterator[int] = field(default_factory=itertools.count)
    _unreached: dict[str, int] = field(default_factory=dict)
    _unreached_lock: threading.Lock = field(default_factory=threading.Lock)

    def _boot_seconds(self) -> float:
        return float(self.context.profile.part(APPLICATION).app_boot_seconds)

    # -- hooks called from moto (lock held by the caller) -------------------
    def instance_launched(self, instance: Any) -> None:
        """Start the instance's pending/boot timeline (or make it ready when warm)."""
        now = time.monotonic()
        if self.context.warm:
            self._lives[instance.id] = InstanceLife(now, now, last_state="running")
            return
        instance._state.name = "pending"
        instance._state.code = 0
        running_at = now + self.context.scaled(self.timings.ec2_pending_seconds)
        self._lives[instance.id] = InstanceLife(running_at, running_at + self.context.scaled(self._boot_seconds()))
        self.context.timeline.event("instance-launched", instance.id,
                                    availability_zone=instance.placement.zone)

    def instance_started(self, instance: Any, caller_may_grant: bool) -> None:
        """StartInstances: ``pending`` for the EC2 pending time (moto: ``running`` at once), then
        ``running`` and booting - or, when a volume is encrypted with a customer managed KMS key
        and the caller may not ``kms:CreateGrant``, back to ``stopped`` (Client.InternalError),
        as AWS re:Post's "kms-iam-ec2-permission" describes."""
        now = time.monotonic()
        instance._state.name, instance._state.code = "pending", 0
        life = self._lives.setdefault(instance.id, InstanceLife(now, now))
        life.running_at = now + self.context.scaled(self.timings.ec2_pending_seconds)
        life.ready_at = life.running_at + self.context.scaled(self._boot_seconds())
        life.start_fails = not caller_may_grant and bool(customer_managed_keys(instance))
        self.context.timeline.event("instance-started", instance.id,
                                    availability_zone=instance.placement.zone)

    def network_acl_created(self, network_acl_id: str) -> None:
        """A CreateNetworkAcl: calls naming the ACL may not find it for a moment
        (:func:`~chaos_sre.lab.ec2.settings.not_found_window`)."""
        mode = os.environ.get(CONSISTENCY_SETTING, "sampled")
        window = not_found_window(network_acl_id, self.timings, mode)
        if not self.context.warm and window > 0:
            self._new_acls[network_acl_id] = time.monotonic() + self.context.scaled(window)

    def network_acl_found(self, network_acl_id: str) -> bool:
        """Whether calls naming ``network_acl_id`` find it yet (EC2 eventual consistency)."""
        until = self._new_acls.get(network_acl_id)
        if until is None:
            return True
        if time.monotonic() >= until:
            del self._new_acls[network_acl_id]
            return True
        return False

    # -- read side for the other services ------------------------------------
    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the load balancer can reach ``subnet_id`` (last evaluation)."""
        return self._reachable.get(subnet_id, True)

    def clients_reach(self, subnet_id: str) -> bool:
        """Whether clients reach a load balancer node in ``subnet_id`` (last evaluation)."""
        return self._clients_reach.get(subnet_id, True)

    def caller_reaches(self, signing_name: str) -> bool:
        """Whether the lab's caller's call to service ``signing_name`` (``ec2``) is answered, from
        where the caller sits (last evaluation); called outside the lab lock, for every call.
        A call that is not answered is counted in ``lab status``."""
        place = self._caller
        why = None if place is None else place.unreached(signing_name, next(self._calls))
        if why is None:
            return True
        with self._unreached_lock:
            self._unreached[signing_name] = self._unreached.get(signing_name, 0) + 1
        return False

    def left_running_at(self, instance_id: str) -> float | None:
        """When the instance last left ``pending``/``running`` (None while it is live)."""
        life = self._lives.get(instance_id)
        return None if life is None else life.left_running_at

    def terminate_by_lab(self, instance: Any) -> None:
        """Terminate an instance on the lab's own account (an ASG replacing it): no fault event."""
        if instance.state in LIVE_STATES or instance.state == "stopped":
            life = self._lives.get(instance.id)
            if life is not None:
                life.terminated_by_lab = True
            moto_backend("ec2").terminate_instances([instance.id])

    def target_condition(self, target_id: str, now: float) -> tuple[str, str] | None:
        """(what the load balancer finds at instance ``target_id``, its AZ), or None when it is
        no instance (:meth:`~chaos_sre.lab.core.simulation.Services.target_condition`)."""
        instance = self._instances.get(target_id)
        if instance is None:
            return None
        zone = str(instance.placement.zone)
        if not self._reachable.get(instance.subnet_id, True):
            return UNREACHABLE, zone
        if instance.state != "running":
            return DEAD, zone
        life = self._lives.get(target_id)
        return (BOOTING if life is not None and now < life.ready_at else SERVING), zone

    def status(self) -> dict[str, Any]:
        """Instances per AZ and state, and the subnets the load balancer cannot reach."""
        instances: dict[str, dict[str, int]] = {}
        for instance in moto_backend("ec2").all_instances():
            zone = instances.setdefault(instance.placement.zone, {})
            zone[instance.state] = zone.get(instance.state, 0) + 1
        place = self._caller
        with self._unreached_lock:
            unanswered = dict(sorted(self._unreached.items()))
        return {"instances_by_az": instances,
                "unreachable_subnets": sorted(s for s, ok in self._reachable.items() if not ok),
                "egress_cut_subnets": dict(sorted(self._egress_cut.items())),
                "caller": {"subnet": place.subnet.subnet_id if place else None,
                           "route_cut": place.unreached("", 0) if place else None,
                           "unanswered_calls": unanswered}}

    def tick(self, now: float) -> None:
        """Network reachability, then instance states."""
        ec2 = moto_backend("ec2")
        self._instances = {i.id: i for i in ec2.all_instances()}
        self._evaluate_network(ec2)
        self._advance_instances(now)

    # -- network --------------------------------------------------------------
    def _evaluate_network(self, ec2: Any) -> None:
        acl_of_subnet: dict[str, Any] = {}
        default_acl: dict[str, Any] = {}
        for acl in list(ec2.network_acls.values()):
            if acl.default:
                default_acl[acl.vpc_id] = acl
            for association in acl.associations:
                acl_of_subnet[association.subnet_id] = acl
        routes = _default_routes(ec2)
        this_tick: dict[str, AclVerdicts] = {}
        subnets: dict[str, Subnet] = {}
        for zone_subnets in list(ec2.subnets.values()):
            for subnet in list(zone_subnets.values()):
                acl = acl_of_subnet.get(subnet.id) or default_acl.get(subnet.vpc_id)
                vpc = ec2.vpcs.get(subnet.vpc_id)
                if acl is None or vpc is None:
                    continue
                verdicts = this_tick.get(acl.id) or this_tick.setdefault(
                    acl.id, self._verdicts(acl, vpc.cidr_block))
                reachable, self._clients_reach[subnet.id] = verdicts.reachable, verdicts.clients
                previous = self._reachable.get(subnet.id)
                self._reachable[subnet.id] = reachable
                if previous is not None and previous != reachable:
                    self.context.timeline.event(
                        "subnet-reachable" if reachable else "subnet-unreachable", subnet.id,
                        availability_zone=subnet.availability_zone, network_acl=acl.id)
                route = routes.get(subnet.id, routes.get(subnet.vpc_id))
                subnets[subnet.id] = Subnet(subnet.id, subnet.cidr_block, verdicts.rules, acl.id, route,
                                            verdicts.internet)
        self._evaluate_egress(ec2, subnets)

    def _evaluate_egress(self, ec2: Any, subnets: dict[str, Subnet]) -> None:
        """Which subnets' default routes no longer reach the internet, and where the caller sits."""
        gateways = {g.id: NatGateway(g.id, g.state, g.subnet_id) for g in list(ec2.nat_gateways.values())}
        cut = {s: why for s, subnet in subnets.items()
               if (why := cut_reason(subnet, subnets, gateways)) is not None}
        for subnet_id in sorted(cut.keys() ^ self._egress_cut.keys()):
            lost = subnet_id in cut
            self.context.timeline.event("subnet-egress-lost" if lost else "subnet-egress-restored",
                                        subnet_id, reason=cut.get(subnet_id, ""))
        self._egress_cut = cut
        self._caller = self._place_caller(ec2, subnets)

    def _place_caller(self, ec2: Any, subnets: dict[str, Subnet]) -> CallerPlace | None:
        interface = next((e for e in list(ec2.enis.values())
                          if e.description == CALLER_INTERFACE_DESCRIPTION), None)
        if interface is None or interface.subnet.id not in subnets:
            return None
        here = subnets[interface.subnet.id]
        endpoints = {
            str(e.service_name).rsplit(".", 1)[-1]: tuple(subnets[s] for s in e.subnet_ids or [] if s in subnets)
            for e in list(ec2.vpc_end_points.values())
            if str(e.vpc_endpoint_type).lower() == "interface" and e.private_dns_enabled
            and e.vpc_id == interface.subnet.vpc_id and e.state == "available"}
        return CallerPlace(here, self._egress_cut.get(here.subnet_id), endpoints)

    def _verdicts(self, acl: Any, lb_cidr: str) -> "AclVerdicts":
        """``acl``'s entries as rules and what they let through, computed again only when its
        entries or the VPC's CIDR changed: EC2 replaces an entry rather than changing it (moto
        too), and the tick runs 20 times a second."""
        entries = tuple(acl.network_acl_entries)
        cached = self._acl_verdicts.get(acl.id)
        if cached is not None and cached.lb_cidr == lb_cidr and len(cached.entries) == len(entries) \
                and all(a is b for a, b in zip(cached.entries, entries, strict=True)):
            return cached
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
        verdicts = self._acl_verdicts[acl.id] = AclVerdicts(
            entries, rules, lb_cidr, reachable=lb_can_reach(rules, lb_cidr=lb_cidr, target_port=80),
            clients=clients_can_reach(rules, listener_port=80), internet=passes_internet(rules))
        return verdicts

    # -- instances --------------------------------------------------------------
    def _advance_instances(self, now: float) -> None:
        for instance in self._instances.values():
            life = self._lives.get(instance.id)
            if life is None:
                life = self._lives[instance.id] = InstanceLife(now, now, last_state=instance.state)
            if instance.state == "pending" and now >= life.running_at and life.start_fails:
                instance._state.name, instance._state.code = "stopped", 80
                instance.state_reason = StateReason(START_FAILED_MESSAGE, START_FAILED_CODE)
                life.start_fails, life.last_state = False, "stopped"
                self.context.timeline.event("instance-start-failed", instance.id,
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
                    self.context.timeline.event("instance-terminated", instance.id, availability_zone=zone)
            elif state in ("stopped", "stopping") and previous in LIVE_STATES:
                self.context.timeline.event("instance-stopped", instance.id, availability_zone=zone)


def _default_routes(ec2: Any) -> dict[str, str | None]:
    """Subnet id (explicitly associated) or VPC id (its main route table) -> where the table's
    ``0.0.0.0/0`` route goes: ``nat-...``, an attached ``igw-...``, ``blackhole igw-...`` for a
    detached internet gateway, another target's id, or None."""
    found: dict[str, str | None] = {}
    for table in list(ec2.route_tables.values()):
        route = next((r for r in table.routes if r.destination_cidr_block == DEFAULT_ROUTE), None)
        target = None if route is None else _target(route, table.vpc_id)
        if table.main_association_id is not None:
            found[table.vpc_id] = target
        for associated in list(table._associations.values()):
            if associated.startswith("subnet-"):
                found[associated] = target
    return found


def _target(route: Any, vpc_id: str) -> str | None:
    if route.nat_gateway is not None:
        return str(route.nat_gateway.id)
    gateway = route.gateway
    if gateway is not None and str(gateway.id).startswith("igw-"):
        attached = gateway.vpc is not None and gateway.vpc.id == vpc_id
        return str(gateway.id) if attached else f"blackhole {gateway.id}"
    for other in (gateway, route.transit_gateway, route.vpc_pcx, route.instance, route.interface):
        if other is not None:
            return str(other.id)
    return None


def create(context: SimulationContext) -> Ec2:
    """EC2's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return Ec2(context)
