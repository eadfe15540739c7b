"""moto patches of EC2 Auto Scaling: where groups place instances and when they register them.

* a group places new instances in the least-populated reachable AZ of its subnets (moto: all in
  the first subnet) and counts ``Pending`` instances towards capacity; an AZ where an FIS
  experiment makes its launches fail for insufficient capacity is left out, as Auto Scaling
  launches in the group's other AZs then ("Troubleshoot Amazon EC2 Auto Scaling: capacity");
* terminating a group's instance does not replace it at once (moto: replaced in the same call);
  the lab's health sweep (:mod:`chaos_sre.lab.autoscaling.simulation`) notices and replaces it;
* a group registers instances with its target groups when they are InService and deregisters
  the ones it no longer has;
* CompleteLifecycleAction ends a launch lifecycle hook's wait (moto does not answer it);
* Create/UpdateAutoScalingGroup that provides a launch template needs the caller to hold
  ec2:RunInstances (and ec2:CreateTags, iam:PassRole as the template needs), as AWS checks.
"""

import random
from typing import Any, Protocol, cast

from moto.autoscaling import models as asg_models
from moto.autoscaling import responses as asg_responses
from moto.autoscaling.exceptions import ValidationError
from moto.core.responses import EmptyResult

from chaos_sre.lab.core.access_denied import caller_may
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.mutations import Params, one
from chaos_sre.lab.core.patches import hooks, original, replaces

ASG_LIFECYCLE_COUNTED = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")
"""What counts towards a group's capacity: a launch held by a lifecycle hook does, an instance in
Standby does not (the group launches a replacement unless its desired capacity was decremented)."""


class AutoScalingHooks(Protocol):
    """What Auto Scaling's patches ask of its simulation."""

    def subnet_reachable(self, subnet_id: str) -> bool:
        """Whether the group may launch in ``subnet_id`` (network ACLs)."""

    def asg_launch_failed(self, group_name: str, reason: str) -> None:
        """The group could not place an instance."""

    def capacity_refused(self, group_name: str) -> set[str]:
        """The AZs where the group's launches fail for insufficient capacity now (an FIS
        experiment's ``aws:ec2:asg-insufficient-instance-capacity-error``)."""

    def complete_lifecycle_action(self, group_name: str, hook_name: str, instance_id: str,
                                  result: str) -> bool:
        """End the lifecycle action of a held instance; False when none is held there."""


def _lab() -> AutoScalingHooks:
    return cast(AutoScalingHooks, hooks().service("autoscaling"))


@replaces(asg_models.AutoScalingBackend, "notify_terminate_instances")
def _ignore_termination(self: Any, instance_ids: list[str]) -> None:
    """The lab's health sweep notices terminations in its own time."""


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
    zone_of = {s: ec2.get_subnet(s).availability_zone for s in subnets}
    refused = lab.capacity_refused(self.name)
    reachable = [s for s in subnets if lab.subnet_reachable(s) and zone_of[s] not in refused]
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
                + (f"; InsufficientInstanceCapacity in {', '.join(sorted(refused))}" if refused else "")
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


@replaces(asg_responses.AutoScalingResponse, "complete_lifecycle_action")
def _complete_lifecycle_action(self: Any) -> Any:
    """CompleteLifecycleAction (moto does not answer it): CONTINUE puts a launch held in
    ``Pending:Wait`` in service, ABANDON terminates it; an instance no hook holds is a
    ValidationError, as on AWS."""
    group, hook = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
    instance, result = self._get_param("InstanceId"), self._get_param("LifecycleActionResult")
    if result not in ("CONTINUE", "ABANDON"):
        raise ValidationError(f"LifecycleActionResult must be CONTINUE or ABANDON, got {result}")
    if not instance or not _lab().complete_lifecycle_action(group, hook, instance, result):
        raise ValidationError(f"No active Lifecycle Action found with instance ID {instance}")
    return EmptyResult()


LAUNCH_TEMPLATE_KEYS = ("LaunchTemplate.", "MixedInstancesPolicy.LaunchTemplate.")


def _launch_template_data(params: Params) -> dict[str, Any] | None:
    """The data of the launch template a Create/UpdateAutoScalingGroup request provides (its
    latest version), None when it provides none."""
    named = {key.rsplit(".", 1)[-1]: one(params, key) for key in params
             if key.startswith(LAUNCH_TEMPLATE_KEYS) and key.endswith(("LaunchTemplateName",
                                                                      "LaunchTemplateId"))}
    if not named:
        return None
    ec2 = moto_backend("ec2")
    template_id = named.get("LaunchTemplateId") or ec2.launch_template_name_to_ids.get(
        named.get("LaunchTemplateName"))
    template = ec2.launch_templates.get(template_id) if template_id else None
    return dict(template.latest_version().data) if template is not None else {}


def _refuse_launch_template_use(params: Params) -> None:
    """What Auto Scaling checks for a caller that provides a launch template ("Amazon EC2 Auto
    Scaling API permissions": ec2:RunInstances to launch instances when a launch template is
    provided, ec2:CreateTags when it has a tag specification, iam:PassRole when it names an
    instance profile); a request that provides none (a subnet change alone) needs none of them."""
    data = _launch_template_data(params)
    if data is None:
        return
    needed = ["ec2:RunInstances", *(["ec2:CreateTags"] if data.get("TagSpecifications") else []),
              *(["iam:PassRole"] if data.get("IamInstanceProfile") else [])]
    missing = [action for action in needed if not caller_may(action)]
    if missing:
        name = next(one(params, k) for k in sorted(params) if k.startswith(LAUNCH_TEMPLATE_KEYS))
        raise ValidationError(f"You are not authorized to use launch template: {name} (the "
                              f"caller may not {', '.join(missing)})")


@replaces(asg_responses.AutoScalingResponse, "update_auto_scaling_group")
def _update_auto_scaling_group(self: Any) -> Any:
    _refuse_launch_template_use(self.querystring)
    return original(asg_responses.AutoScalingResponse, "update_auto_scaling_group")(self)


@replaces(asg_responses.AutoScalingResponse, "create_auto_scaling_group")
def _create_auto_scaling_group(self: Any) -> Any:
    _refuse_launch_template_use(self.querystring)
    return original(asg_responses.AutoScalingResponse, "create_auto_scaling_group")(self)
