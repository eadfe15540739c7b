"""The lab's ECS service scheduler, over moto's models.

moto stores ECS services but runs no tasks for them: UpdateService sets the
running count to the desired count in the same call. This module plays the
service scheduler instead, scaled by the lab's time scale:

* every scheduler pass (about every ``ecs_scheduler_seconds``) each service
  gets tasks until it has its desired count, each in the least-populated AZ of
  its subnets, and loses the surplus (tasks not yet running first, then the
  fullest AZ's);
* a new task is ``PROVISIONING`` (capacity and network interface), ``PENDING``
  (image pull, the profile's time), ``ACTIVATING`` (registered with the
  service's target groups), then ``RUNNING``; its application answers after
  the profile's start time, so the load balancer's health checks decide when
  it is healthy;
* a task that is no longer wanted is deregistered and ``DEACTIVATING`` for the
  target group's deregistration delay (the load balancer sends it no new
  requests), then ``STOPPING``, ``DEPROVISIONING`` and ``STOPPED``;
* DescribeServices shows the running and pending counts of those tasks, the
  primary deployment's counts and service events ("has reached a steady state");
* a service's desired count is a scalable resource of Application Auto Scaling
  (:mod:`chaos_sre.lab.applicationautoscaling.simulation`): registering a target
  moves the count into its min/max at once, and each policy evaluation brings a
  count outside min/max back into it unless dynamic scaling is suspended - which
  is why a scale-to-zero must suspend scaling or lower the minimum.

The load balancer endpoint asks :meth:`EcsDynamics.condition` about a task's
IP target, without locking; everything else runs under the lab lock.
"""

import ipaddress
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ecs.models import Task

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.simulation import BOOTING, DEAD, SERVING, SimulationContext
from chaos_sre.lab.core.timeline import Timeline
from chaos_sre.lab.ecs.settings import TIMINGS, EcsTimings

PROVISIONING = "PROVISIONING"
PENDING = "PENDING"
ACTIVATING = "ACTIVATING"
RUNNING = "RUNNING"
DEACTIVATING = "DEACTIVATING"
STOPPING = "STOPPING"
DEPROVISIONING = "DEPROVISIONING"
STOPPED = "STOPPED"
STARTING_STATES = (PROVISIONING, PENDING, ACTIVATING)
DESIRED_COUNT = "ecs:service:DesiredCount"
NEVER = float("inf")


class LabTask(Task):
    """An ECS task whose ``lastStatus`` the lab sets (moto's advances on every describe)."""

    availability_zone: str
    created_at: Any
    connectivity: str
    health_status: str

    @property  # type: ignore[override]
    def status(self) -> str:
        return self._status  # type: ignore[return-value]

    @status.setter
    def status(self, value: str) -> None:
        self._status = value


@dataclass
class TaskLife:
    """The lab's timeline of one service task (monotonic seconds)."""

    task: Any
    service_key: str
    ip: str
    availability_zone: str
    eni_id: str | None
    target_groups: list[tuple[str, int]]
    next_at: float
    ready_at: float = NEVER
    registered: bool = False


