"""The ARC zonal shift API the lab answers (moto has none; :mod:`chaos_sre.lab.core.own_apis`):
StartZonalShift, UpdateZonalShift, CancelZonalShift, ListZonalShifts, GetManagedResource, and
zonal autoshift's Create/DeletePracticeRunConfiguration and UpdateZonalAutoshiftConfiguration,
with the refusals the ARC API Reference documents (:mod:`chaos_sre.lab.arczonalshift.simulation`)."""

import re
from collections.abc import Mapping
from typing import Any

from chaos_sre.lab.arczonalshift.simulation import ACTIVE, CANCELED, ZonalShift, lab_shifts
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.own_apis import ApiError, Handler, conflict, invalid, not_found
from chaos_sre.lab.core.wsgi import ApiRequest
from chaos_sre.lab.ec2.zones import zone_names_by_id

BOTOCORE_SERVICE = "arc-zonal-shift"
ENABLED_ATTRIBUTE = "zonal_shift.config.enabled"
EXPIRES_IN = re.compile(r"([1-9][0-9]*)(m|h)")
MAX_EXPIRES_SECONDS = 72 * 3600.0
MAX_COMMENT = 128
UNIT_SECONDS = {"m": 60.0, "h": 3600.0}
ENABLED, DISABLED = "ENABLED", "DISABLED"


def _text(request: ApiRequest, member: str) -> str:
    value = request.params.get(member)
    return "" if value is None else str(value)


def _managed(arn: str) -> Any:
    """The load balancer ``arn`` if ARC manages it (its zonal shift attribute is on)."""
    balancer = moto_backend("elbv2").load_balancers.get(arn)
    if balancer is None or str(balancer.attrs.get(ENABLED_ATTRIBUTE, "false")).lower() != "true":
        raise not_found(f"The resource {arn} is not a managed resource: enable zonal shift on it "
                        f"(load balancer attribute {ENABLED_ATTRIBUTE}).")
    return balancer


def _balancer_zones(balancer: Any) -> dict[str, str]:
    """AZ ID -> name of the AZs the load balancer is in."""
    names = {s.availability_zone for s in balancer.subnets}
    return {zone_id: name for zone_id, name in zone_names_by_id().items() if name in names}


def _expires_seconds(text: str) -> float:
    found = EXPIRES_IN.fullmatch(text)
    seconds = int(found.group(1)) * UNIT_SECONDS[found.group(2)] if found else 0.0
    if not found or seconds > MAX_EXPIRES_SECONDS:
        raise invalid(f"expiresIn {text!r} is not a duration from 1 minute (1m) to 72 hours (72h)",
                      "InvalidExpiresIn")
    return seconds


def _comment(text: str) -> str:
    if len(text) > MAX_COMMENT:
        raise invalid(f"comment is longer than {MAX_COMMENT} characters")
    return text


def _shift(request: ApiRequest) -> ZonalShift:
    found = lab_shifts().shifts.get(_text(request, "zonalShiftId"))
    if found is None:
        raise not_found(f"No zonal shift {_text(request, 'zonalShiftId')!r} in this account and Region.")
    return found


def _active(shift: ZonalShift) -> ZonalShift:
    if shift.status != ACTIVE:
        raise conflict(f"Zonal shift {shift.zonal_shift_id} is {shift.status}, not ACTIVE.",
                       "ZonalShiftStatusNotActive")
    return shift


def start_zonal_shift(request: ApiRequest) -> Mapping[str, Any]:
    arn = _text(request, "resourceIdentifier")
    balancer = _managed(arn)
    away_from = _text(request, "awayFrom")
    zones = _balancer_zones(balancer)
    if away_from not in zones:
        raise invalid(f"awayFrom {away_from!r} is not an Availability Zone ID of {arn} "
                      f"({', '.join(sorted(zones))})", "InvalidAz")
    seconds = _expires_seconds(_text(request, "expiresIn"))
    comment = _comment(_text(request, "comment"))
    active = lab_shifts().active(arn)
    if active:
        other = active[0]
        raise conflict(f"{arn} already has an active zonal shift away from {other.away_from} "
                       f"({other.zonal_shift_id}).", "ZonalShiftAlreadyExists"
                       if other.away_from == away_from else "SimultaneousZonalShiftsConflict")
    return lab_shifts().start(arn, away_from, zones[away_from], seconds, comment).output()


def update_zonal_shift(request: ApiRequest) -> Mapping[str, Any]:
    shift = _active(_shift(request))
    if request.params.get("expiresIn") is not None:
        lab_shifts().extend(shift, _expires_seconds(_text(request, "expiresIn")))
    if request.params.get("comment") is not None:
        shift.comment = _comment(_text(request, "comment"))
    return shift.output()


