"""moto patches of the web tier: EC2 instances, the Auto Scaling group and the load balancer.

* RunInstances and StartInstances start instances in ``pending`` (moto: ``running`` at once);
  a start by a caller without ``kms:CreateGrant``, of an instance with a volume encrypted by a
  customer managed key, ends ``stopped`` (moto: ``running``);
* an ASG places new instances in the least-populated reachable AZ of its
  subnets (moto: all in the first subnet) and counts ``Pending`` instances
  towards capacity;
* terminating an ASG instance does not replace it at once (moto: replaced in
  the same call); the lab's ASG health sweep notices and replaces it later;
* an ASG registers instances with its target groups when they are InService and
  deregisters the ones it no longer has;
* DescribeTargetHealth reports the lab load balancer's health-check state
  (moto: every target ``healthy``);
* a network ACL just created is "not found" (``InvalidNetworkAclID.NotFound``)
  for a moment by CreateNetworkAclEntry, ReplaceNetworkAclAssociation and
  DeleteNetworkAcl, as EC2's eventual consistency allows ("Eventual consistency
  in the Amazon EC2 API",
  https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html;
  moto: found at once);
* ELBv2 DescribeTags refuses more than 20 resource ARNs, as AWS does ("Array Members: Maximum
  number of 20 items",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html;
  moto: any number);
* a Describe filter with several values matches a resource when any of its values matches any
  of the filter's, as EC2 documents ("If you specify multiple values for a filter, the values
  are joined with an OR", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Using_Filtering.html;
  moto: a resource with several values, such as a network ACL's associated subnets, matches only
  when one set holds the other, so DescribeNetworkAcls by ``association.subnet-id`` over subnets
  of two VPCs answered no ACL at all).
"""

import fnmatch
import random
from typing import Any, Protocol, cast

from moto.autoscaling import models as asg_models
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import InvalidNetworkAclIdError
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.network_acls import NetworkAclBackend
from moto.elbv2 import models as elbv2_models
from moto.elbv2.exceptions import ELBClientError

from chaos_sre.lab.core.access_denied import caller_may
from chaos_sre.lab.core.patches import hooks, original, replaces
from chaos_sre.lab.core.settings import ACCOUNT_ID
from chaos_sre.lab.web.simulation import customer_managed_keys

ASG_LIFECYCLE_COUNTED = ("Pending", "InService")


class WebTierHooks(Protocol):
    """What the web tier's patches ask of the service's simulation."""

    def instance_started(self, instance: Any, caller_may_grant: bool) -> None:
        """StartInstances accepted for the instance; whether its caller may kms:CreateGrant."""

    def instance_launched(self, instance: Any) -> None:
        """A new instance exists (any caller); decide its pending/boot timeline."""

    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the load balancer can reach ``subnet_id`` (network ACLs)."""

    def asg_launch_failed(self, group_name: str, reason: str) -> None:
        """The ASG could not place an instance."""

    def target_health(self, target_group_arn: str, target_id: str) -> tuple[str, str | None, str | None] | None:
        """(state, reason, description) of a target, or None to let moto answer."""

    def network_acl_created(self, network_acl_id: str) -> None:
        """A network ACL was created."""

    def network_acl_found(self, network_acl_id: str) -> bool:
        """Whether calls naming the network ACL find it yet."""



def _lab() -> WebTierHooks:
    return cast(WebTierHooks, hooks().service("web"))

@replaces(InstanceBackend, "run_instances")
def _run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
    reservation = original(InstanceBackend, "run_instances")(self, *args, **kwargs)
    for instance in reservation.instances:
        _lab().instance_launched(instance)
    return reservation


@replaces(InstanceBackend, "start_instances")
def _start_instances(self: Any, instance_ids: list[str]) -> Any:
    started = original(InstanceBackend, "start_instances")(self, instance_ids)
    for instance, previous in started:
        if previous.name == "stopped":
            region = instance.ec2_backend.region_name
            keys = [k if k.startswith("arn:") else f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{k}"
                    for k in customer_managed_keys(instance)]
            _lab().instance_started(instance, all(caller_may("kms:CreateGrant", k) for k in keys))
    return started


@replaces(NetworkAclBackend, "create_network_acl")
def _create_network_acl(self: Any, *args: Any, **kwargs: Any) -> Any:
    acl = original(NetworkAclBackend, "create_network_acl")(self, *args, **kwargs)
    _lab().network_acl_created(acl.id)
    return acl


def _found(network_acl_id: str) -> None:
    if not _lab().network_acl_found(network_acl_id):
        raise InvalidNetworkAclIdError(network_acl_id)


@replaces(NetworkAclBackend, "create_network_acl_entry")
def _create_network_acl_entry(self: Any, network_acl_id: str, *args: Any, **kwargs: Any) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "create_network_acl_entry")(self, network_acl_id, *args, **kwargs)


@replaces(NetworkAclBackend, "replace_network_acl_association")
def _replace_network_acl_association(self: Any, association_id: str, network_acl_id: str) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "replace_network_acl_association")(
        self, association_id, network_acl_id)


@replaces(NetworkAclBackend, "delete_network_acl")
def _delete_network_acl(self: Any, network_acl_id: str) -> Any:
    _found(network_acl_id)
    return original(NetworkAclBackend, "delete_network_acl")(self, network_acl_id)


@replaces(ec2_utils, "is_filter_matching")
def _is_filter_matching(obj: Any, filter_name: str, filter_values: Any) -> bool:
    """EC2's filter semantics: any of the resource's values matches any of the filter's values."""
    value = obj.get_filter_value(filter_name)
    if isinstance(value, list | set | tuple) and isinstance(filter_values, list):
        return any(fnmatch.fnmatch(str(item), pattern) for item in value for pattern in filter_values)
    return bool(original(ec2_utils, "is_filter_matching")(obj, filter_name, filter_values))


