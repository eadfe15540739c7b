"""Where the lab takes over the control-plane behaviour moto lacks.

moto keeps AWS state in plain Python models; the lab runs moto in its own
process and replaces a handful of model methods so that what any client sees
through the AWS API follows the lab's dynamics instead of moto's shortcuts:

* RunInstances starts instances in ``pending`` (moto: ``running`` at once);
* an ASG places new instances in the least-populated reachable AZ of its
  subnets (moto: all in the first subnet) and counts ``Pending`` instances
  towards capacity;
* terminating an ASG instance does not replace it at once (moto: replaced in
  the same call); the lab's ASG health sweep notices and replaces it later;
* an ASG registers instances with its target groups when they are InService and
  deregisters the ones it no longer has;
* DescribeTargetHealth reports the lab load balancer's health-check state
  (moto: every target ``healthy``);
* FailoverDBCluster starts a failover that the lab completes later (moto:
  writer swapped at once) and is refused while the cluster is not available;
  RebootDBInstance passes ``ForceFailover`` on (moto: ignored) and refuses it
  for an instance that is not Multi-AZ;
* UpdateTable is refused while the table is updating or past the day's
  capacity-decrease limit, and starts an update the lab completes later;
  Create/UpdateTable keep ``OnDemandThroughput`` (moto: dropped) and
  DescribeTable shows the lab's status, maximums and decrease counts;
* UpdateService leaves the running and pending counts to the lab's service
  scheduler (moto: running = desired at once); ListTasks filters by service
  and lists tasks that should be running unless asked otherwise (moto: every
  task); RegisterScalableTarget moves the service's desired count into the
  new min/max (moto: nothing);
* GetMetricStatistics matches a metric's whole dimension set (moto: any
  metric that has the given dimensions, so a table's query also summed its GSIs).

The hooks call back into one :class:`LabModelHooks` object (the dynamics).
They are installed once per process by :func:`install`.
"""

import random
import threading
from typing import Any, Protocol

from moto.applicationautoscaling import models as scaling_models
from moto.autoscaling import models as asg_models
from moto.cloudwatch import models as cloudwatch_models
from moto.core.responses import ActionResult
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models import table as dynamodb_tables
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import InstanceBackend
from moto.ecs import models as ecs_models
from moto.elbv2 import models as elbv2_models
from moto.rds import exceptions as rds_exceptions
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses

ASG_LIFECYCLE_COUNTED = ("Pending", "InService")


class LabModelHooks(Protocol):
    """What the moto hooks ask of the lab's dynamics."""

    def instance_launched(self, instance: Any) -> None:
        """A new instance exists (any caller); decide its pending/boot timeline."""

    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the load balancer can reach ``subnet_id`` (network ACLs)."""

    def asg_launch_failed(self, group_name: str, reason: str) -> None:
        """The ASG could not place an instance."""

    def target_health(self, target_group_arn: str, target_id: str) -> tuple[str, str | None, str | None] | None:
        """(state, reason, description) of a target, or None to let moto answer."""

    def db_cluster_failover(self, cluster: Any, target: Any) -> None:
        """FailoverDBCluster was accepted for ``cluster`` towards ``target``."""

    def db_instance_reboot(self, instance: Any, force_failover: bool) -> None:
        """RebootDBInstance was accepted for ``instance``."""

    def dynamodb_check_update(self, table: Any, body: dict[str, Any]) -> bool:
        """Raise the AWS error that refuses this UpdateTable; return whether it is a decrease."""

    def dynamodb_table_updated(self, table: Any, body: dict[str, Any], was_decrease: bool) -> None:
        """UpdateTable was applied by moto."""

    def dynamodb_table_created(self, name: str, body: dict[str, Any]) -> None:
        """CreateTable was applied by moto."""

    def dynamodb_describe(self, name: str, description: dict[str, Any]) -> None:
        """Overlay the lab's state on a table description (in place)."""

    def ecs_service_updated(self, service: Any, previous_desired: int) -> None:
        """UpdateService was applied to ``service`` (desired count was ``previous_desired``)."""

    def scalable_target_registered(self, target: Any) -> None:
        """RegisterScalableTarget created or updated ``target``."""


