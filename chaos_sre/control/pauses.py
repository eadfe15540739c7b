"""Pauses in AWS seconds: an activity's ``pauses`` played at the lab's time scale.

Chaos Toolkit sleeps an activity's ``pauses.before`` and ``pauses.after`` as given, once the
activity controls have run. An experiment states them in AWS seconds like every other time
(chaos_sre.timescale), so before each activity the control puts the played length in their place
and, once the activity ended, puts back what the experiment said - also in the journal's record of
the activity, which keeps the experiment's own words.
"""

from typing import Any

from chaoslib import substitute

from chaos_sre import values
from chaos_sre.errors import ValidationError

_stated: dict[int, Any] = {}
"""The ``pauses`` each activity (by id) stated, while the played ones stand in their place."""


def play_pauses(activity: dict[str, Any], scale: float, configuration: dict[str, Any] | None,
                secrets: dict[str, Any] | None) -> None:
    """Put ``activity``'s pauses, played at ``scale``, in place of the AWS seconds it states."""
    stated = activity.get("pauses")
    if scale == 1 or not isinstance(stated, dict) or id(activity) in _stated:
        return
    resolved = substitute(dict(stated), configuration, secrets)
    played: dict[str, Any] = {}
    for moment, seconds in resolved.items():
        try:
            played[moment] = values.number(f"pauses.{moment}", seconds) * scale
        except ValidationError:
            played[moment] = seconds  # Chaos Toolkit's own validation says what is wrong
    _stated[id(activity)] = stated
    activity["pauses"] = played


def restore_pauses(activity: dict[str, Any], run: dict[str, Any] | None) -> None:
    """Put back the pauses ``activity`` stated, in it and in its journal ``run`` record."""
    stated = _stated.pop(id(activity), None)
    if stated is None:
        return
    activity["pauses"] = stated
    recorded = (run or {}).get("activity")
    if isinstance(recorded, dict) and "pauses" in recorded:
        recorded["pauses"] = stated
