"""A fault family from outside chaos-sre, as another package would ship one.

tests/lab/test_fault_registry.py registers it the way a package's metadata does (an entry point in
the ``chaos_sre.faults`` group) and checks that discovery, validation, ``iam policy`` and
rollback find it with no edit to chaos-sre.
"""

from typing import Any

from chaos_sre.aws import aws_client, call, paginate, tag_dict
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, Target, fault
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, inverse

__all__ = ["label_instances"]

LABEL_KEY = "chaos-sre-sample"
INSTANCES = "arn:aws:ec2:*:*:instance/*"


@fault(reads=[Permission("ec2:DescribeInstances")],
       permissions=[Permission("ec2:CreateTags", INSTANCES), Permission("ec2:DeleteTags", INSTANCES)],
       inverses=["remove_sample_label"], effects=["label"])
def label_instances(az: str, label: str = "chaos",
                    configuration: dict[str, Any] | None = None,
                    secrets: dict[str, Any] | None = None) -> Plan:
    """Tag the running instances of one AZ with `chaos-sre-sample=<label>`; the rollback
    removes the tag."""
    ec2 = aws_client("ec2", configuration, secrets)
    instances = [i for r in paginate(ec2, "describe_instances", "Reservations", Filters=[
                     {"Name": "availability-zone", "Values": [az]},
                     {"Name": "instance-state-name", "Values": ["running"]}])
                 for i in r["Instances"]]
    ids = sorted(i["InstanceId"] for i in instances)

    def apply(ledger: Ledger) -> None:
        with ledger.mutation("ec2:instances", "label", {"instance_ids": ids},
                             {"op": "remove_sample_label", "instance_ids": ids}) as mutation:
            call(ec2, "create_tags", Resources=ids, Tags=[{"Key": LABEL_KEY, "Value": label}])
            mutation.outcome = {"label": label}

    return Plan(targets=[Target(f"ec2:instance/{i['InstanceId']}", tag_dict(i.get("Tags")), az)
                         for i in instances],
                summary={"instance_ids": ids}, apply=apply,
                action=f"tag {len(ids)} instance(s) in {az} with {LABEL_KEY}={label}")


class RemoveSampleLabel(Inverse):
    instance_ids: list[str]


@inverse("remove_sample_label", RemoveSampleLabel)
def _remove_label(op: RemoveSampleLabel, configuration: Settings, secrets: Settings) -> str:
    call(aws_client("ec2", configuration, secrets), "delete_tags", Resources=op.instance_ids,
         Tags=[{"Key": LABEL_KEY}])
    return f"removed tag {LABEL_KEY} from {len(op.instance_ids)} instance(s)"


@effect_check("label")
def _labelled(intent: Operation, outcome: Any, configuration: Settings, secrets: Settings) -> str | None:
    """Every labelled instance still carries the label."""
    ids = intent["pre_state"]["instance_ids"]
    tagged = {i["InstanceId"] for r in paginate(
        aws_client("ec2", configuration, secrets), "describe_instances", "Reservations",
        Filters=[{"Name": f"tag:{LABEL_KEY}", "Values": [outcome["label"]]}]) for i in r["Instances"]}
    missing = sorted(set(ids) - tagged)
    return f"{', '.join(missing)} lost the label" if missing else None
