"""What the mutating ARC zonal shift calls act on: the load balancer shifted, in the run ledger's
names (``MUTATED``), and as IAM sees them (``iam_requests``): on ``*``, with the condition key
``arc-zonal-shift:ResourceIdentifier`` set to the load balancer's ARN ("IAM and permissions for
zonal shift": policies scope these actions by that key, not by the ``Resource`` element,
https://docs.aws.amazon.com/r53recovery/latest/dg/security_iam_service-with-iam-zonal-shift.html)."""

from chaos_sre.lab.arczonalshift.simulation import lab_shifts
from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.mutations import UNKNOWN, Extractor, Params, one

RESOURCE_KEY = "arc-zonal-shift:ResourceIdentifier"


def _shifted_resource(params: Params) -> str:
    """The resource of the call: named (StartZonalShift) or the one of its shift (by id)."""
    named = one(params, "resourceIdentifier")
    if named:
        return named
    shift = lab_shifts().shifts.get(one(params, "zonalShiftId"))
    return "" if shift is None else str(shift.resource_identifier)


def _load_balancer_named(params: Params) -> list[str]:
    """``elbv2:NAME`` of the shifted load balancer (``...:loadbalancer/app/NAME/ID``)."""
    parts = _shifted_resource(params).split("/")
    return [f"elbv2:{parts[-2]}"] if len(parts) >= 3 else [UNKNOWN]


MUTATED: dict[str, Extractor] = {
    f"arc-zonal-shift:{action}": _load_balancer_named
    for action in ("StartZonalShift", "UpdateZonalShift", "CancelZonalShift")}


def iam_requests(action: str, params: Params, region: str,
                 resources: list[Resource]) -> list[Request] | None:
    """A zonal shift call is one request on ``*`` carrying the shifted resource's ARN."""
    if not action.startswith("arc-zonal-shift:"):
        return None
    return [Request(action, region, resources, context={RESOURCE_KEY: _shifted_resource(params)})]
