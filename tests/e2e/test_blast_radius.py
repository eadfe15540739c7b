"""No experiment touches a resource outside its declared targets (issue 19).

The lab records every mutating AWS API call a caller makes and the resources it named, in the
run ledger's names (`/__lab/mutations`, chaos_sre.lab.core.mutations); each shipped run's calls
are compared with what its ledger planned - the resources its faults recorded before changing
them - and with what the run itself created. Reads the session's shared run of every shipped
experiment (conftest.shipped_runs).
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SHIPPED_EXPERIMENTS, ShippedRuns, extension

from chaos_sre.lab.core import mutations
from chaos_sre.lab.ec2 import calls as ec2_calls

CHAOS_SRE_FAULTS = [name for name in SHIPPED_EXPERIMENTS if name != "lab-smoke"]
"""lab-smoke's fault is chaostoolkit-aws's `terminate_instances`, which keeps no ledger: there is
no plan to hold its calls against."""


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def planned(ledger: Path) -> set[str]:
    """The resources a run's ledger recorded before changing them (an intent AWS did not refuse
    included: the ledger is written first), instances one by one."""
    found: set[str] = set()
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("kind") != "intent":
            continue
        found.add(str(entry["resource"]))
        members = (entry.get("pre_state") or {}).get("instance_ids") \
            if isinstance(entry.get("pre_state"), dict) else None
        found.update(f"ec2:instance/{member}" for member in members or [])
    return found


def created(journal: dict[str, Any]) -> set[str]:
    """What the run's faults created (the blackhole's deny-all network ACLs)."""
    return {f"ec2:network-acl/{acl}" for run in journal.get("run") or []
            for acl in ((run.get("output") or {}).get("network_acl_ids") or []
                        if isinstance(run.get("output"), dict) else [])}


@pytest.mark.e2e
@pytest.mark.parametrize("name", CHAOS_SRE_FAULTS)
def test_a_run_mutates_only_what_its_ledger_planned(shipped_runs: ShippedRuns, name: str) -> None:
    journal = shipped_runs.journal(name)
    ext = extension(journal)
    plan = planned(Path(ext["ledger_path"]))
    assert plan, f"{name}: its ledger planned nothing"
    start, end = _epoch(journal["start"]), _epoch(journal["end"])
    calls = [m for m in shipped_runs.mutations(name) if start <= m["at"] <= end]
    touched = {resource for call in calls for resource in call["resources"]}
    outside = {resource: sorted({c["action"] for c in calls if resource in c["resources"]})
               for resource in touched - plan - created(journal)}
    assert not outside, f"{name} touched resources outside its plan {sorted(plan)}: {outside}"
    assert touched & plan, f"{name}: the lab saw no change to any planned resource {sorted(plan)}"


def test_the_lab_names_what_each_mutating_call_touched_and_flags_what_it_cannot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ground truth's own names: query and JSON parameters, an association's subnet, a GSI's
    scalable target under its table; an action the lab has no names for is ``?``, which no plan
    holds - it can only fail the comparison above, never pass it unseen."""
    monkeypatch.setattr(ec2_calls, "subnet_of_association", {"aclassoc-1": "subnet-9"}.get)
    query = mutations.query_params(b"Action=ReplaceNetworkAclAssociation&AssociationId=aclassoc-1"
                                   b"&NetworkAclId=acl-2")
    assert mutations.mutated_resources("ec2:ReplaceNetworkAclAssociation", query) == \
        ["ec2:subnet/subnet-9"]
    target = mutations.json_params(b'{"ResourceId": "table/sessions/index/by-user"}')
    assert mutations.mutated_resources("application-autoscaling:RegisterScalableTarget", target) == \
        ["dynamodb:table/sessions"]
    balancer = mutations.query_params(
        b"LoadBalancerArn=arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/abc")
    assert mutations.mutated_resources("elasticloadbalancing:SetSubnets", balancer) == \
        ["elbv2:web"]
    shift = mutations.json_params(
        b'{"resourceIdentifier": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/abc"}')
    assert mutations.mutated_resources("arc-zonal-shift:StartZonalShift", shift) == ["elbv2:web"]
    assert mutations.mutated_resources("ec2:DeleteVpc", {}) == [mutations.UNKNOWN]
    assert not mutations.is_mutation("DescribeInstances") and mutations.is_mutation("CreateTags")
