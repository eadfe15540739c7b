"""Amazon EC2 Auto Scaling in the lab: groups that heal and rebalance over time.

moto stores the groups; this module makes time pass over them the way Auto Scaling does, scaled by
the lab's time scale. Every health sweep, each group:

* marks ``Unhealthy`` (HealthCheck process) the instances that are not running (any health check
  type) or that its load balancer finds unhealthy after the grace period (``ELB`` type). A mark
  never clears by itself ("After an instance has been marked unhealthy because of a health check,
  it is almost immediately scheduled for replacement. It never automatically recovers its
  health."); SetInstanceHealth sets it either way;
* terminates and replaces the instances marked ``Unhealthy`` (ReplaceUnhealthy process) - also
  those marked while the process was suspended, as soon as it is resumed ("as soon as you resume
  the ReplaceUnhealthy process, Amazon EC2 Auto Scaling replaces instances that were marked
  unhealthy while this process was suspended", "Suspend and resume Amazon EC2 Auto Scaling
  processes");
* launches up to desired capacity in the least-populated reachable AZ, and rebalances AZs that
  differ by more than one instance, or instances left in an AZ the group's subnets no longer
  include (launch first, then retire).

Suspended processes (``HealthCheck``, ``ReplaceUnhealthy``, ``Launch``, ``AZRebalance``,
``Terminate``) are respected. A ``Pending`` instance becomes ``InService`` once EC2 says it runs,
and is then registered with the group's target groups - unless the group has a launch lifecycle
hook: then it waits in ``Pending:Wait`` until CompleteLifecycleAction or the hook's heartbeat
timeout (default 3600 s), whose default result puts it in service (CONTINUE) or terminates it
(ABANDON) ("Amazon EC2 Auto Scaling lifecycle hooks", EC2 Auto Scaling User Guide). Instances in
``Standby`` are left alone and do not count towards the group's capacity.

It reads EC2's simulation (instance lives, which subnets are cut off) and the load balancer's
(target health), and runs under the lab lock (:mod:`chaos_sre.lab.core.dynamics` ticks it).
"""

import random
import time
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.lab.autoscaling.settings import TIMINGS, AutoScalingTimings
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext
from chaos_sre.lab.ec2.simulation import LIVE_STATES

TICK_ORDER = 18
"""After EC2 (instance states), before the load balancer's health checks."""


