"""ECS in the lab: service ``api``'s tasks, deployments, target health and auto scaling."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.ecs.status import snapshot, status_lines

SERVICE = LabService(
    name="ecs", package=__name__, order=30, botocore_services=("ecs",),
    profile_descriptions={"resilient": "ECS api 3 tasks with auto scaling 3-9, web pages fall "
                                       "back when it is down",
                          "fragile": "ECS api 1 slow-starting task, web pages fail when it is "
                                     "down"},
    fault_kinds=("ecs-desired-count-decreased",),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path("experiments/ecs-scale-to-zero.json"),
                                     "application-autoscaling:RegisterScalableTarget",
                                     "AccessDeniedException"),
)
