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
* ``aws:ec2:asg-insufficient-instance-capacity-error``: the target groups' launches in the
  ``availabilityZoneIdentifiers`` fail with InsufficientInstanceCapacity for ``duration``, so
  they launch in their other AZs (``percentage`` 100 only);
* ``aws:arc:start-zonal-autoshift``: a zonal autoshift (``FIS_EXPERIMENT``) of each target
  resource that has zonal autoshift enabled, away from the AZ, for ``duration``; then cancelled;
* ``aws:ssm:start-automation-execution``: the SSM document run with its parameters
  (:mod:`chaos_sre.lab.fis.automation`) until it ends, at most ``maxDuration``; cancelled (its
  ``onCancel`` steps run) when the experiment stops;
* ``aws:fis:wait``: nothing, for ``duration``.

Any other action fails with a reason that names it (the lab does not run it yet), and so does
the experiment. Durations are AWS seconds played at the lab's time scale. The actions work on
the lab's models directly, past the API's eventual consistency for new network ACLs: FIS waits
that out itself, where a caller of the API must.
"""

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models.network_acls import NetworkAclBackend

from chaos_sre.fis.actions import duration_seconds
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import hooks, original
from chaos_sre.lab.ec2.zones import zone_names_by_id
from chaos_sre.lab.fis.automation import SUCCESS, Execution, document_content


class ActionFailed(Exception):
    """An action the lab's FIS could not run (its state's reason)."""


@dataclass(frozen=True)
class Clock:
    """When things happen for an action started now: the lab's clock and its AWS API."""

    now: float
    scaled: Callable[[float], float]
    """Wall seconds for AWS seconds (the lab's time scale)."""
    api_url: str

    def ends(self, duration: str) -> float:
        """When an ISO 8601 ``duration`` of AWS time from now ends, on the lab's clock."""
        return self.now + self.scaled(duration_seconds(duration))


@dataclass
class Running:
    """An action under way: when it ends (lab monotonic seconds; None: it ended at once) and what
    ends it."""

    ends_at: float | None
    finish: Callable[[], None] = lambda: None
    """Undoes what the action holds (its duration's end, or the experiment stopping)."""
    resources: list[str] = field(default_factory=list)
    ended: Callable[[], bool] | None = None
    """For an action that ends by itself (an automation): whether it has; ``ends_at`` is then
    its longest time."""
    failure: Callable[[], str] = lambda: ""
    """Why it failed once it ended, or empty."""


def _ids(arns: list[str]) -> list[str]:
    return [arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for arn in arns]


def _backend(service: str, resources: list[str]) -> Any:
    """moto's ``service`` in the account of the resources (a multi-account experiment acts in
    its target account); one action's resources are of one account."""
    accounts = {arn.split(":")[4] for arn in resources}
    if len(accounts) > 1:
        raise ActionFailed(f"the chaos-sre lab runs one action in one account, not in {sorted(accounts)}")
    return moto_backend(service, **({"account": accounts.pop()} if accounts else {}))


