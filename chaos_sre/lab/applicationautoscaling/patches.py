"""moto patch of Application Auto Scaling: RegisterScalableTarget acts on the resource at once.

RegisterScalableTarget "changes the resource's current capacity to a value that is inside of
this range" (Application Auto Scaling API Reference, RegisterScalableTarget; moto: nothing):
:mod:`chaos_sre.lab.applicationautoscaling.simulation` asks the lab service owning the target to
move its capacity into the new min/max.
"""

from typing import Any

from moto.applicationautoscaling import models as scaling_models

from chaos_sre.lab.core.patches import hooks, original, replaces


@replaces(scaling_models.ApplicationAutoscalingBackend, "register_scalable_target")
def _register_scalable_target(self: Any, *args: Any, **kwargs: Any) -> Any:
    target = original(scaling_models.ApplicationAutoscalingBackend, "register_scalable_target")(
        self, *args, **kwargs)
    hooks().service("applicationautoscaling").registered(target)
    return target
