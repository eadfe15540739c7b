"""moto patches of ECS: a service scheduler that takes time.

UpdateService leaves the running and pending counts to the lab's service
scheduler (moto: running = desired at once); ListTasks filters by service and
lists tasks that should be running unless asked otherwise (moto: every task)
(RegisterScalableTarget: chaos_sre/lab/applicationautoscaling/patches.py).
UpdateService refuses a desired count for a service using the DAEMON
scheduling strategy, which runs one task per container instance and has no desired count to
set (moto: sets it); AWS answers InvalidParameterException
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html#service_scheduler_daemon).
CreateService without a launch type uses the cluster's default capacity provider strategy
when it has one ("If no capacityProviderStrategy or launchType is specified, the
defaultCapacityProviderStrategy for the cluster is used",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html), and
DescribeServices shows that strategy and no launch type (moto: launch type EC2).
"""

from typing import Any, Protocol, cast

from moto.ecs import models as ecs_models
from moto.ecs.exceptions import InvalidParameterException

from chaos_sre.lab.core.patches import hooks, original, replaces


class ServiceHooks(Protocol):
    """What the ECS patches ask of the service's simulation."""

    def service_updated(self, service: Any, previous_desired: int) -> None:
        """UpdateService was applied to ``service`` (desired count was ``previous_desired``)."""



LAUNCH_TYPE_ARGUMENT = 5
"""Where moto's CreateService passes ``launch_type`` among the arguments after the count."""


def _lab() -> ServiceHooks:
    return cast(ServiceHooks, hooks().service("ecs"))

@replaces(ecs_models.EC2ContainerServiceBackend, "update_service")
def _ecs_update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    """UpdateService without moto's instant running count; the lab's scheduler does the rest."""
    cluster = self._get_cluster(service_properties.get("cluster", "default"))
    service = self._get_service(cluster.name, str(service_properties.get("service", "")).split("/")[-1])
    if service.scheduling_strategy == "DAEMON" and service_properties.get("desired_count") is not None:
        raise InvalidParameterException(
            "The daemon scheduling strategy does not support a desired count for services.")
    previous = (int(service.desired_count or 0), service.running_count, service.pending_count)
    updated = original(ecs_models.EC2ContainerServiceBackend, "update_service")(self, service_properties)
    updated.running_count, updated.pending_count = previous[1], previous[2]
    _lab().service_updated(updated, previous[0])
    return updated


@replaces(ecs_models.EC2ContainerServiceBackend, "list_tasks")
def _ecs_list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
                    family: str | None = None, started_by: str | None = None,
                    service_name: str | None = None, desiredStatus: str | None = None) -> list[Any]:
    """ListTasks as AWS answers it: by service, and tasks meant to run unless asked otherwise."""
    tasks = original(ecs_models.EC2ContainerServiceBackend, "list_tasks")(
        self, cluster_str, container_instance, family, started_by, service_name, desiredStatus or "RUNNING")
    if service_name:
        group = f"service:{service_name.split('/')[-1]}"
        tasks = [t for t in tasks if t.group == group]
    return list(tasks)


@replaces(ecs_models.EC2ContainerServiceBackend, "create_service")
def _create_service(self: Any, cluster_str: str, service_name: str, desired_count: int,
                    *args: Any, **kwargs: Any) -> Any:
    """CreateService, taking the cluster's default capacity provider strategy when no launch
    type is given."""
    service = original(ecs_models.EC2ContainerServiceBackend, "create_service")(
        self, cluster_str, service_name, desired_count, *args, **kwargs)
    launch_type = kwargs.get("launch_type", args[LAUNCH_TYPE_ARGUMENT] if len(args) > LAUNCH_TYPE_ARGUMENT
                             else None)
    default = self._get_cluster(cluster_str).default_capacity_provider_strategy
    if launch_type is None and default:
        service.launch_type = None
        service.capacity_provider_strategy = list(default)
    return service
