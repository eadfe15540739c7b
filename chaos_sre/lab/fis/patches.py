"""moto stores FIS experiments but runs none: its experiments move through their states when
they are described. The lab runs them instead (:mod:`chaos_sre.lab.fis.simulation`): an
experiment's status is what the simulation set, its reason the simulation's, its resolved targets
those it resolved, and StartExperiment hands the new experiment to it."""

from typing import Any, Protocol, cast

from moto.core.exceptions import JsonRESTError
from moto.fis.models import Experiment, FISBackend, ResolvedTarget

from chaos_sre.lab.core.patches import hooks, original, replaces


class FisSimulation(Protocol):
    """What the patches ask of the lab's FIS simulation."""

    def started(self, experiment: Any) -> None:
        """Take over a new experiment."""

    def resolved(self, experiment: Any) -> list[tuple[str, str, str]]:
        """(resource type, target name, ARN) of what the experiment's targets resolved to."""

    @property
    def lever(self) -> dict[str, str]:
        """The account's safety lever: its status and reason."""


class ConflictException(JsonRESTError):
    """FIS's answer to a start the safety lever forbids (HTTP 409)."""

    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


def _fis() -> FisSimulation:
    return cast(FisSimulation, hooks().service("fis"))


def _get_status(self: Any) -> str:
    return str(self._status)


def _set_status(self: Any, value: str) -> None:
    self._status = value


replaces(Experiment, "status")(cast(Any, property(_get_status, _set_status)))


@replaces(Experiment, "advance")
def _advance(self: Any) -> None:
    """Describing an experiment does not move it: the lab's simulation does."""


@replaces(Experiment, "_sync_state")
def _sync_state(self: Any) -> str:
    """The status the simulation set; the end time once it is over."""
    status = str(self._status)
    if status in Experiment.TERMINAL_STATUSES and self.end_time is None:
        from moto.core.utils import unix_time

        self.end_time = unix_time()
    return status


@replaces(Experiment, "to_dict")
def _to_dict(self: Any, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """moto's answer, with the simulation's reason for the state."""
    answer = cast(dict[str, Any], original(Experiment, "to_dict")(self, tags))
    reason = getattr(self, "lab_reason", None)
    if reason:
        answer["state"]["reason"] = reason
    return answer


@replaces(Experiment, "resolved_targets")
def _resolved_targets(self: Any) -> list[ResolvedTarget]:
    """What the lab resolved the experiment's targets to (moto: only ARN targets)."""
    return [ResolvedTarget(resource_type=kind, target_name=name, resource_arn=arn)
            for kind, name, arn in _fis().resolved(self)]


@replaces(FISBackend, "start_experiment")
def _start_experiment(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """StartExperiment, refused while the account's safety lever is engaged."""
    lever = _fis().lever
    if lever["status"] == "engaged":
        raise ConflictException(f"The safety lever is engaged: {lever['reason']}")
    answer = cast(dict[str, Any], original(FISBackend, "start_experiment")(self, *args, **kwargs))
    experiment = self.experiments[answer["id"]]
    if str(experiment._status) == "pending" and not hasattr(experiment, "lab_run"):
        _fis().started(experiment)
    return answer