@dataclass
class ServiceState:
    """The scheduler's memory of one service."""

    next_pass: float = 0.0
    steady: bool | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class EcsDynamics:
    """Time-scaled ECS behaviour (called with the lab lock held)."""

    profile: Profile
    scaled: Callable[[float], float]
    timeline: Timeline
    timings: EcsTimings
    warm: Callable[[], bool] = lambda: False
    """Whether the lab is being seeded (tasks are ready at once)."""
    _lives: dict[str, TaskLife] = field(default_factory=dict)
    _by_ip: dict[str, TaskLife] = field(default_factory=dict)
    _services: dict[str, ServiceState] = field(default_factory=dict)

    @staticmethod
    def _ecs() -> Any:
        return moto_backend("ecs")

    @staticmethod
    def _scaling() -> Any:
        return moto_backend("applicationautoscaling")

    # -- hooks called from moto --------------------------------------------------
    def service_updated(self, service: Any, previous_desired: int) -> None:
        """UpdateService changed ``service``: the scheduler looks at it on its next pass."""
        if service.desired_count == previous_desired:
            return
        kind = "ecs-desired-count-decreased" if service.desired_count < previous_desired \
            else "ecs-desired-count-increased"
        self.timeline.event(kind, f"{service.cluster_name}/{service.name}",
                            previous=previous_desired, desired=service.desired_count)

    # -- read side for the load balancer ------------------------------------------
    def target_condition(self, target_id: str, now: float) -> tuple[str, str] | None:
        """(SERVING | BOOTING | DEAD, AZ) of a task's IP target; None when it is no task."""
        life = self._by_ip.get(target_id)
        if life is None:
            return None
        if life.task.last_status not in (RUNNING, DEACTIVATING):
            return DEAD, life.availability_zone
        return (SERVING if now >= life.ready_at else BOOTING), life.availability_zone

    # -- the clock ---------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Advance tasks, run due scheduler passes and scaling evaluations, publish counts."""
        warm = self.warm()
        backend = self._ecs()
        for life in list(self._lives.values()):
            self._advance(life, now, warm)
        for key, service in list(backend.services.items()):
            state = self._services.setdefault(key, ServiceState())
            if service.status != "ACTIVE":
                continue
            if now >= state.next_pass:
                period = self.scaled(self.timings.ecs_scheduler_seconds)
                state.next_pass = now + period * random.uniform(0.5, 1.5)
                self._schedule(backend, key, service, now, warm)
            self._publish(key, service, state)

    # -- scheduler ------------------------------------------------------------------
    def _schedule(self, backend: Any, key: str, service: Any, now: float, warm: bool) -> None:
        wanted = [life for life in self._lives.values()
                  if life.service_key == key and life.task.desired_status == RUNNING]
        missing = int(service.desired_count or 0) - len(wanted)
        if missing > 0:
            started = []
            for _ in range(missing):
                life = self._launch(backend, key, service, wanted, now, warm)
                if life is None:
                    break
                started.append(life)
                wanted.append(life)
            if started:
                self._service_event(service, f"has started {len(started)} tasks: "
                                    + " ".join(f"(task {life.task.id})." for life in started))
        elif missing < 0:
            surplus = self._surplus(wanted, -missing)
            for life in surplus:
                self._stop(life, now, "Scaling activity initiated by (deployment "
                                      f"{self._deployment_id(service)})")
            self._service_event(service, f"has stopped {len(surplus)} running tasks: "
                                + " ".join(f"(task {life.task.id})." for life in surplus))

    @staticmethod
    def _deployment_id(service: Any) -> str:
        return service.deployments[0]["id"] if service.deployments else "ecs-svc"

    def _surplus(self, wanted: list[TaskLife], count: int) -> list[TaskLife]:
        """Tasks to stop: not yet running first, then from the AZ with the most tasks."""
        chosen: list[TaskLife] = []
        remaining = list(wanted)
        for _ in range(count):
            per_zone: dict[str, int] = {}
            for life in remaining:
                per_zone[life.availability_zone] = per_zone.get(life.availability_zone, 0) + 1
            pick = max(remaining, key=lambda life: (life.task.last_status != RUNNING,
                                                    per_zone[life.availability_zone]))
            remaining.remove(pick)
            chosen.append(pick)
        return chosen

    def _launch(self, backend: Any, key: str, service: Any, wanted: list[TaskLife], now: float,
                warm: bool) -> TaskLife | None:
        network = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
        subnets = list(network.get("subnets") or [])
        if not subnets or not service.task_definition:
            return None
        ec2 = moto_backend("ec2")
        zone_of = {s: ec2.get_subnet(s).availability_zone for s in subnets}
        per_zone = {zone: 0 for zone in zone_of.values()}
        for life in wanted:
            if life.availability_zone in per_zone:
                per_zone[life.availability_zone] += 1
        fewest = min(per_zone.values())
        subnet = random.choice([s for s in subnets if per_zone[zone_of[s]] == fewest])
        cluster = backend.clusters[service.cluster_name]
        task = LabTask(
            cluster, backend.describe_task_definition(service.task_definition), None, None,
            backend, group=f"service:{service.name}", launch_type=service.launch_type or "FARGATE",
            started_by=self._deployment_id(service),
            tags=list(service.tags) if service.propagate_tags == "SERVICE" else [],
            networking_configuration={"awsvpcConfiguration": {
                "subnets": [subnet], "securityGroups": list(network.get("securityGroups") or [])}},
            platform_version=service.platform_version or "LATEST",
        )
        details = self._place_in_subnet(task, ec2.get_subnet(subnet))
        task.availability_zone = zone_of[subnet]
        task.created_at = _utcnow()
        task.connectivity = "CONNECTED"
        task.health_status = "UNKNOWN"
        task.last_status = PROVISIONING
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        target_groups = [(lb["targetGroupArn"], int(lb.get("containerPort") or 80))
                         for lb in service.load_balancers if lb.get("targetGroupArn")]
        life = TaskLife(task, key, details.get("privateIPv4Address", ""), zone_of[subnet],
                        details.get("networkInterfaceId"), target_groups,
                        next_at=now if warm else now + self.scaled(self.timings.ecs_provisioning_seconds))
        self._lives[task.task_arn] = life
        self._by_ip[life.ip] = life
        self.timeline.event("ecs-task-started", task.id, service=key,
                            availability_zone=life.availability_zone)
        if warm:
            while life.task.last_status != RUNNING:
                self._advance(life, now, warm)
        return life

    def _place_in_subnet(self, task: Any, subnet: Any) -> dict[str, str]:
        """Give the task's network interface a free address of its subnet; return its details."""
        if not task.attachments:
            return {}
        network = ipaddress.ip_network(subnet.cidr_block)
        taken = {life.ip for life in self._lives.values()}
        hosts = [str(h) for h in itertools.islice(network.hosts(), 10, 250) if str(h) not in taken]
        address = random.choice(hosts)
        details = {d["name"]: d["value"] for d in task.attachments[0]["details"]}
        eni = moto_backend("ec2").enis.get(details.get("networkInterfaceId", ""))
        if eni is not None:
            eni.private_ip_address = address
        details["privateIPv4Address"] = address
        details["privateDnsName"] = f"ip-{address.replace('.', '-')}.ec2.internal"
        task.attachments[0]["details"] = [{"name": k, "value": v} for k, v in details.items()]
        return details

    def _stop(self, life: TaskLife, now: float, reason: str) -> None:
        task = life.task
        task.desired_status = STOPPED
        task.stopped_reason = reason
        task.stopping_at = _utcnow()
        if life.registered:
            delay = 0.0
            for arn, _port in life.target_groups:
                target_group = moto_backend("elbv2").target_groups.get(arn)
                if target_group is None:
                    continue
                target_group.deregister([{"Id": life.ip}])
                delay = max(delay, float(str(target_group.attributes.get(
                    "deregistration_delay.timeout_seconds", 300))))
            life.registered = False
            task.last_status, life.next_at = DEACTIVATING, now + self.scaled(delay)
        else:
            task.last_status = STOPPING
            life.next_at = now + self.scaled(self.timings.ecs_stopping_seconds)
        self.timeline.event("ecs-task-stopping", task.id, service=life.service_key,
                            availability_zone=life.availability_zone, reason=reason)

    # -- task lifecycle ------------------------------------------------------------------
    def _advance(self, life: TaskLife, now: float, warm: bool) -> None:
        task = life.task
        if now < life.next_at:
            return
        status = task.last_status
        after = (lambda seconds: now) if warm else (lambda seconds: now + self.scaled(seconds))
        if status == PROVISIONING:
            task.last_status, task.pull_started_at = PENDING, _utcnow()
            life.next_at = after(self.profile.part("ecs").image_pull_seconds)
        elif status == PENDING:
            task.last_status, task.pull_stopped_at = ACTIVATING, _utcnow()
            life.next_at = after(self.timings.ecs_activating_seconds)
        elif status == ACTIVATING:
            task.last_status, task.started_at = RUNNING, _utcnow()
            task.containers[0].last_status = RUNNING
            life.ready_at = after(self.profile.part("ecs").app_start_seconds)
            life.next_at = NEVER
            self._register(life)
        elif status == DEACTIVATING:
            task.last_status = STOPPING
            life.next_at = now + self.scaled(self.timings.ecs_stopping_seconds)
        elif status == STOPPING:
            task.last_status, task.execution_stopped_at = DEPROVISIONING, _utcnow()
            task.containers[0].last_status = STOPPED
            life.next_at = now + self.scaled(self.timings.ecs_deprovisioning_seconds)
        elif status == DEPROVISIONING:
            task.last_status, task.stopped_at = STOPPED, _utcnow()
            self._release(life)

    def _register(self, life: TaskLife) -> None:
        elbv2 = moto_backend("elbv2")
        for arn, port in life.target_groups:
            target_group = elbv2.target_groups.get(arn)
            if target_group is not None:
                target_group.register([{"Id": life.ip, "Port": port}])
                life.registered = True
        self.timeline.event("ecs-task-running", life.task.id, service=life.service_key,
                            availability_zone=life.availability_zone, ip=life.ip)

    def _release(self, life: TaskLife) -> None:
        """The task stopped: delete its network interface and forget it."""
        if life.eni_id:
            ec2 = moto_backend("ec2")
            if life.eni_id in ec2.enis:
                ec2.delete_network_interface(life.eni_id)
        self._lives.pop(life.task.task_arn, None)
        if self._by_ip.get(life.ip) is life:
            del self._by_ip[life.ip]
        self.timeline.event("ecs-task-stopped", life.task.id, service=life.service_key,
                            availability_zone=life.availability_zone)

    # -- DescribeServices ------------------------------------------------------------------
    def _publish(self, key: str, service: Any, state: ServiceState) -> None:
        mine = [life for life in self._lives.values() if life.service_key == key]
        running = sum(1 for life in mine if life.task.last_status == RUNNING)
        pending = sum(1 for life in mine if life.task.last_status in STARTING_STATES)
        draining = any(life.task.desired_status == STOPPED for life in mine)
        service.running_count, service.pending_count = running, pending
        desired = int(service.desired_count or 0)
        steady = running == desired and pending == 0 and not draining
        if service.deployments:
            deployment = service.deployments[0]
            before = (deployment.get("desiredCount"), deployment.get("runningCount"),
                      deployment.get("pendingCount"))
            if before != (desired, running, pending):
                deployment.update(desiredCount=desired, runningCount=running, pendingCount=pending,
                                  updatedAt=_utcnow())
            completed = running >= desired and pending == 0
            deployment["rolloutState"] = "COMPLETED" if completed else "IN_PROGRESS"
            deployment["rolloutStateReason"] = (
                f"ECS deployment {deployment['id']} {'completed' if completed else 'in progress'}.")
        if steady and state.steady is False:
            self._service_event(service, "has reached a steady state.")
            self.timeline.event("ecs-service-steady", key, desired=desired)
        state.steady = steady

    def _service_event(self, service: Any, message: str) -> None:
        service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _utcnow(),
                                  "message": f"(service {service.name}) {message}"})
        del service.events[100:]

    # -- Application Auto Scaling ---------------------------------------------------------------
    def _ecs_scalable_targets(self) -> list[Any]:
        return [t for t in self._scaling().targets.get(DESIRED_COUNT, {}).values()
                if t.service_namespace == "ecs"]

    def scalable_capacity(self, target: Any) -> int | None:
        """The desired count of the service a scalable target names (None: not an ACTIVE
        service's desired count; :mod:`chaos_sre.lab.applicationautoscaling.simulation`)."""
        service = self._scaled_service(target)
        return None if service is None else int(service.desired_count or 0)

    def scalable_demand(self, target: Any, policy: Any, capacity: int) -> int:
        """No demand beyond the minimum: the lab's traffic does not load ECS services' CPU."""
        return 0

    def set_scalable_capacity(self, target: Any, capacity: int, previous: int, reason: str) -> None:
        """Application Auto Scaling sets the service's desired count, as the service's events say."""
        service = self._scaled_service(target)
        if service is None:
            return
        service.desired_count = capacity
        self._service_event(service, f"desired count changed from {previous} to {capacity} by "
                                     f"Application Auto Scaling ({reason}).")
        self.timeline.event("autoscaling-desired-count-changed", target.resource_id,
                            previous=previous, desired=capacity, reason=reason)

    def _scaled_service(self, target: Any) -> Any | None:
        if target.scalable_dimension != DESIRED_COUNT:
            return None
        _, cluster, name = target.resource_id.split("/")
        service = self._ecs().services.get(f"{cluster}:{name}")
        return service if service is not None and service.status == "ACTIVE" else None

    # -- `lab status` ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Desired/running/pending tasks and scaling of every service, for `lab status`."""
        return {"ecs_services": self.services()}

    def services(self) -> dict[str, Any]:
        """Desired/running/pending tasks and scaling of every service."""
        targets = {t.resource_id: t for t in self._ecs_scalable_targets()}
        summary: dict[str, Any] = {}
        for service in list(self._ecs().services.values()):
            target = targets.get(f"service/{service.cluster_name}/{service.name}")
            summary[f"{service.cluster_name}/{service.name}"] = {
                "status": service.status,
                "desired": int(service.desired_count or 0),
                "running": service.running_count,
                "pending": service.pending_count,
                "scalable_target": None if target is None else {
                    "min": target.min_capacity, "max": target.max_capacity,
                    "suspended": dict(target.suspended_state or {})},
            }
        return summary


TICK_ORDER = 10


def create(context: SimulationContext) -> EcsDynamics:
    """The ECS simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return EcsDynamics(profile=context.profile, scaled=context.scaled, timeline=context.timeline,
                       timings=TIMINGS, warm=lambda: context.warm)
