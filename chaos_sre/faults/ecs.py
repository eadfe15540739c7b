"""ECS faults: scale a service down (to zero), then restore its count and its auto scaling exactly.

A service with Application Auto Scaling fights a desired-count change: its
scaling policies bring the count back into the scalable target's min/max. So
before it changes the count, `set_desired_count` writes the service's desired
count **and** the scalable target's min, max and suspended state to the run
ledger, then calls RegisterScalableTarget, which suspends dynamic and scheduled
scaling and widens min/max to include the new count (the count does not move:
it is inside the new range), and then UpdateService. In this order a refused
RegisterScalableTarget changes nothing, no policy evaluation can come between
the two calls, and a refused UpdateService leaves only the scalable target
changed, which the ledger restores. `restore_service` (or any
replay of the ledger) sets the count back, re-registers the scalable target
with exactly the recorded min, max and suspended state, and waits until the
service is stable (boto3 `services_stable`) and has as many healthy targets as
tasks. (chaostoolkit-aws's `update_desired_count` does not remember the count
it replaced.)
"""

import logging
import time
from typing import Annotated, Any

import pydantic

from chaos_sre.aws import aws_client, call, wait
from chaos_sre.aws.polling import poll_wall_seconds
from chaos_sre.errors import ValidationError
from chaos_sre.faults.ecs_fis import desired_count_in_fis
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Share, Target, fault
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import Inverse, Ledger, Operation, Settings, current_ledger, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.application_autoscaling import (
    ScalableTarget,
    may_register,
    register,
    registering,
    widened,
)
from chaos_sre.services.ecs import (
    DESIRED_COUNT,
    NAMESPACE,
    ServiceSettings,
    describe_service,
    managed_scaling_groups,
    resource_id,
    scalable_target,
    settings_of,
    tags_of,
    wait_healthy,
)
from chaos_sre.timescale import aws_seconds, wall_seconds
from chaos_sre.values import PositiveSeconds

__all__ = ["restore_service", "scale_service_to_zero", "set_desired_count"]

logger = logging.getLogger("chaostoolkit")
DEFAULT_RESTORE_TIMEOUT_SECONDS = 900.0
RESTORE_OP = "restore_ecs_service"
SCALES_SERVICE = fault(
    reads=[Permission("ecs:DescribeServices"), Permission("ecs:DescribeClusters"),
           Permission("ecs:DescribeCapacityProviders"),
           Permission("application-autoscaling:DescribeScalableTargets"),
           Permission("elasticloadbalancing:DescribeTargetHealth")],
    permissions=[Permission("ecs:UpdateService", "arn:aws:ecs:*:*:service/*/*", targets=True),
                 may_register(NAMESPACE, DESIRED_COUNT)],
    inverses=[RESTORE_OP],
    effects=["set-desired-count"],
    fis=desired_count_in_fis,
)
"""The declaration both ECS faults share (they change the same things)."""
MAX_DESIRED_COUNT = 5000
DesiredCount = Annotated[int, pydantic.Field(ge=0, le=MAX_DESIRED_COUNT)]


def _register(scaling: Any, cluster: str, service: str, target: ScalableTarget) -> None:
    register(scaling, NAMESPACE, resource_id(cluster, service), DESIRED_COUNT, target)


