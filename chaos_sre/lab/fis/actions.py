"""What the lab's FIS does for each action it runs, on the lab's own models - as FIS does it
("AWS FIS Actions reference"):

* ``aws:ec2:terminate-instances``: TerminateInstances of the target's instances; completes at once.
* ``aws:ec2:stop-instances``: StopInstances; with ``startInstancesAfterDuration``, StartInstances
  when it has passed (and when the experiment stops), and the action completes then.
* ``aws:rds:failover-db-cluster``: FailoverDBCluster of each cluster (RDS picks the reader).
* ``aws:rds:reboot-db-instances``: RebootDBInstance, with ``forceFailover``.
* ``aws:network:disrupt-connectivity`` with scope ``all``: a network ACL denying all traffic,
  tagged ``managedByFIS``, in each target subnet's VPC, associated with the subnets for
  ``duration``; then each subnet's ACL is given back and the new ACL deleted (also when the
  experiment stops).
* ``aws:fis:wait``: nothing, for ``duration``.

Any other action fails with a reason that names it (the lab does not run it yet), and so does
the experiment. Durations are AWS seconds played at the lab's time scale.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models.network_acls import NetworkAclBackend

from chaos_sre.fis.actions import duration_seconds
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import original


class ActionFailed(Exception):
    """An action the lab's FIS could not run (its state's reason)."""


@dataclass
class Running:
    """An action under way: when it ends (lab monotonic seconds; None: it ended at once) and what
    ends it."""

    ends_at: float | None
    finish: Callable[[], None] = lambda: None
    """Undoes what the action holds (its duration's end, or the experiment stopping)."""
    resources: list[str] = field(default_factory=list)


def _ids(arns: list[str]) -> list[str]:
    return [arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for arn in arns]


def _terminate(resources: list[str], parameters: Mapping[str, str], ends: Callable[[str], float]) -> Running:
    if resources:
        moto_backend("ec2").terminate_instances(_ids(resources))
    return Running(None, resources=resources)


def _stop(resources: list[str], parameters: Mapping[str, str], ends: Callable[[str], float]) -> Running:
    ec2, ids = moto_backend("ec2"), _ids(resources)
    if ids:
        ec2.stop_instances(ids)
    after = parameters.get("startInstancesAfterDuration")
    if not after:
        return Running(None, resources=resources)

    def start() -> None:
        live = [i.id for i in ec2.get_multi_instances_by_id(ids) if i.state == "stopped"]
        if live:
            ec2.start_instances(live)
    return Running(ends(after), start, resources)


def _failover_clusters(resources: list[str], parameters: Mapping[str, str],
                       ends: Callable[[str], float]) -> Running:
    rds = moto_backend("rds")
    for identifier in _ids(resources):
        rds.failover_db_cluster(identifier)
    return Running(None, resources=resources)


def _reboot_instances(resources: list[str], parameters: Mapping[str, str],
                      ends: Callable[[str], float]) -> Running:
    from chaos_sre.lab.core.patches import hooks

    rds, failover = moto_backend("rds"), parameters.get("forceFailover", "false") == "true"
    for identifier in _ids(resources):
        instance = rds.reboot_db_instance(identifier)
        hooks().service("rds").instance_reboot(instance, failover)
    return Running(None, resources=resources)


def _disrupt(resources: list[str], parameters: Mapping[str, str], ends: Callable[[str], float]) -> Running:
    scope = parameters.get("scope", "all")
    if scope != "all":
        raise ActionFailed(f"the chaos-sre lab runs aws:network:disrupt-connectivity with scope "
                           f"all only, not {scope}")
    ec2, subnets = moto_backend("ec2"), set(_ids(resources))
    given_back: list[tuple[str, str]] = []
    created: list[str] = []
    for vpc_id in sorted({ec2.get_subnet(s).vpc_id for s in subnets}):
        cut = [(association_id, current.id) for current in list(ec2.network_acls.values())
               for association_id, association in list(current._associations.items())
               if association.subnet_id in subnets and current.vpc_id == vpc_id]
        acl = ec2.create_network_acl(vpc_id, tags=[{"Key": "managedByFIS", "Value": "true"}])
        created.append(acl.id)
        for association_id, previous in cut:
            new = original(NetworkAclBackend, "replace_network_acl_association")(
                ec2, association_id, acl.id)
            given_back.append((new.id, previous))

    def restore() -> None:
        for association_id, acl_id in given_back:
            original(NetworkAclBackend, "replace_network_acl_association")(ec2, association_id, acl_id)
        for acl_id in created:
            original(NetworkAclBackend, "delete_network_acl")(ec2, acl_id)
    return Running(ends(parameters["duration"]), restore, resources)


def _wait(resources: list[str], parameters: Mapping[str, str], ends: Callable[[str], float]) -> Running:
    return Running(ends(parameters["duration"]))


RUNNERS: dict[str, Callable[[list[str], Mapping[str, str], Callable[[str], float]], Running]] = {
    "aws:ec2:terminate-instances": _terminate, "aws:ec2:stop-instances": _stop,
    "aws:rds:failover-db-cluster": _failover_clusters, "aws:rds:reboot-db-instances": _reboot_instances,
    "aws:network:disrupt-connectivity": _disrupt, "aws:fis:wait": _wait,
}


def start(action_id: str, resources: list[str], parameters: Mapping[str, Any],
          ends: Callable[[float], float]) -> Running:
    """Start ``action_id`` on ``resources``; ``ends(aws_seconds)`` is when a duration from now
    ends on the lab's clock."""
    runner = RUNNERS.get(action_id)
    if runner is None:
        raise ActionFailed(f"the chaos-sre lab does not run {action_id} yet")
    return runner(resources, {k: str(v) for k, v in parameters.items()},
                  lambda text: ends(duration_seconds(text)))
