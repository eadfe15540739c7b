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
* an instance is a target the load balancer may route to: :meth:`Ec2.target_condition` says what
  it finds there (:mod:`chaos_sre.lab.core.simulation`).

Everything runs under the lab lock (:mod:`chaos_sre.lab.core.dynamics` ticks it).
"""

import os
import time
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models.instances import StateReason

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import BOOTING, DEAD, SERVING, UNREACHABLE, SimulationContext
from chaos_sre.lab.ec2.network import AclRule, clients_can_reach, lb_can_reach
from chaos_sre.lab.ec2.settings import CONSISTENCY_SETTING, TIMINGS, Ec2Timings, not_found_window

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
    _acl_verdicts: dict[str, tuple[tuple[Any, ...], str, bool, bool]] = field(default_factory=dict)
    """Network ACL id -> (its entries, the VPC's CIDR, load balancer reaches targets, clients reach
    the listener), reused while the entries are the same objects: EC2 replaces an entry rather
    than changing it (moto too), and the tick runs 50 times a second."""

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
        return {"instances_by_az": instances,
                "unreachable_subnets": sorted(s for s, ok in self._reachable.items() if not ok)}

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
                    self.context.timeline.event(
                        "subnet-reachable" if reachable else "subnet-unreachable", subnet.id,
                        availability_zone=subnet.availability_zone, network_acl=acl.id)

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


def create(context: SimulationContext) -> Ec2:
    """EC2's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return Ec2(context)
