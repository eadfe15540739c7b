"""EC2 as faults and probes read it: a service's instances, an AZ's subnets in a VPC, a subnet's
VPC and ACL."""

from typing import Any

from chaos_sre.aws import paginate, tag_dict
from chaos_sre.errors import AWSError, ValidationError


def service_instances(ec2: Any, autoscaling: Any, tags: dict[str, str],
                       asg_names: list[str]) -> list[dict[str, Any]]:
    """Running instances of the service (by tags and/or ASGs), with their AZ and tags."""
    filters = [{"Name": "instance-state-name", "Values": ["running"]}]
    filters += [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    allowed: set[str] | None = None
    if asg_names:
        allowed = {
            i["InstanceId"]
            for group in paginate(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
                                  AutoScalingGroupNames=asg_names)
            for i in group["Instances"]
        }
    return [
        {"id": i["InstanceId"], "az": i["Placement"]["AvailabilityZone"],
         "tags": tag_dict(i.get("Tags"))}
        for reservation in paginate(ec2, "describe_instances", "Reservations", Filters=filters)
        for i in reservation["Instances"]
        if allowed is None or i["InstanceId"] in allowed
    ]


def az_subnets(ec2: Any, az: str, vpc_id: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    """The subnets of ``vpc_id`` in ``az`` that carry every one of ``tags``."""
    filters = [{"Name": "availability-zone", "Values": [az]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    filters += [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    return list(paginate(ec2, "describe_subnets", "Subnets", Filters=filters))


def subnet_vpcs(ec2: Any, subnet_ids: list[str]) -> dict[str, str]:
    """{subnet id: VPC id} of ``subnet_ids``."""
    if not subnet_ids:
        return {}
    return {s["SubnetId"]: s["VpcId"]
            for s in paginate(ec2, "describe_subnets", "Subnets", SubnetIds=sorted(set(subnet_ids)))}


def acl_of(ec2: Any, subnet_id: str) -> tuple[str, str]:
    """(network ACL id, association id) of a subnet."""
    for acl in paginate(ec2, "describe_network_acls", "NetworkAcls",
                        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]):
        for association in acl["Associations"]:
            if association["SubnetId"] == subnet_id:
                return acl["NetworkAclId"], association["NetworkAclAssociationId"]
    raise ValidationError(f"subnet {subnet_id} has no network ACL association")


def still_running(ec2: Any, instance_ids: list[str]) -> list[str]:
    """Which of ``instance_ids`` are pending or running (sorted); gone ones are not."""
    try:
        reservations = list(paginate(ec2, "describe_instances", "Reservations",
                                     InstanceIds=instance_ids))
    except AWSError as exc:
        if exc.code == "InvalidInstanceID.NotFound":
            return []
        raise
    return sorted(i["InstanceId"] for r in reservations for i in r["Instances"]
                  if i["State"]["Name"] in ("pending", "running"))