def _terminate(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    if resources:
        _backend("ec2", resources).terminate_instances(_ids(resources))
    return Running(None, resources=resources)


def _stop(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    ec2, ids = _backend("ec2", resources), _ids(resources)
    if ids:
        ec2.stop_instances(ids)
    after = parameters.get("startInstancesAfterDuration")
    if not after:
        return Running(None, resources=resources)

    def start() -> None:
        live = [i.id for i in ec2.get_multi_instances_by_id(ids) if i.state == "stopped"]
        if live:
            ec2.start_instances(live)
    return Running(clock.ends(after), start, resources)


def _failover_clusters(resources: list[str], parameters: Mapping[str, str],
                       clock: Clock) -> Running:
    rds = _backend("rds", resources)
    for identifier in _ids(resources):
        rds.failover_db_cluster(identifier)
    return Running(None, resources=resources)


def _reboot_instances(resources: list[str], parameters: Mapping[str, str],
                      clock: Clock) -> Running:
    rds, failover = _backend("rds", resources), parameters.get("forceFailover", "false") == "true"
    for identifier in _ids(resources):
        instance = rds.reboot_db_instance(identifier)
        hooks().service("rds").instance_reboot(instance, failover)
    return Running(None, resources=resources)


def _disrupt(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    scope = parameters.get("scope", "all")
    if scope != "all":
        raise ActionFailed(f"the chaos-sre lab runs aws:network:disrupt-connectivity with scope "
                           f"all only, not {scope}")
    ec2, subnets = _backend("ec2", resources), set(_ids(resources))
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
    return Running(clock.ends(parameters["duration"]), restore, resources)


def _zone_names(identifiers: str) -> set[str]:
    """AZ names for FIS's ``availabilityZoneIdentifiers`` (names or IDs, comma separated)."""
    by_id = zone_names_by_id()
    return {by_id.get(given.strip(), given.strip()) for given in identifiers.split(",") if given.strip()}


def _insufficient_capacity(resources: list[str], parameters: Mapping[str, str],
                           clock: Clock) -> Running:
    if parameters.get("percentage", "100") != "100":
        raise ActionFailed("the chaos-sre lab runs aws:ec2:asg-insufficient-instance-capacity-error "
                           "at percentage 100 only")
    zones, holder = _zone_names(parameters["availabilityZoneIdentifiers"]), f"fis-{uuid.uuid4()}"
    scaling = hooks().service("autoscaling")
    for arn in resources:
        scaling.refuse_capacity(arn.rsplit("autoScalingGroupName/", 1)[-1], zones, holder)
    return Running(clock.ends(parameters["duration"]), lambda: scaling.allow_capacity(holder), resources)


def _autoshift(resources: list[str], parameters: Mapping[str, str],
               clock: Clock) -> Running:
    """A zonal autoshift (shift type FIS_EXPERIMENT) of each target resource with zonal autoshift
    enabled, away from the AZ, until the duration ends; resources without autoshift, or already
    shifted, are left alone - the action acts on autoshift-enabled resources only."""
    shifts = hooks().service("arczonalshift")
    zone = next(iter(_zone_names(parameters["availabilityZoneIdentifier"])))
    zone_id = next(zone_id for zone_id, name in zone_names_by_id().items() if name == zone)
    # FIS cancels the autoshift when the action ends; its expiry lies past that, so the end is
    # a cancel even when the lab's tick reaches the expiry first under load
    seconds = duration_seconds(parameters["duration"]) + 60
    started = [shifts.start(arn, zone_id, zone, seconds, "AWS FIS experiment", "FIS_EXPERIMENT")
               for arn in resources
               if shifts.autoshift.get(arn) == "ENABLED" and not shifts.active(arn)]

    def cancel() -> None:
        for shift in started:
            if shift.status == "ACTIVE":
                shifts.end(shift, "CANCELED")
    return Running(clock.ends(parameters["duration"]), cancel, [s.resource_identifier for s in started])


def _wait(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    return Running(clock.ends(parameters["duration"]))


def _automation(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    """The SSM document the action names, run with its parameters
    (:mod:`chaos_sre.lab.fis.automation`); the action ends when the execution does, fails when
    it fails, and is cancelled - its ``onCancel`` steps run - when the experiment stops or
    ``maxDuration`` passes."""
    name = parameters["documentArn"].rsplit("document/", 1)[-1]
    documents = moto_backend("ssm")._documents.get(name)
    if documents is None:
        raise ActionFailed(f"SSM document {name} does not exist in the account")
    execution = Execution(document_content(documents.get_default_version().content),
                          {k: str(v) for k, v in json.loads(parameters.get("documentParameters") or "{}").items()},
                          clock.api_url, clock.scaled)
    execution.start()
    return Running(clock.ends(parameters["maxDuration"]), execution.cancel, resources,
                   ended=lambda: execution.ended,
                   failure=lambda: "" if execution.status == SUCCESS else
                   f"the automation ended {execution.status}: {execution.failure}".rstrip(": "))


RUNNERS: dict[str, Callable[[list[str], Mapping[str, str], Clock], Running]] = {
    "aws:ec2:terminate-instances": _terminate, "aws:ec2:stop-instances": _stop,
    "aws:rds:failover-db-cluster": _failover_clusters, "aws:rds:reboot-db-instances": _reboot_instances,
    "aws:network:disrupt-connectivity": _disrupt, "aws:fis:wait": _wait,
    "aws:ec2:asg-insufficient-instance-capacity-error": _insufficient_capacity,
    "aws:arc:start-zonal-autoshift": _autoshift,
    "aws:ssm:start-automation-execution": _automation,
}


def start(action_id: str, resources: list[str], parameters: Mapping[str, Any], clock: Clock) -> Running:
    """Start ``action_id`` on ``resources`` now (``clock``)."""
    runner = RUNNERS.get(action_id)
    if runner is None:
        raise ActionFailed(f"the chaos-sre lab does not run {action_id} yet")
    return runner(resources, {k: str(v) for k, v in parameters.items()}, clock)