@replaces(elbv2_models.FakeTargetGroup, "health_for")
def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    answer = _lab().target_health(self.arn, target["Id"])
    if answer is None:
        return original(elbv2_models.FakeTargetGroup, "health_for")(self, target, ec2_backend)
    state, reason, description = answer
    port = (self.targets.get(target["Id"]) or target).get("Port", self.port)
    return elbv2_models.FakeHealthStatus(
        target["Id"], port, self.health_check_port, state, reason, description
    )


DESCRIBE_TAGS_MAX_ARNS = 20


@replaces(elbv2_models.ELBv2Backend, "describe_tags")
def _describe_tags(self: Any, resource_arns: list[str]) -> dict[str, dict[str, str]]:
    if len(resource_arns) > DESCRIBE_TAGS_MAX_ARNS:
        raise ELBClientError(
            "ValidationError", "1 validation error detected: Value at 'resourceArns' failed to "
            f"satisfy constraint: Member must have length less than or equal to "
            f"{DESCRIBE_TAGS_MAX_ARNS}")
    return dict(original(elbv2_models.ELBv2Backend, "describe_tags")(self, resource_arns))


@replaces(elbv2_models.ELBv2Backend, "notify_terminate_instances")
@replaces(asg_models.AutoScalingBackend, "notify_terminate_instances")
def _ignore_termination(self: Any, instance_ids: list[str]) -> None:
    """The lab's ASG sweep and health checks notice terminations in their own time."""


@replaces(asg_models.FakeAutoScalingGroup, "active_instances")
def _active_instances(self: Any) -> list[Any]:
    return [s for s in self.instance_states if s.lifecycle_state in ASG_LIFECYCLE_COUNTED]


@replaces(asg_models.FakeAutoScalingGroup, "replace_autoscaling_group_instances")
def _launch_balanced(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
    """Launch ``count_needed`` instances, each in the least-populated reachable AZ."""
    lab = _lab()
    propagated_tags = dict(propagated_tags)
    propagated_tags[asg_models.ASG_NAME_TAG] = self.name
    propagated_tags.update(self.instance_tags)
    ec2 = self.autoscaling_backend.ec2_backend
    subnets = [s for s in (self.vpc_zone_identifier or "").split(",") if s]
    reachable = [s for s in subnets if lab.subnet_reachable(s)]
    zone_of = {s: ec2.get_subnet(s).availability_zone for s in subnets}
    launch_template = None
    if self.ec2_launch_template:
        if self.ec2_launch_template.id:
            launch_template = {"LaunchTemplateId": self.ec2_launch_template.id}
        elif self.ec2_launch_template.name:
            launch_template = {"LaunchTemplateName": self.ec2_launch_template.name}
    for _ in range(count_needed):
        if not reachable:
            lab.asg_launch_failed(
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


@replaces(asg_models.AutoScalingBackend, "update_attached_target_groups")
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


if not hasattr(NetworkInterface, "private_dns_name"):
    # moto's ECS tasks read it from their network interface, which lacks it
    setattr(NetworkInterface, "private_dns_name", property(  # noqa: B010 - moto declares no such attribute
        lambda eni: f"ip-{str(eni.private_ip_address).replace('.', '-')}.ec2.internal"))
