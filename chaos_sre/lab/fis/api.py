"""The FIS operations moto lacks, answered by the lab (:mod:`chaos_sre.lab.core.own_apis`); moto
answers the rest. The safety lever ("Safety lever for AWS FIS"): one per account and Region, id
``default``; UpdateSafetyLeverState ``engaged`` (with a reason) stops every running experiment
and refuses new ones (ConflictException) until it is ``disengaged`` again."""

from collections.abc import Mapping
from typing import Any, cast

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.own_apis import ApiError, Handler, invalid, not_found
from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.core.wsgi import ApiRequest

BOTOCORE_SERVICE = "fis"
MOTO_ANSWERS_THE_REST = True
LEVER_ID = "default"
ENGAGED, DISENGAGED = "engaged", "disengaged"


def _lever(request: ApiRequest) -> Mapping[str, Any]:
    if str(request.params.get("id")) != LEVER_ID:
        raise not_found(f"Safety lever {request.params.get('id')!r} does not exist (the account's is "
                        f"{LEVER_ID!r}).")
    fis = moto_backend("fis")
    lever = cast(Any, hooks()).service("fis").lever
    return {"safetyLever": {"id": LEVER_ID,
                            "arn": f"arn:aws:fis:{fis.region_name}:{fis.account_id}:safety-lever/{LEVER_ID}",
                            "state": dict(lever)}}


def get_safety_lever(request: ApiRequest) -> Mapping[str, Any]:
    return _lever(request)


def update_safety_lever_state(request: ApiRequest) -> Mapping[str, Any]:
    _lever(request)
    state = request.params.get("state") or {}
    status, reason = str(state.get("status", "")), str(state.get("reason", ""))
    if status not in (ENGAGED, DISENGAGED) or not reason:
        raise invalid("state needs status engaged or disengaged, and a reason")
    simulation = cast(Any, hooks()).service("fis")
    if simulation.lever["status"] == status:
        raise ApiError(409, "ConflictException", f"The safety lever is already {status}.")
    simulation.set_lever(status, reason)
    return _lever(request)


OPERATIONS: Mapping[str, Handler] = {
    "GetSafetyLever": get_safety_lever,
    "UpdateSafetyLeverState": update_safety_lever_state,
}