@dataclass
class AutoScaling:
    """Auto Scaling groups over time."""

    context: SimulationContext
    timings: AutoScalingTimings = TIMINGS
    _in_service_at: dict[str, float] = field(default_factory=dict)
    _marked_because: dict[str, str] = field(default_factory=dict)
    """Why the lab's health checks marked an instance Unhealthy (for the replacement event)."""
    _next_sweep: float = 0.0
    _held: dict[str, "HeldLaunch"] = field(default_factory=dict)
    """Launches a lifecycle hook holds in Pending:Wait, by instance id."""
    _capacity_errors: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(group, AZ) -> who makes the group's launches there fail for insufficient capacity."""

    @property
    def _ec2(self) -> Any:
        return self.context.services.service("ec2")

    # -- hooks called from moto (lock held by the caller) -------------------
    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the group may launch in ``subnet_id`` (EC2's network evaluation)."""
        return bool(self._ec2.subnet_reachable(subnet_id))

    def asg_launch_failed(self, group_name: str, reason: str) -> None:
        """Record a failed launch; the next sweep tries again."""
        self.context.timeline.event("asg-launch-failed", group_name, reason=reason)

    def capacity_refused(self, group_name: str) -> set[str]:
        """The AZs where ``group_name``'s launches fail for insufficient capacity now."""
        return {zone for (group, zone), holders in self._capacity_errors.items()
                if group == group_name and holders}

    def refuse_capacity(self, group_name: str, zones: set[str], holder: str) -> None:
        """From now until :meth:`allow_capacity`, launches of ``group_name`` in ``zones`` fail
        with InsufficientInstanceCapacity (``holder``: who asked, an FIS action)."""
        for zone in zones:
            self._capacity_errors.setdefault((group_name, zone), set()).add(holder)

    def allow_capacity(self, holder: str) -> None:
        """End every capacity error ``holder`` asked for."""
        for holders in self._capacity_errors.values():
            holders.discard(holder)

    def complete_lifecycle_action(self, group_name: str, hook_name: str, instance_id: str,
                                  result: str) -> bool:
        """CompleteLifecycleAction: end the wait of a launch ``hook_name`` holds."""
        held = self._held.get(instance_id)
        if held is None or (held.group, held.hook) != (group_name, hook_name):
            return False
        self._end_wait(moto_backend("autoscaling"), instance_id, result, time.monotonic())
        return True

    def status(self) -> dict[str, Any]:
        """Each group's desired capacity and instances in service."""
        return {"auto_scaling_groups": {
            name: {"desired": group.desired_capacity,
                   "in_service": sum(1 for s in group.instance_states if s.lifecycle_state == "InService")}
            for name, group in moto_backend("autoscaling").autoscaling_groups.items()}}

    def tick(self, now: float) -> None:
        """Promote running instances to InService; every sweep period, heal and rebalance."""
        autoscaling = moto_backend("autoscaling")
        self._promote_in_service(autoscaling, now)
        if now >= self._next_sweep:
            period = self.context.scaled(self.timings.asg_health_sweep_seconds)
            self._next_sweep = now + period * random.uniform(0.5, 1.5)
            self._sweep(autoscaling, now)

    def _promote_in_service(self, autoscaling: Any, now: float) -> None:
        for name, group in list(autoscaling.autoscaling_groups.items()):
            ready = [s for s in group.instance_states
                     if s.lifecycle_state == "Pending" and s.instance.state == "running"]
            if not ready:
                continue
            promoted = False
            hook = _launch_hook(autoscaling, name)
            for state in ready:
                if hook is not None:
                    state.lifecycle_state = "Pending:Wait"
                    self._held[state.instance.id] = HeldLaunch(
                        name, hook.name, now + self.context.scaled(float(hook.heartbeat_timeout)),
                        hook.default_result)
                    self.context.timeline.event("asg-lifecycle-hook-wait", state.instance.id,
                                                group=name, hook=hook.name)
                    continue
                state.lifecycle_state = "InService"
                self._in_service_at[state.instance.id] = now
                promoted = True
            if promoted:
                autoscaling.update_attached_target_groups(name)
        for instance_id, held in list(self._held.items()):
            if now >= held.deadline:
                self._end_wait(autoscaling, instance_id, held.default_result, now)

    def _end_wait(self, autoscaling: Any, instance_id: str, result: str, now: float) -> None:
        """A held launch's lifecycle action ended: in service (CONTINUE) or terminated (ABANDON)."""
        held = self._held.pop(instance_id)
        group = autoscaling.autoscaling_groups.get(held.group)
        state = next((s for s in group.instance_states if s.instance.id == instance_id), None) \
            if group is not None else None
        if state is None:
            return
        self.context.timeline.event("asg-lifecycle-action-completed", instance_id,
                                    group=held.group, result=result)
        if result == "CONTINUE":
            state.lifecycle_state = "InService"
            self._in_service_at[instance_id] = now
        else:
            group.instance_states.remove(state)
            self._ec2.terminate_by_lab(state.instance)
        autoscaling.update_attached_target_groups(held.group)

    def _unhealthy_reason(self, group: Any, state: Any, now: float) -> str | None:
        instance = state.instance
        if instance.state not in LIVE_STATES:
            left = self._ec2.left_running_at(instance.id)
            if left is not None and now - left < self.context.scaled(self.timings.asg_state_detection_seconds):
                return None
            return f"an EC2 health check indicates the instance is {instance.state}"
        if group.health_check_type != "ELB" or state.lifecycle_state != "InService":
            return None
        grace = self.context.scaled(float(group.health_check_grace_period or 0))
        in_service_at = self._in_service_at.get(instance.id)
        if in_service_at is None or now - in_service_at < grace:
            return None
        balancer = self.context.services.service("elbv2")
        for arn in group.target_group_arns:
            if balancer.health_state(arn, instance.id) == "unhealthy":
                return "an Elastic Load Balancing health check failed"
        return None

    def _sweep(self, autoscaling: Any, now: float) -> None:
        for name, group in list(autoscaling.autoscaling_groups.items()):
            suspended = set(getattr(group, "_suspended_processes", None) or ())
            if "HealthCheck" not in suspended:
                self._mark_unhealthy(name, group, now)
            if "ReplaceUnhealthy" not in suspended and self._replace_unhealthy(name, group):
                autoscaling.update_attached_target_groups(name)
            if "Launch" in suspended:
                continue
            missing = (group.desired_capacity or 0) - len(group.active_instances())
            if missing > 0:
                group.replace_autoscaling_group_instances(missing, group.get_propagated_tags())
            elif not suspended & {"AZRebalance", "Terminate"}:
                self._rebalance(name, group, autoscaling)

    def _mark_unhealthy(self, name: str, group: Any, now: float) -> None:
        """The HealthCheck process: mark what EC2 or the load balancer finds unhealthy."""
        for state in group.instance_states:
            if state.health_status == "Unhealthy":
                continue
            reason = self._unhealthy_reason(group, state, now)
            if reason is not None:
                state.health_status = "Unhealthy"
                self._marked_because[state.instance.id] = reason
                self.context.timeline.event("asg-instance-marked-unhealthy", state.instance.id,
                                            group=name, reason=reason)

    def _replace_unhealthy(self, name: str, group: Any) -> list[str]:
        """The ReplaceUnhealthy process: terminate what is marked Unhealthy (its replacement is
        launched like any missing capacity)."""
        replaced = []
        for state in [s for s in group.instance_states if s.health_status == "Unhealthy"]:
            instance = state.instance
            group.instance_states.remove(state)
            self._ec2.terminate_by_lab(instance)
            replaced.append(instance.id)
            reason = self._marked_because.pop(instance.id, "its health was set to Unhealthy")
            self.context.timeline.event("asg-instance-replaced", instance.id, group=name, reason=reason,
                                        availability_zone=instance.placement.zone)
        return replaced

    def _rebalance(self, name: str, group: Any, autoscaling: Any) -> None:
        """AZRebalance ("Rebalancing activities", EC2 Auto Scaling User Guide): when the group's
        AZs changed or grew unbalanced, launch in the emptiest reachable AZ first, then terminate
        an instance in an AZ the group no longer has, else one in the fullest AZ."""
        if any(s.lifecycle_state.startswith("Pending") for s in group.instance_states):
            return  # launch first, then retire: the launch is not done
        ec2 = moto_backend("ec2")
        subnets = [s for s in (group.vpc_zone_identifier or "").split(",") if s]
        group_zones = {ec2.get_subnet(s).availability_zone for s in subnets}
        zones = {s: ec2.get_subnet(s).availability_zone for s in subnets if self.subnet_reachable(s)}
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
            self._ec2.terminate_by_lab(state.instance)
            autoscaling.update_attached_target_groups(name)
            self.context.timeline.event("asg-rebalance-terminated", state.instance.id,
                                        group=name, availability_zone=zone)
        elif left_behind or max(counts.values()) - min(counts.values()) > 1:
            self.context.timeline.event("asg-rebalance-launch", name,
                                        availability_zone=min(counts, key=lambda z: counts[z]))
            group.replace_autoscaling_group_instances(1, group.get_propagated_tags())


@dataclass(frozen=True)
class HeldLaunch:
    """A launch a lifecycle hook holds: its group, hook, heartbeat deadline and default result."""

    group: str
    hook: str
    deadline: float
    default_result: str


LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"


def _launch_hook(autoscaling: Any, group_name: str) -> Any:
    """The group's launch lifecycle hook (the first by name), or None."""
    hooks = sorted((h for h in autoscaling.lifecycle_hooks.values()
                    if h.auto_scaling_group_name == group_name and h.lifecycle_transition == LAUNCHING),
                   key=lambda h: h.name)
    return hooks[0] if hooks else None


def create(context: SimulationContext) -> AutoScaling:
    """Auto Scaling's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return AutoScaling(context)
