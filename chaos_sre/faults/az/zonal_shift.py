"""How a blackhole moves load balancers out of the AZ: an ARC zonal shift, AWS's own mechanism
for it ("Zonal shift in ARC", https://docs.aws.amazon.com/r53recovery/latest/dg/arc-zonal-shift.html).

A zonal shift is temporary: it expires by itself (``expiresIn``, at most 72 hours), so a run that
dies before its rollback leaves the load balancer shifted at most that long, where SetSubnets
would leave it without the AZ until someone notices. It changes no setting of the load balancer
(its subnets, listeners and every service behind it stay as they are): the AZ's node leaves DNS
and the other nodes stop routing to the AZ's targets, and cancelling the shift brings both back.
AWS shifts only load balancers registered with ARC (attribute ``zonal_shift.config.enabled``,
off by default) and one shift per load balancer at a time; a blackhole refuses, before any
change, a load balancer that is not registered or already shifted, naming the fix.
"""

from typing import Any

from chaos_sre.aws import call, paginate
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.faults.registry import PlannedCall
from chaos_sre.safety.ledger import Ledger

ZONAL_SHIFT, SET_SUBNETS = "zonal-shift", "set-subnets"
MOVES = (ZONAL_SHIFT, SET_SUBNETS)
"""How a blackhole moves a load balancer out of the AZ (``load_balancer_move``)."""
ATTRIBUTE = "zonal_shift.config.enabled"
RESOURCE_KEY = "arc-zonal-shift:ResourceIdentifier"
MAX_MINUTES = 72 * 60
"""The longest zonal shift ARC accepts (``expiresIn`` up to ``72h``)."""


def comment_of(run: str) -> str:
    """How the comment of a run's zonal shifts begins, by which its rollback finds them."""
    return f"chaos-sre run {run}:"


def zone_id(ec2: Any, az: str) -> str:
    """The AZ ID (``use1-az1``) of AZ name ``az``: zonal shifts name AZs by ID."""
    zones = call(ec2, "describe_availability_zones", ZoneNames=[az])["AvailabilityZones"]
    if not zones:
        raise ValidationError(f"{az} is not an Availability Zone of this Region")
    return str(zones[0]["ZoneId"])


def check_minutes(minutes: int) -> int:
    """``zonal_shift_minutes``, within what ARC accepts (the registry has made it a whole number)."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError(f"zonal_shift_minutes must be from 1 to {MAX_MINUTES} minutes (ARC's "
                              f"72 hours), got {minutes}")
    return minutes


def balancers_to_shift(elbv2: Any, arc: Any, balancers: list[dict[str, Any]],
                       subnet_ids: set[str]) -> list[dict[str, Any]]:
    """The load balancers with a node in the cut subnets, each registered with ARC and not shifted
    already; one that is not is refused with the change that makes it so (nothing changed yet)."""
    shifted = []
    for balancer in balancers:
        if not {z["SubnetId"] for z in balancer["AvailabilityZones"]} & subnet_ids:
            continue
        name, arn = balancer["LoadBalancerName"], balancer["LoadBalancerArn"]
        attributes = {a["Key"]: a["Value"] for a in call(
            elbv2, "describe_load_balancer_attributes", LoadBalancerArn=arn)["Attributes"]}
        if attributes.get(ATTRIBUTE, "false").lower() != "true":
            raise ValidationError(
                f"load balancer {name} is not registered for ARC zonal shift ({ATTRIBUTE} is "
                f"off): enable it (aws elbv2 modify-load-balancer-attributes --load-balancer-arn "
                f"{arn} --attributes Key={ATTRIBUTE},Value=true) so the blackhole moves its traffic "
                "with a zonal shift that expires by itself, or pass load_balancer_move "
                f"\"{SET_SUBNETS}\" to remove its subnet in the AZ instead")
        active = list(paginate(arc, "list_zonal_shifts", "items", resourceIdentifier=arn,
                               status="ACTIVE"))
        if active:
            shift = active[0]
            raise ValidationError(
                f"load balancer {name} is already shifted away from {shift['awayFrom']} (zonal "
                f"shift {shift['zonalShiftId']}: {shift.get('comment', '')!r}); ARC allows one "
                "shift per load balancer: wait until it ends or cancel it")
        shifted.append(balancer)
    return shifted


def start_zonal_shifts(arc: Any, ledger: Ledger, balancers: list[dict[str, Any]], away_from: str,
                       az: str, minutes: int) -> None:
    """Shift each load balancer's traffic away from AZ ID ``away_from`` for ``minutes``, each
    recorded first with the inverse that cancels the run's shifts of it (found by the run's
    comment, so a run killed before it recorded the shift's id still cancels it)."""
    run = ledger.path.stem
    for balancer in balancers:
        arn = balancer["LoadBalancerArn"]
        with ledger.mutation(f"elbv2:{balancer['LoadBalancerName']}", "start_zonal_shift", None,
                             {"op": "cancel_zonal_shifts", "load_balancer_arn": arn,
                              "run": run}) as mutation:
            try:
                shift = call(arc, "start_zonal_shift", resourceIdentifier=arn, awayFrom=away_from,
                             expiresIn=f"{minutes}m", comment=f"{comment_of(run)} blackhole {az}")
            except AWSError as error:
                ours = _started_by(arc, arn, run) if error.code == "ConflictException" else None
                if ours is None:
                    raise
                shift = ours
            mutation.applied()
            mutation.outcome = str(shift["zonalShiftId"])


def run_shifts(arc: Any, arn: str, run: str) -> list[dict[str, Any]]:
    """The active zonal shifts of ``arn`` that run ``run`` started (by their comment)."""
    return [s for s in paginate(arc, "list_zonal_shifts", "items", resourceIdentifier=arn,
                                status="ACTIVE") if str(s.get("comment", "")).startswith(comment_of(run))]


def _started_by(arc: Any, arn: str, run: str) -> dict[str, Any] | None:
    """The run's own active shift of ``arn``: a StartZonalShift whose answer was lost and that
    was sent again meets the shift it started (ConflictException), which is the run's to keep."""
    return next(iter(run_shifts(arc, arn, run)), None)


def shift_calls(balancers: list[dict[str, Any]]) -> list[PlannedCall]:
    """The calls a shift and its restore make: on ``*``, scoped by the load balancer's ARN in
    ``arc-zonal-shift:ResourceIdentifier`` ("IAM and permissions for zonal shift")."""
    return [PlannedCall(f"arc-zonal-shift:{action}", context={RESOURCE_KEY: b["LoadBalancerArn"]})
            for b in balancers for action in ("StartZonalShift", "CancelZonalShift")]
