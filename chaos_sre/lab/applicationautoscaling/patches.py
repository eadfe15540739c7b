"""moto patch of Application Auto Scaling: RegisterScalableTarget acts on the resource at once.

RegisterScalableTarget "changes the resource's current capacity to a value that is inside of
this range" (Application Auto Scaling API Reference, RegisterScalableTarget; moto: nothing). The
lab service named by the target's namespace (``ecs``, ``dynamodb``) moves its resource's
capacity into the new min/max; its simulation evaluates the scaling policies over time.
"""

from typing import Any, Protocol

from moto.applicationautoscaling import models as scaling_models

from chaos_sre.lab.core.patches import hooks, original, replaces


class ScalableService(Protocol):
    """What the patch asks of the simulation of the service owning a scalable target."""

    def scalable_target_registered(self, target: Any) -> None:
        """RegisterScalableTarget created or updated ``target``."""


@replaces(scaling_models.ApplicationAutoscalingBackend, "register_scalable_target")
def _register_scalable_target(self: Any, *args: Any, **kwargs: Any) -> Any:
    target = original(scaling_models.ApplicationAutoscalingBackend, "register_scalable_target")(
        self, *args, **kwargs)
    owner: ScalableService | None = hooks().find_service(str(target.service_namespace))
    if owner is not None and hasattr(owner, "scalable_target_registered"):
        owner.scalable_target_registered(target)
    return target