_hooks: LabModelHooks | None = None
_originals: dict[str, Any] = {}


def install(hooks: LabModelHooks) -> None:
    """Route moto's model behaviour through ``hooks`` (idempotent per process)."""
    global _hooks
    _hooks = hooks
    if _originals:
        return
    patches: list[tuple[str, Any, str, Any]] = [
        ("run_instances", InstanceBackend, "run_instances", _run_instances),
        ("health_for", elbv2_models.FakeTargetGroup, "health_for", _health_for),
        ("elbv2_notify", elbv2_models.ELBv2Backend, "notify_terminate_instances", _ignore_termination),
        ("asg_notify", asg_models.AutoScalingBackend, "notify_terminate_instances", _ignore_termination),
        ("active_instances", asg_models.FakeAutoScalingGroup, "active_instances", _active_instances),
        ("replace_instances", asg_models.FakeAutoScalingGroup,
         "replace_autoscaling_group_instances", _launch_balanced),
        ("sync_target_groups", asg_models.AutoScalingBackend, "update_attached_target_groups",
         _sync_target_groups),
        ("failover_db_cluster", rds_models.RDSBackend, "failover_db_cluster", _failover_db_cluster),
        ("cluster_failover", rds_models.DBCluster, "failover", _cluster_failover),
        ("reboot_db_instance", rds_responses.RDSResponse, "reboot_db_instance", _reboot_db_instance),
        ("dynamodb_create_table", dynamodb_responses.DynamoHandler, "create_table",
         _dynamodb_create_table),
        ("dynamodb_update_table", dynamodb_responses.DynamoHandler, "update_table",
         _dynamodb_update_table),
        ("dynamodb_describe", dynamodb_tables.Table, "describe", _dynamodb_describe),
        ("ecs_update_service", ecs_models.EC2ContainerServiceBackend, "update_service",
         _ecs_update_service),
        ("ecs_list_tasks", ecs_models.EC2ContainerServiceBackend, "list_tasks", _ecs_list_tasks),
        ("register_scalable_target", scaling_models.ApplicationAutoscalingBackend,
         "register_scalable_target", _register_scalable_target),
        ("get_metric_statistics", cloudwatch_models.CloudWatchBackend, "get_metric_statistics",
         _get_metric_statistics),
        ("datum_filter", cloudwatch_models.MetricDatumBase, "filter", _datum_filter),
    ]
    for key, owner, attribute, replacement in patches:
        _originals[key] = getattr(owner, attribute)
        setattr(owner, attribute, replacement)
    if not hasattr(NetworkInterface, "private_dns_name"):
        # moto's ECS tasks read it from their network interface, which lacks it
        setattr(NetworkInterface, "private_dns_name", property(  # noqa: B010 - moto declares no such attribute
            lambda eni: f"ip-{str(eni.private_ip_address).replace('.', '-')}.ec2.internal"))


def _require_hooks() -> LabModelHooks:
    if _hooks is None:
        raise RuntimeError("lab moto hooks used before install()")
    return _hooks


def _run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
    reservation = _originals["run_instances"](self, *args, **kwargs)
    for instance in reservation.instances:
        _require_hooks().instance_launched(instance)
    return reservation


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    answer = _require_hooks().target_health(self.arn, target["Id"])
    if answer is None:
        return _originals["health_for"](self, target, ec2_backend)
    state, reason, description = answer
    port = (self.targets.get(target["Id"]) or target).get("Port", self.port)
    return elbv2_models.FakeHealthStatus(
        target["Id"], port, self.health_check_port, state, reason, description
    )


def _ignore_termination(self: Any, instance_ids: list[str]) -> None:
    """The lab's ASG sweep and health checks notice terminations in their own time."""


def _active_instances(self: Any) -> list[Any]:
    return [s for s in self.instance_states if s.lifecycle_state in ASG_LIFECYCLE_COUNTED]