@SCALES_SERVICE
def set_desired_count(
    cluster: str,
    service: str,
    desired_count: DesiredCount,
    restore_timeout_seconds: PositiveSeconds = DEFAULT_RESTORE_TIMEOUT_SECONDS,
    allow_capacity_scale_in: bool = False,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Set an ECS service's desired count, keeping Application Auto Scaling from undoing it.

    The previous desired count and the scalable target's min, max and
    suspended state go to the run ledger first. When the service has a
    scalable target, its min/max are widened to include `desired_count` and its
    dynamic and scheduled scaling suspended first (RegisterScalableTarget);
    then UpdateService sets the count. A refused first call changes nothing.
    `restore_service` puts everything back and waits (up to
    `restore_timeout_seconds`) for the service to be stable and healthy. A
    service on an EC2 capacity provider with managed scaling is refused when the
    count goes down, unless `allow_capacity_scale_in` is true: managed scaling
    shrinks the provider's Auto Scaling group with the tasks (terminating
    instances), and the restore must then wait for instances to launch. With
    `dry_run` the plan is printed and nothing changes. Returns the settings
    before and after (and the managed capacity providers, when allowed).
    """
    return _desired_count_plan(cluster, service, desired_count, restore_timeout_seconds,
                               allow_capacity_scale_in, configuration, secrets)


def _desired_count_plan(cluster: str, service: str, count: int, timeout: float,
                        allow_capacity_scale_in: bool, configuration: dict[str, Any] | None,
                        secrets: dict[str, Any] | None) -> Plan:
    ecs = aws_client("ecs", configuration, secrets)
    scaling = aws_client("application-autoscaling", configuration, secrets)
    description = describe_service(ecs, cluster, service)
    if description.get("schedulingStrategy") == "DAEMON":
        raise ValidationError(
            f"ECS service {service} in cluster {cluster} uses the DAEMON scheduling strategy: it "
            "runs one task per container instance and has no desired count to change (AWS refuses "
            "one); take its container instances instead")
    controller = str((description.get("deploymentController") or {}).get("type") or "ECS")
    if controller != "ECS":
        raise ValidationError(
            f"ECS service {service} in cluster {cluster} uses the {controller} deployment "
            "controller: its tasks run in task sets and DescribeServices lists no deployment for "
            "it, so the restore could not tell when the service is stable again (boto3's "
            "services_stable never holds for it); take its tasks' capacity some other way")
    current_count = int(description["desiredCount"])
    target = scalable_target(scaling, cluster, service)
    before = ServiceSettings(desired_count=current_count, scalable_target=target)
    if current_count == count:
        raise ValidationError(f"ECS service {service} in cluster {cluster} already has desired "
                              f"count {count}: nothing would change")
    stretched = None if target is None else widened(target, count)
    after = ServiceSettings(desired_count=count, scalable_target=stretched)
    summary = {"cluster": cluster, "service": service, "before": before, "after": after}
    managed = managed_scaling_groups(ecs, cluster, description) if count < current_count else {}
    if managed and not allow_capacity_scale_in:
        providers = ", ".join(f"{name} (Auto Scaling group {arn.rsplit('/', 1)[-1]})"
                              for name, arn in sorted(managed.items()))
        raise ValidationError(
            f"ECS service {service} in cluster {cluster} runs on EC2 capacity provider {providers} "
            "with managed scaling, which terminates the group's instances as the tasks go and makes "
            "the restore wait for new ones: set allow_capacity_scale_in to accept that")
    if managed:
        summary["managed_capacity_providers"] = managed

    def apply(ledger: Ledger) -> None:
        with ledger.mutation(f"ecs:service/{cluster}/{service}", "set-desired-count", before,
                             {"op": RESTORE_OP, "cluster": cluster, "service": service,
                              "settings": before, "timeout_seconds": timeout}) as mutation:
            # The scalable target first: its minimum lowered to the new count (so AWS does not
            # move the count back into min/max) and dynamic scaling suspended, before the count
            # changes - a refusal of either first call leaves nothing changed.
            if stretched is not None:
                _register(scaling, cluster, service, stretched)
                mutation.applied()
            call(ecs, "update_service", cluster=cluster, service=service, desiredCount=count)
            mutation.applied()
            mutation.outcome = after
            if stretched is not None:
                _hold_the_count(ecs, cluster, service, count)
        logger.info(f"chaos-sre: ECS service {cluster}/{service} desired count "
                    f"{current_count} -> {count}"
                    + ("" if stretched is None or target is None else
                       f"; auto scaling suspended, min/max {target['min']}-{target['max']} -> "
                       f"{stretched['min']}-{stretched['max']}"))

    calls = [PlannedCall("ecs:UpdateService", str(description["serviceArn"]), tags_of(description))]
    if target is not None:
        calls.append(registering(NAMESPACE, DESIRED_COUNT))
    return Plan(targets=[Target(f"ecs:service/{cluster}/{service}", tags_of(description))],
                shares=[Share(f"ECS service {cluster}/{service}",
                              max(0, current_count - count), current_count)],
                summary=summary, apply=apply, calls=calls,
                action=f"set ECS service {cluster}/{service} from {before} to {after}")


def _hold_the_count(ecs: Any, cluster: str, service: str, count: int) -> None:
    """Set the count again if Application Auto Scaling moved it back into the old min/max while
    RegisterScalableTarget was on its way (a scaling policy evaluated in between: a retried call
    makes that window seconds long); with the minimum lowered and scaling suspended it stays."""
    moved = int(describe_service(ecs, cluster, service)["desiredCount"])
    if moved != count:
        logger.warning(f"chaos-sre: Application Auto Scaling moved ECS service {cluster}/{service} "
                       f"back to {moved} before its minimum was lowered: setting {count} again")
        call(ecs, "update_service", cluster=cluster, service=service, desiredCount=count)


@SCALES_SERVICE
def scale_service_to_zero(
    cluster: str,
    service: str,
    restore_timeout_seconds: PositiveSeconds = DEFAULT_RESTORE_TIMEOUT_SECONDS,
    allow_capacity_scale_in: bool = False,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Scale an ECS service to zero tasks (`set_desired_count` with 0; auto scaling suspended;
    a service on an EC2 capacity provider with managed scaling only with
    `allow_capacity_scale_in`)."""
    return _desired_count_plan(cluster, service, 0, restore_timeout_seconds,
                               allow_capacity_scale_in, configuration, secrets)


