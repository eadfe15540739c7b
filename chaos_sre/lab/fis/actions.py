"""What the lab's FIS does for each action it runs - as FIS does it ("AWS FIS Actions reference"):

* ``aws:ec2:terminate-instances``: TerminateInstances of the target's instances; completes then.
* ``aws:ec2:stop-instances``: StopInstances; with ``startInstancesAfterDuration``, StartInstances
  of those still stopped when it has passed (or when the experiment stops), and completes then.
* ``aws:rds:failover-db-cluster``: FailoverDBCluster of each cluster (RDS picks the reader).
* ``aws:rds:reboot-db-instances``: RebootDBInstance, with ``forceFailover``.
* ``aws:network:disrupt-connectivity`` with scope ``all``: a network ACL denying all traffic,
  tagged ``managedByFIS``, in each target subnet's VPC, associated with the subnets
  (ReplaceNetworkAclAssociation, retried while the new ACL is not yet found - EC2's eventual
  consistency) for ``duration``; then each subnet's ACL is given back and the new ACL deleted
  (also when the experiment stops, and for what was done when a call fails half-way).
* ``aws:ec2:asg-insufficient-instance-capacity-error``: the target groups' launches in the
  ``availabilityZoneIdentifiers`` fail with InsufficientInstanceCapacity for ``duration``, so
  they launch in their other AZs (``percentage`` 100 only);
* ``aws:arc:start-zonal-autoshift``: a zonal autoshift (``FIS_EXPERIMENT``) of each target
  resource that has zonal autoshift enabled, away from the AZ, for ``duration``; then cancelled;
* ``aws:s3:bucket-pause-replication``: the target buckets' replication paused (to
  ``destinationBuckets``, for rules with ``prefixes``; all when not given) for ``duration``:
  objects written meanwhile wait, and replicate once it ends
  (:mod:`chaos_sre.lab.s3.replication`);
* ``aws:lambda:invocation-error``, ``aws:lambda:invocation-add-delay``: for each target function,
  its extension configuration checked (``AWS_FIS_CONFIGURATION_LOCATION``, the wrapper: else the
  action fails), the fault written to that S3 location (PutObject, as the experiment's role) and
  played by the function's extension from its next poll until ``duration`` ends; then the object
  is deleted (:mod:`chaos_sre.lab.awslambda.injected`);
* ``aws:ssm:start-automation-execution``: the SSM document run with its parameters
  (:mod:`chaos_sre.lab.fis.automation`) until it ends, at most ``maxDuration``; cancelled (its
  ``onCancel`` steps run) when the experiment stops;
* ``aws:fis:wait``: nothing, for ``duration``.

The EC2, RDS and network actions call the lab's AWS API with the experiment's role, from a
thread of their own (:mod:`chaos_sre.lab.fis.caller`): their calls are counted, logged and rate
limited like any caller's, and the action ends when its calls have. The capacity error, the
autoshift and the replication pause have no public API (FIS injects them on AWS's side): they
act on the lab's models.
Any other action fails with a reason that names it (the lab does not run it yet), and so does
the experiment. Durations are AWS seconds played at the lab's time scale.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import botocore.exceptions

from chaos_sre.errors import ValidationError
from chaos_sre.fis.actions import duration_seconds
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.ec2.zones import zone_names_by_id
from chaos_sre.lab.fis.automation import SUCCESS, Execution, document_content

BATCH = 1000
"""Instance IDs per EC2 call (TerminateInstances, StopInstances: "up to 1000 instance IDs")."""
ACL_NOT_FOUND = "InvalidNetworkAclID.NotFound"
ACL_RETRY_AWS_SECONDS = 0.5
ACL_RETRIES = 40
"""A new ACL is retried every half AWS second, for at most 20 AWS seconds."""
CALL_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ValidationError)
"""How a call of FIS fails: AWS's answer, no answer, or a role policy the lab cannot evaluate."""


class ActionFailed(Exception):
    """An action the lab's FIS could not run (its state's reason)."""


@dataclass(frozen=True)
class Clock:
    """When things happen for an action started now: the lab's clock and its AWS API."""

    now: float
    scaled: Callable[[float], float]
    """Wall seconds for AWS seconds (the lab's time scale)."""
    api_url: str
    clients: Callable[[str, str], Any] = lambda service, account: None
    """A client of a service acting in an account as the experiment's role there."""

    def client(self, service: str, resources: list[str]) -> Any:
        """A client of ``service`` in the account of ``resources`` (a multi-account experiment
        acts in its target account); one action's resources are of one account."""
        accounts = {arn.split(":")[4] for arn in resources}
        if len(accounts) != 1:
            raise ActionFailed(f"the chaos-sre lab runs one action in one account, not in {sorted(accounts)}")
        return self.clients(service, accounts.pop())

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
    holds_until: float | None = None
    """For an action calling APIs from its thread with a duration: when (monotonic seconds) its
    thread starts giving back what it changed."""