def _launch_balanced(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
    """Launch ``count_needed`` instances, each in the least-populated reachable AZ."""
    hooks = _require_hooks()
    propagated_tags = dict(propagated_tags)
    propagated_tags[asg_models.ASG_NAME_TAG] = self.name
    propagated_tags.update(self.instance_tags)
    ec2 = self.autoscaling_backend.ec2_backend
    subnets = [s for s in (self.vpc_zone_identifier or "").split(",") if s]
    reachable = [s for s in subnets if hooks.subnet_reachable(s)]
    zone_of = {s: ec2.get_subnet(s).availability_zone for s in subnets}
    launch_template = None
    if self.ec2_launch_template:
        if self.ec2_launch_template.id:
            launch_template = {"LaunchTemplateId": self.ec2_launch_template.id}
        elif self.ec2_launch_template.name:
            launch_template = {"LaunchTemplateName": self.ec2_launch_template.name}
    for _ in range(count_needed):
        if not reachable:
            hooks.asg_launch_failed(
                self.name, "no subnet of the group is reachable (its AZs are impaired)"
            )
            return
        per_zone = {zone_of[s]: 0 for s in reachable}
        for state in _active_instances(self):
            zone = state.instance.placement.zone
            if zone in per_zone:
                per_zone[zone] += 1
        fewest = min(per_zone.values())
        subnet = random.choice([s for s in reachable if per_zone[zone_of[s]] == fewest])
        reservation = ec2.run_instances(
            self.image_id,
            1,
            self.user_data,
            self.security_groups,
            instance_type=self.instance_type,
            tags={"instance": propagated_tags},
            placement=zone_of[subnet],
            launch_config=self.launch_config,
            launch_template=launch_template,
            is_instance_type_default=False,
            associate_public_ip=None,
            subnet_id=subnet,
        )
        for instance in reservation.instances:
            instance.autoscaling_group = self
            self.instance_states.append(
                asg_models.InstanceState(
                    instance,
                    lifecycle_state="Pending",
                    protected_from_scale_in=self.new_instances_protected_from_scale_in,
                )
            )


def _sync_target_groups(self: Any, group_name: str) -> None:
    """Register the group's InService instances; deregister instances it no longer has."""
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    in_service = {
        s.instance.id for s in group.instance_states if s.lifecycle_state == "InService"
    }
    members = {s.instance.id for s in group.instance_states}
    for target_group in self.elbv2_backend.describe_target_groups(
        target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None
    ):
        registered = set(target_group.targets)
        to_add = [
            {"Id": i, "Port": target_group.port}
            for i in sorted(in_service - registered)
            if self.ec2_backend.get_instance_by_id(i).state == "running"
        ]
        if to_add:
            target_group.register(to_add)
        gone = []
        for target_id in registered - members:
            instance = self.ec2_backend.get_instance_by_id(target_id)
            if instance is not None and getattr(instance, "autoscaling_group", None) is group:
                gone.append({"Id": target_id})
        if gone:
            target_group.deregister(gone)


# -- RDS ----------------------------------------------------------------------


def _failover_db_cluster(self: Any, db_cluster_identifier: str,
                         target_db_instance_identifier: str | None = None) -> Any:
    """AWS refuses a failover while the cluster is not ``available``."""
    cluster = self.clusters.get(db_cluster_identifier)
    if cluster is not None and cluster.status != "available":
        raise rds_exceptions.InvalidDBClusterStateFault(
            f"DbCluster {db_cluster_identifier} is not in available state (it is {cluster.status})"
        )
    return _originals["failover_db_cluster"](self, db_cluster_identifier,
                                             target_db_instance_identifier)


def _cluster_failover(self: Any, target_instance: Any) -> None:
    """The failover was accepted; the lab moves the writer when the failover completes."""
    _require_hooks().db_cluster_failover(self, target_instance)


def complete_cluster_failover(cluster: Any, target_instance: Any) -> None:
    """Make ``target_instance`` the writer of ``cluster`` (what moto does at once)."""
    _originals["cluster_failover"](cluster, target_instance)


def _reboot_db_instance(self: Any) -> Any:
    """RebootDBInstance with AWS's checks, and ForceFailover passed on to the lab."""
    identifier = self.params.get("DBInstanceIdentifier")
    force_failover = str(self.params.get("ForceFailover", "false")).lower() == "true"
    instance = self.backend.reboot_db_instance(identifier)
    if instance.status != "available":
        raise rds_exceptions.RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {identifier} is not currently in the available state (it is {instance.status})",
        )
    if force_failover and (getattr(instance, "db_cluster_identifier", None) or not instance.multi_az):
        raise rds_exceptions.InvalidParameterCombination(
            f"Cannot reboot DB instance {identifier} with failover: it is not a Multi-AZ instance"
        )
    _require_hooks().db_instance_reboot(instance, force_failover)
    return ActionResult({"DBInstance": instance})


