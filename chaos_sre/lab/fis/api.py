"""The FIS operations moto lacks, answered by the lab (:mod:`chaos_sre.lab.core.own_apis`); moto
answers the rest. ListActions lists the actions the lab runs (FIS lists every action of the
Region; an action the lab does not run is not listed, so ``chaos-sre fis run`` refuses it before it
starts anything). The safety lever ("Safety lever for AWS FIS"): one per account and Region, id
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


def list_actions(request: ApiRequest) -> Mapping[str, Any]:
    """The FIS actions of the lab's Region: those its simulation runs, with their targets as the
    action reference gives them."""
    from chaos_sre.fis.actions import ACTIONS
    from chaos_sre.lab.fis.actions import RUNNERS

    fis = moto_backend("fis")
    listed = []
    for action_id in sorted(RUNNERS):
        known = ACTIONS.get(action_id)
        targets = {} if known is None or known.target_key is None else {
            known.target_key: {"resourceType": known.resource_type}}
        listed.append({"id": action_id, "arn": f"arn:aws:fis:{fis.region_name}::action/{action_id}",
                       "description": f"{action_id}, as the chaos-sre lab runs it",
                       "targets": targets, "tags": {}})
    return {"actions": listed}


OPERATIONS: Mapping[str, Handler] = {
    "ListActions": list_actions,
    "GetSafetyLever": get_safety_lever,
    "UpdateSafetyLeverState": update_safety_lever_state,
}
