"""The AZ faults in AWS FIS (:mod:`chaos_sre.fis.mapping`).

* ``terminate_az_instances``: ``aws:ec2:terminate-instances`` (``aws:ec2:stop-instances`` with
  ``startInstancesAfterDuration`` in stop mode) on the running instances of the AZ with the
  fault's tags, one group's through its ``aws:autoscaling:groupName`` tag, selected ALL,
  COUNT(n) or PERCENT(n).
* ``blackhole_az``: ``aws:network:disrupt-connectivity`` with scope ``all`` on the AZ's subnets
  with the fault's tags - FIS's deny-all network ACL, the same cut; the groups' launches in the
  AZ fail with ``aws:ec2:asg-insufficient-instance-capacity-error`` (where chaos-sre takes the
  AZ's subnets out of the group), and the load balancers' traffic leaves the AZ with
  ``aws:arc:start-zonal-autoshift`` - as FIS's own AZ power interruption scenario does. Both
  last as long as the cut and end FIS side.
"""

from typing import Any

from chaos_sre.faults.az.selection import ASG_TAG, names, tag_map_of
from chaos_sre.fis.actions import iso_duration
from chaos_sre.fis.mapping import FisContext, FisPart, FisStep, FisTarget, unsupported

TAG_VALUE_LONGEST = 50
"""FIS takes target tag values of at most 50 characters (CreateExperimentTemplate)."""
SHORTEST_FAULT_SECONDS = 60
"""FIS's durations start at one minute ("AWS FIS Actions reference")."""


def _target_tags(fault: str, arguments: dict[str, Any]) -> dict[str, str]:
    tags = tag_map_of(arguments.get("tags"))
    for key, value in tags.items():
        if len(value) > TAG_VALUE_LONGEST:
            raise unsupported(fault, "tags", f"FIS takes tag values of at most {TAG_VALUE_LONGEST} "
                                             f"characters; {key}={value!r} is longer")
    return tags


def _fault_duration(fault: str, context: FisContext) -> str:
    if context.fault_seconds < SHORTEST_FAULT_SECONDS:
        raise unsupported(fault, "pauses", f"the fault lasts {context.fault_seconds:g} s until the "
                                           "rollbacks, and FIS actions last at least 1 minute; "
                                           "pause at least 60 s after the action")
    return iso_duration(context.fault_seconds)


def _selection_mode(arguments: dict[str, Any]) -> str:
    mode = arguments.get("mode", "all")
    if mode == "count":
        return f"COUNT({int(arguments['count'])})"
    if mode == "percent":
        percent = float(arguments["percent"])
        if not percent.is_integer() or not 1 <= percent <= 100:
            raise unsupported("terminate_az_instances", "percent",
                              f"FIS takes a whole PERCENT(1-100), not {percent:g}")
        return f"PERCENT({int(percent)})"
    return "ALL"


def terminate_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``terminate_az_instances`` as FIS targets and one action (the module doc says which)."""
    fault = "terminate_az_instances"
    tags, groups = _target_tags(fault, arguments), names(arguments.get("asg_names"))
    if len(groups) > 1:
        raise unsupported(fault, "asg_names", "a FIS target matches one value per tag "
                                              f"({ASG_TAG}); export one experiment per group")
    if groups:
        tags[ASG_TAG] = groups[0]
    elif not arguments.get("allow_instances_outside_groups"):
        raise unsupported(fault, "asg_names", "without a group FIS would also take instances in no "
                                              "Auto Scaling group, which chaos-sre refuses; name "
                                              "the group or set allow_instances_outside_groups")
    if not tags:
        raise unsupported(fault, "tags", "FIS would take every instance of the AZ; give tags or "
                                         "asg_names")
    if arguments.get("seed") is not None:
        raise unsupported(fault, "seed", "FIS picks COUNT(n) and PERCENT(n) targets at random itself")
    target = FisTarget("aws:ec2:instance", _selection_mode(arguments), tags, filters={
        "Placement.AvailabilityZone": [arguments["az"]], "State.Name": ["running"]})
    if arguments.get("stop"):
        step = FisStep("aws:ec2:stop-instances", "instances", {
            "startInstancesAfterDuration": _fault_duration(fault, context),
            "completeIfInstancesTerminated": "true"},
            description=f"stop the running instances in {arguments['az']}, start them after the hold")
        notes = ["stop mode: FIS starts the instances but does not mark them healthy in their "
                 "group (SetInstanceHealth), as chaos-sre's restore does"]
    else:
        step = FisStep("aws:ec2:terminate-instances", "instances",
                       description=f"terminate the running instances in {arguments['az']}")
        notes = []
    return FisPart(targets={"instances": target}, actions={"take-instances": step}, notes=notes)


def blackhole_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``blackhole_az`` as FIS targets and actions (the module doc says which)."""
    fault, az = "blackhole_az", str(arguments["az"])
    tags, groups = _target_tags(fault, arguments), names(arguments.get("asg_names"))
    balancers = names(arguments.get("load_balancer_names"))
    if not tags:
        raise unsupported(fault, "tags", "FIS would cut every subnet of the AZ; give tags")
    if balancers and arguments.get("load_balancer_move") != "zonal-shift":
        raise unsupported(fault, "load_balancer_move", "FIS has no action that changes a load "
                                                       "balancer's subnets; use zonal-shift")
    duration = _fault_duration(fault, context)
    subnet_filters: dict[str, list[str]] = {"AvailabilityZone": [az]}
    if arguments.get("vpc_id"):
        subnet_filters["VpcId"] = [str(arguments["vpc_id"])]
    targets = {"subnets": FisTarget("aws:ec2:subnet", "ALL", tags, filters=subnet_filters)}
    actions = {"cut-network": FisStep("aws:network:disrupt-connectivity", "subnets",
                                      {"duration": duration, "scope": "all"},
                                      description=f"deny all traffic of the subnets in {az}")}
    if groups:
        targets["groups"] = FisTarget("aws:ec2:autoscaling-group", "ALL", tags,
                                      filters={"AutoScalingGroupName": groups})
        actions["no-launches-in-az"] = FisStep(
            "aws:ec2:asg-insufficient-instance-capacity-error", "groups",
            {"availabilityZoneIdentifiers": az, "duration": duration, "percentage": "100"},
            description=f"the groups' launches in {az} fail for insufficient capacity")
    if balancers:
        targets["load-balancers"] = FisTarget("aws:arc:zonal-shift-managed-resource", "ALL", tags)
        actions["shift-traffic"] = FisStep(
            "aws:arc:start-zonal-autoshift", "load-balancers",
            {"availabilityZoneIdentifier": az, "duration": duration},
            description=f"shift the load balancers' traffic away from {az}")
    notes = ["the guardrails on NAT gateways, interface endpoints and the runner's own subnet "
             "(allow_cross_az_nat_gateways, allow_endpoint_interfaces) are checked by `chaos-sre "
             "fis run` on the targets FIS resolves, not by the template"]
    if groups:
        notes.append("the groups keep the AZ's subnets: FIS makes their launches there fail "
                     "instead of removing the subnets and suspending AZRebalance")
    if balancers:
        notes.append("aws:arc:start-zonal-autoshift shifts the resources with the tags that have "
                     f"zonal autoshift enabled (not only {', '.join(balancers)}), where chaos run "
                     "starts a zonal shift on the named load balancers; enable autoshift on them")
    return FisPart(targets=targets, actions=actions, notes=notes)