def _ids(arns: list[str]) -> list[str]:
    return [arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for arn in arns]


def _in_thread(resources: list[str], act: Callable[[list[Callable[[], None]]], None],
               hold: float | None = None) -> Running:
    """An action whose calls ``act`` makes in a thread of their own, adding to its list what
    undoes each change as it is made; after ``hold`` wall seconds (None: at once) or when the
    experiment stops, what was done is undone, newest first. A failed call fails the action,
    and what was done before it is undone."""
    cancel, done = threading.Event(), threading.Event()
    failures: list[str] = []
    deadline = None if hold is None else time.monotonic() + hold

    def work() -> None:
        undo: list[Callable[[], None]] = []
        try:
            act(undo)
            if deadline is not None and not failures:
                cancel.wait(max(0.0, deadline - time.monotonic()))
        except (*CALL_ERRORS, ActionFailed, KeyError, ValueError) as exc:
            failures.append(str(exc))
        try:
            for step in reversed(undo):
                step()
        except CALL_ERRORS as exc:
            failures.append(f"Ending the action failed: {exc}")
        finally:
            done.set()
    threading.Thread(target=work, name="lab-fis-action", daemon=True).start()
    return Running(None, cancel.set, resources, ended=done.is_set, failure=lambda: "; ".join(failures),
                   holds_until=deadline)


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