# -- DynamoDB -----------------------------------------------------------------


def _dynamodb_create_table(self: Any) -> Any:
    """CreateTable, remembering the OnDemandThroughput moto drops."""
    result = _originals["dynamodb_create_table"](self)
    _require_hooks().dynamodb_table_created(self.body["TableName"], self.body)
    return result


def _dynamodb_update_table(self: Any) -> Any:
    """UpdateTable with AWS's checks (still updating, decrease limits) and the lab's bookkeeping."""
    hooks = _require_hooks()
    table = self.dynamodb_backend.get_table(self.body["TableName"])
    was_decrease = hooks.dynamodb_check_update(table, self.body)
    _originals["dynamodb_update_table"](self)
    hooks.dynamodb_table_updated(table, self.body, was_decrease)
    return dynamodb_responses.DynamoResult(table.describe())


def _dynamodb_describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
    described = _originals["dynamodb_describe"](self, base_key=base_key)
    _require_hooks().dynamodb_describe(self.name, described[base_key])
    return described


# -- ECS and Application Auto Scaling ------------------------------------------


def _ecs_update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    """UpdateService without moto's instant running count; the lab's scheduler does the rest."""
    cluster = self._get_cluster(service_properties.get("cluster", "default"))
    service = self._get_service(cluster.name, str(service_properties.get("service", "")).split("/")[-1])
    previous = (int(service.desired_count or 0), service.running_count, service.pending_count)
    updated = _originals["ecs_update_service"](self, service_properties)
    updated.running_count, updated.pending_count = previous[1], previous[2]
    _require_hooks().ecs_service_updated(updated, previous[0])
    return updated


def _ecs_list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
                    family: str | None = None, started_by: str | None = None,
                    service_name: str | None = None, desiredStatus: str | None = None) -> list[Any]:
    """ListTasks as AWS answers it: by service, and tasks meant to run unless asked otherwise."""
    tasks = _originals["ecs_list_tasks"](self, cluster_str, container_instance, family, started_by,
                                         service_name, desiredStatus or "RUNNING")
    if service_name:
        group = f"service:{service_name.split('/')[-1]}"
        tasks = [t for t in tasks if t.group == group]
    return list(tasks)


def _register_scalable_target(self: Any, *args: Any, **kwargs: Any) -> Any:
    target = _originals["register_scalable_target"](self, *args, **kwargs)
    _require_hooks().scalable_target_registered(target)
    return target


# -- CloudWatch ---------------------------------------------------------------

_exact_dimensions = threading.local()


def _get_metric_statistics(self: Any, *args: Any, **kwargs: Any) -> Any:
    """GetMetricStatistics matches the whole dimension set, as AWS does (moto: any superset)."""
    _exact_dimensions.on = True
    try:
        return _originals["get_metric_statistics"](self, *args, **kwargs)
    finally:
        _exact_dimensions.on = False


def _datum_filter(self: Any, namespace: Any, name: Any, dimensions: Any,
                  already_present_metrics: Any = None) -> bool:
    matched = _originals["datum_filter"](self, namespace, name, dimensions, already_present_metrics)
    if matched and dimensions and getattr(_exact_dimensions, "on", False):
        return len(self.dimensions) == len(dimensions)
    return bool(matched)
