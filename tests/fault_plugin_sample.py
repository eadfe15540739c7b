"""A fault family from outside chaos-sre, as another package would ship one.

tests/test_fault_registry.py registers it the way a package's metadata does (an entry point in
the ``chaos_sre.faults`` group) and checks that discovery, validation, ``iam policy`` and
rollback find it with no edit to chaos-sre.
"""

from typing import Any

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.faults.registry import Permission, fault
from chaos_sre.safety.ledger import Operation, Settings, current_ledger, inverse

__all__ = ["label_instances"]

LABEL_KEY = "chaos-sre-sample"
INSTANCES = "arn:aws:ec2:*:*:instance/*"


@fault(reads=[Permission("ec2:DescribeInstances")],
       permissions=[Permission("ec2:CreateTags", INSTANCES), Permission("ec2:DeleteTags", INSTANCES)],
       inverses=["remove_sample_label"])
def label_instances(az: str, label: str = "chaos", dry_run: bool = False,
                    configuration: dict[str, Any] | None = None,
                    secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tag the running instances of one AZ with `chaos-sre-sample=<label>`; the rollback
    removes the tag."""
    ec2 = aws_client("ec2", configuration, secrets)
    ids = sorted(i["InstanceId"]
                 for r in paginate(ec2, "describe_instances", "Reservations", Filters=[
                     {"Name": "availability-zone", "Values": [az]},
                     {"Name": "instance-state-name", "Values": ["running"]}])
                 for i in r["Instances"])
    if dry_run:
        return {"dry_run": True, "instance_ids": ids}
    with current_ledger(configuration or {}).mutation(
            "ec2:instances", "label", {"instance_ids": ids},
            {"op": "remove_sample_label", "instance_ids": ids}):
        call(ec2, "create_tags", Resources=ids, Tags=[{"Key": LABEL_KEY, "Value": label}])
    return {"dry_run": False, "instance_ids": ids}


@inverse("remove_sample_label")
def _remove_label(op: Operation, configuration: Settings, secrets: Settings) -> str:
    call(aws_client("ec2", configuration, secrets), "delete_tags", Resources=op["instance_ids"],
         Tags=[{"Key": LABEL_KEY}])
    return f"removed tag {LABEL_KEY} from {len(op['instance_ids'])} instance(s)"