@requires()  # its inverses use the permissions their faults declare
def restore_service(configuration: dict[str, Any] | None = None,
                    secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """`restore_run` (undo everything this run changed), timing the ECS services' recovery.

    ECS services get their count and scaling back and are waited for until
    stable and healthy. Returns what was restored and, when an ECS service was among it,
    `restore_to_healthy_seconds`: from the first restoring call until every
    restored service was stable with all its targets healthy (AWS seconds). The chaos-sre
    control reports it in the verdict and compares it with its
    `restore_rto_seconds`.
    """
    restores_ecs = any(e["inverse"].get("op") == RESTORE_OP for e in current_ledger().pending())
    started = time.monotonic()
    restored = restore_run(configuration, secrets)
    result: dict[str, Any] = {"restored": restored}
    if restores_ecs:
        result["restore_to_healthy_seconds"] = round(aws_seconds(time.monotonic() - started), 3)
    return result


class RestoreEcsService(Inverse):
    """An ECS service's desired count and scalable target, exactly as they were."""

    cluster: str
    service: str
    settings: dict[str, Any]
    timeout_seconds: float = DEFAULT_RESTORE_TIMEOUT_SECONDS


@inverse(RESTORE_OP, RestoreEcsService)
def _restore_ecs_service(op: RestoreEcsService, configuration: Settings, secrets: Settings) -> str:
    ecs = aws_client("ecs", configuration, secrets)
    scaling = aws_client("application-autoscaling", configuration, secrets)
    cluster, service, wanted = op.cluster, op.service, op.settings
    timeout = wall_seconds(op.timeout_seconds)
    current = settings_of(ecs, scaling, cluster, service)
    if current["desired_count"] != wanted["desired_count"]:
        call(ecs, "update_service", cluster=cluster, service=service,
             desiredCount=wanted["desired_count"])
    target = wanted["scalable_target"]
    if target is not None and current["scalable_target"] != target:
        _register(scaling, cluster, service, target)
    elif target is None and current["scalable_target"] is not None:
        logger.warning(f"chaos-sre: ECS service {cluster}/{service} has a scalable target it did "
                       "not have before the run; it is left as it is")
    deadline = time.monotonic() + timeout
    wait(ecs, "services_stable", timeout_seconds=timeout, poll_seconds=poll_wall_seconds("ecs"),
         cluster=cluster, services=[service])
    healthy = wait_healthy(ecs, aws_client("elbv2", configuration, secrets), cluster, service,
                           timeout_seconds=max(1.0, deadline - time.monotonic()),
                           poll_seconds=poll_wall_seconds("ecs"))
    scaling_note = "" if target is None else (
        f", auto scaling {target['min']}-{target['max']}"
        + (" (suspended as before)" if any(target["suspended"].values()) else ""))
    return (f"ECS service {cluster}/{service} restored to desired count "
            f"{wanted['desired_count']}{scaling_note}; stable with {healthy} healthy targets")


@effect_check("set-desired-count")
def _tasks_at_the_count(intent: Operation, outcome: Any, configuration: Settings,
                        secrets: Settings) -> str | None:
    """The service still has the desired count the fault set, and runs no more tasks than it."""
    cluster, service = str(intent["resource"]).split("/", 2)[1:]
    if not isinstance(outcome, dict) or "desired_count" not in outcome:
        return "the run ledger does not say which desired count the fault set"
    count = int(outcome["desired_count"])
    description = describe_service(aws_client("ecs", configuration, secrets), cluster, service)
    if int(description["desiredCount"]) != count:
        return (f"its desired count is {description['desiredCount']} again, not the {count} the "
                "fault set: something (a scaler, a deployment) put it back")
    if int(description["runningCount"]) > count:
        return (f"{description['runningCount']} tasks still run, more than the {count} the fault "
                "set: the hold ended before the service lost them")
    return None
