"""Other libraries' actions in AWS FIS: the chaostoolkit-aws actions the shipped experiments use.

Their mappings live here, keyed by the action's module and function, because their packages do
not declare one (chaos-sre's own faults carry theirs: ``@fault(..., fis=...)``).

* ``chaosaws.ec2.actions.terminate_instances`` (``az``, ``filters``, ``instance_ids``):
  ``aws:ec2:terminate-instances``; its DescribeInstances filters become the target's tags
  (``tag:KEY``) and filters (``availability-zone``, ``instance-state-name``), instance ids its
  ARNs (FIS takes at most five).
"""

from typing import Any

from chaos_sre.fis.mapping import FisContext, FisMapping, FisPart, FisStep, FisTarget, unsupported

EC2_FILTER_PATHS = {"availability-zone": "Placement.AvailabilityZone",
                    "instance-state-name": "State.Name", "instance-type": "InstanceType",
                    "vpc-id": "VpcId", "subnet-id": "SubnetId"}
"""DescribeInstances filter names -> the path FIS filters on in its answer."""
MOST_ARNS = 5
"""FIS takes at most five resource ARNs in a target (CreateExperimentTemplate)."""


def chaosaws_terminate_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``chaosaws.ec2.actions.terminate_instances`` as one FIS target and action."""
    fault = "chaosaws.ec2.actions.terminate_instances"
    tags: dict[str, str] = {}
    filters: dict[str, list[str]] = {}
    for given in arguments.get("filters") or []:
        name, values = str(given.get("Name", "")), [str(v) for v in given.get("Values") or []]
        if name.startswith("tag:"):
            if len(values) != 1:
                raise unsupported(fault, "filters", f"FIS matches one value per tag, not {name}={values}")
            tags[name.removeprefix("tag:")] = values[0]
        elif name in EC2_FILTER_PATHS:
            filters[EC2_FILTER_PATHS[name]] = values
        else:
            raise unsupported(fault, "filters", f"FIS has no filter for DescribeInstances' {name!r}")
    if arguments.get("az"):
        filters["Placement.AvailabilityZone"] = [str(arguments["az"])]
    ids = [str(i) for i in arguments.get("instance_ids") or []]
    if len(ids) > MOST_ARNS:
        raise unsupported(fault, "instance_ids", f"FIS takes at most {MOST_ARNS} resource ARNs")
    if not tags and not ids:
        raise unsupported(fault, "filters", "FIS targets instances by tags or ARNs; add a tag: filter")
    target = FisTarget("aws:ec2:instance", "ALL", tags,
                       [context.arn("ec2", f"instance/{i}") for i in ids], filters)
    step = FisStep("aws:ec2:terminate-instances", "instances", description="terminate the instances")
    return FisPart(targets={"instances": target}, actions={"terminate": step})


MAPPINGS: dict[tuple[str, str], FisMapping] = {
    ("chaosaws.ec2.actions", "terminate_instances"): chaosaws_terminate_in_fis,
}
"""(module, function) of another library's action -> its FIS mapping."""