def _terminate(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    def act(undo: list[Callable[[], None]]) -> None:
        if resources:
            ec2 = clock.client("ec2", resources)
            for batch in _batches(_ids(resources)):
                ec2.terminate_instances(InstanceIds=batch)
    return _in_thread(resources, act)


def _stop(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    after = parameters.get("startInstancesAfterDuration")

    def act(undo: list[Callable[[], None]]) -> None:
        if not resources:
            return
        ec2, ids = clock.client("ec2", resources), _ids(resources)
        for batch in _batches(ids):
            ec2.stop_instances(InstanceIds=batch)
        if after:
            undo.append(lambda: _start_stopped(ec2, ids))
    return _in_thread(resources, act, clock.scaled(duration_seconds(after)) if after else None)


def _start_stopped(ec2: Any, ids: list[str]) -> None:
    """StartInstances of those of ``ids`` that are stopped."""
    stopped = [instance["InstanceId"] for page in ec2.get_paginator("describe_instances").paginate(
        InstanceIds=ids) for reservation in page["Reservations"] for instance in reservation["Instances"]
        if instance["State"]["Name"] == "stopped"]
    for batch in _batches(stopped):
        ec2.start_instances(InstanceIds=batch)


def _failover_clusters(resources: list[str], parameters: Mapping[str, str],
                       clock: Clock) -> Running:
    def act(undo: list[Callable[[], None]]) -> None:
        if not resources:
            return
        rds = clock.client("rds", resources)
        for identifier in _ids(resources):
            rds.failover_db_cluster(DBClusterIdentifier=identifier)
    return _in_thread(resources, act)


def _reboot_instances(resources: list[str], parameters: Mapping[str, str],
                      clock: Clock) -> Running:
    failover = parameters.get("forceFailover", "false") == "true"

    def act(undo: list[Callable[[], None]]) -> None:
        if not resources:
            return
        rds = clock.client("rds", resources)
        for identifier in _ids(resources):
            rds.reboot_db_instance(DBInstanceIdentifier=identifier, ForceFailover=failover)
    return _in_thread(resources, act)


def _disrupt(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    scope = parameters.get("scope", "all")
    if scope != "all":
        raise ActionFailed(f"the chaos-sre lab runs aws:network:disrupt-connectivity with scope "
                           f"all only, not {scope}")
    subnets = sorted(set(_ids(resources)))
    retry_wait = clock.scaled(ACL_RETRY_AWS_SECONDS)

    def act(undo: list[Callable[[], None]]) -> None:
        if not subnets:
            return
        ec2 = clock.client("ec2", resources)
        vpcs = sorted({s["VpcId"] for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]})
        for vpc_id in vpcs:
            cut = [(association["NetworkAclAssociationId"], acl["NetworkAclId"])
                   for page in ec2.get_paginator("describe_network_acls").paginate(Filters=[
                       {"Name": "vpc-id", "Values": [vpc_id]},
                       {"Name": "association.subnet-id", "Values": subnets}])
                   for acl in page["NetworkAcls"] for association in acl.get("Associations") or []
                   if association.get("SubnetId") in subnets]
            acl_id = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=[{
                "ResourceType": "network-acl", "Tags": [{"Key": "managedByFIS", "Value": "true"}]}],
            )["NetworkAcl"]["NetworkAclId"]
            undo.append(partial(ec2.delete_network_acl, NetworkAclId=acl_id))
            for association_id, previous in cut:
                new = _replace_association(ec2, association_id, acl_id, retry_wait)
                undo.append(partial(ec2.replace_network_acl_association, AssociationId=new,
                                    NetworkAclId=previous))
    return _in_thread(resources, act, clock.scaled(duration_seconds(parameters["duration"])))


def _replace_association(ec2: Any, association_id: str, acl_id: str, retry_wait: float) -> str:
    """ReplaceNetworkAclAssociation to a new ACL, retried while EC2 does not find it yet."""
    for attempt in range(ACL_RETRIES):
        try:
            return str(ec2.replace_network_acl_association(
                AssociationId=association_id, NetworkAclId=acl_id)["NewAssociationId"])
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != ACL_NOT_FOUND or attempt == ACL_RETRIES - 1:
                raise
            time.sleep(retry_wait)
    raise ActionFailed(f"network ACL {acl_id} was never found")


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


def _pause_replication(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
    """Each target bucket's replication paused for the duration (the rules to
    ``destinationBuckets`` with ``prefixes``, comma-separated; every rule when not given)."""
    from chaos_sre.lab.s3.replication import Pause

    replication = hooks().service("s3").replication
    holder = f"fis-{uuid.uuid4()}"
    pause = Pause(holder, frozenset(_listed(parameters.get("destinationBuckets"))),
                  frozenset(_listed(parameters.get("prefixes"))))
    buckets = [arn.rsplit(":", 1)[-1] for arn in resources]
    for bucket in buckets:
        replication.pause(bucket, pause)

    def resume() -> None:
        for bucket in buckets:
            replication.resume(bucket, holder)
    return Running(clock.ends(parameters["duration"]), resume, resources)


def _invocation_faults(error: bool) -> Callable[[list[str], Mapping[str, str], Clock], Running]:
    """``aws:lambda:invocation-error`` (``error``) or ``-add-delay`` on each target function."""
    def run(resources: list[str], parameters: Mapping[str, str], clock: Clock) -> Running:
        from chaos_sre.lab.awslambda.injected import InjectedFault, next_poll
        from chaos_sre.services.awslambda import FIS_LOCATION_VARIABLE, FIS_WRAPPER, FIS_WRAPPER_VARIABLE

        functions = hooks().service("lambda")
        holder = f"fis-{uuid.uuid4()}"
        fault = InjectedFault(
            holder, error, float(parameters.get("invocationPercentage", "100")),
            float(parameters.get("startupDelayMilliseconds", "1000")) / 1000.0 if not error else 0.0,
            parameters.get("preventExecution", "false").lower() == "true",
            next_poll(functions.aws_now()))
        names = [arn.rsplit(":function:", 1)[-1].split(":", 1)[0] for arn in resources]

        def act(undo: list[Callable[[], None]]) -> None:
            s3 = clock.client("s3", resources)
            for name in names:
                variables = dict(moto_backend("lambda").get_function(name).environment_vars or {})
                location = str(variables.get(FIS_LOCATION_VARIABLE, ""))
                if not location.startswith("arn:aws:s3:::") or variables.get(FIS_WRAPPER_VARIABLE) != FIS_WRAPPER:
                    raise ActionFailed(f"function {name}: invalid value for the required environment "
                                       f"variable {FIS_LOCATION_VARIABLE} "
                                       f"(or {FIS_WRAPPER_VARIABLE} is not {FIS_WRAPPER})")
                bucket, _, prefix = location.removeprefix("arn:aws:s3:::").partition("/")
                key = f"{prefix}{name}-{holder}.json"
                s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({
                    "error": error, "percentage": fault.percentage, "delaySeconds": fault.delay_seconds,
                    "preventExecution": fault.prevent_execution}).encode())
                functions.inject(name, fault)
                undo.append(partial(_end_invocation_fault, s3, bucket, key, functions, name, holder))
        return _in_thread(resources, act, hold=clock.scaled(duration_seconds(parameters["duration"])))
    return run


def _end_invocation_fault(s3: Any, bucket: str, key: str, functions: Any, name: str, holder: str) -> None:
    functions.clear(name, holder)
    s3.delete_object(Bucket=bucket, Key=key)


def _listed(text: str | None) -> list[str]:
    return [part.strip().rsplit(":", 1)[-1] for part in (text or "").split(",") if part.strip()]


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
    "aws:s3:bucket-pause-replication": _pause_replication,
    "aws:lambda:invocation-error": _invocation_faults(error=True),
    "aws:lambda:invocation-add-delay": _invocation_faults(error=False),
    "aws:ssm:start-automation-execution": _automation,
}


def start(action_id: str, resources: list[str], parameters: Mapping[str, Any], clock: Clock) -> Running:
    """Start ``action_id`` on ``resources`` now (``clock``)."""
    runner = RUNNERS.get(action_id)
    if runner is None:
        raise ActionFailed(f"the chaos-sre lab does not run {action_id} yet")
    return runner(resources, {k: str(v) for k, v in parameters.items()}, clock)