def cancel_zonal_shift(request: ApiRequest) -> Mapping[str, Any]:
    shift = _active(_shift(request))
    lab_shifts().end(shift, CANCELED)
    return shift.output()


def list_zonal_shifts(request: ApiRequest) -> Mapping[str, Any]:
    """Shifts of the account (ACTIVE unless ``status`` says otherwise), one page."""
    status = _text(request, "status") or ACTIVE
    resource = _text(request, "resourceIdentifier")
    items = [{**s.output(), "shiftType": s.shift_type} for s in lab_shifts().shifts.values()
             if s.status == status and (not resource or s.resource_identifier == resource)]
    return {"items": items}


def get_managed_resource(request: ApiRequest) -> Mapping[str, Any]:
    """A managed load balancer: its AZs' weights (0 for the AZ an active shift moves it from)."""
    arn = _text(request, "resourceIdentifier")
    balancer = _managed(arn)
    shifts = lab_shifts().active(arn)
    away = {s.away_from for s in shifts}
    return {"arn": arn, "name": balancer.name,
            "appliedWeights": {zone_id: 0.0 if zone_id in away else 1.0
                               for zone_id in _balancer_zones(balancer)},
            "zonalShifts": [{**{k: v for k, v in s.output().items() if k != "status"},
                             "appliedStatus": "APPLIED", "shiftType": s.shift_type} for s in shifts],
            "autoshifts": [], **_autoshift_members(arn)}


def _autoshift_members(arn: str) -> dict[str, Any]:
    shifts = lab_shifts()
    members: dict[str, Any] = {"zonalAutoshiftStatus": shifts.autoshift.get(arn, DISABLED)}
    if arn in shifts.practice_runs:
        members["practiceRunConfiguration"] = shifts.practice_runs[arn]
    return members


def create_practice_run_configuration(request: ApiRequest) -> Mapping[str, Any]:
    """A practice run configuration: its outcome alarms (required), blocking alarms, windows."""
    arn = _text(request, "resourceIdentifier")
    balancer = _managed(arn)
    if arn in lab_shifts().practice_runs:
        raise conflict(f"{arn} already has a practice run configuration.",
                       "PracticeConfigurationAlreadyExists")
    outcome = request.params.get("outcomeAlarms")
    if not outcome:
        raise invalid("outcomeAlarms is required: the alarms that tell a practice run failed")
    lab_shifts().practice_runs[arn] = {
        "outcomeAlarms": list(outcome), "blockingAlarms": list(request.params.get("blockingAlarms") or []),
        "blockedWindows": list(request.params.get("blockedWindows") or []),
        "blockedDates": list(request.params.get("blockedDates") or [])}
    return {"arn": arn, "name": balancer.name, **_autoshift_members(arn)}


def update_zonal_autoshift_configuration(request: ApiRequest) -> Mapping[str, Any]:
    """Zonal autoshift ENABLED or DISABLED; enabling needs a practice run configuration."""
    arn = _text(request, "resourceIdentifier")
    _managed(arn)
    status = _text(request, "zonalAutoshiftStatus")
    if status not in (ENABLED, DISABLED):
        raise invalid(f"zonalAutoshiftStatus must be ENABLED or DISABLED, not {status!r}")
    if status == ENABLED and arn not in lab_shifts().practice_runs:
        raise invalid(f"{arn} has no practice run configuration: zonal autoshift requires practice "
                      "runs (CreatePracticeRunConfiguration)", "MissingPracticeConfiguration")
    lab_shifts().autoshift[arn] = status
    return {"resourceIdentifier": arn, "zonalAutoshiftStatus": status}


def delete_practice_run_configuration(request: ApiRequest) -> Mapping[str, Any]:
    arn = _text(request, "resourceIdentifier")
    balancer = _managed(arn)
    if lab_shifts().autoshift.get(arn) == ENABLED:
        raise conflict(f"{arn} has zonal autoshift enabled, which needs its practice runs; disable "
                       "zonal autoshift first.", "ZonalAutoshiftActive")
    if lab_shifts().practice_runs.pop(arn, None) is None:
        raise not_found(f"{arn} has no practice run configuration.")
    return {"arn": arn, "name": balancer.name, "zonalAutoshiftStatus": DISABLED}


OPERATIONS: Mapping[str, Handler] = {
    "StartZonalShift": start_zonal_shift,
    "UpdateZonalShift": update_zonal_shift,
    "CancelZonalShift": cancel_zonal_shift,
    "ListZonalShifts": list_zonal_shifts,
    "GetManagedResource": get_managed_resource,
    "CreatePracticeRunConfiguration": create_practice_run_configuration,
    "UpdateZonalAutoshiftConfiguration": update_zonal_autoshift_configuration,
    "DeletePracticeRunConfiguration": delete_practice_run_configuration,
}
__all__ = ["OPERATIONS", "ApiError"]
