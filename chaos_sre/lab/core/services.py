"""Finding the lab's services: every :class:`~chaos_sre.lab.core.plugin.LabService` registered
in the ``chaos_sre.lab_services`` entry-point group, chaos-sre's own and other packages'.

Adding a service is adding a folder and one entry point: nothing here or elsewhere in the core
names it (:mod:`chaos_sre.lab.core.plugin` says what the folder holds).
"""

import functools
import importlib
import importlib.util
from importlib.metadata import entry_points
from types import ModuleType

from chaos_sre.errors import LabError
from chaos_sre.lab.core.plugin import ENTRY_POINT_GROUP, LabService


@functools.cache
def lab_services() -> tuple[LabService, ...]:
    """Every registered lab service, by name; a broken registration is a one-line LabError."""
    found: dict[str, LabService] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            service = entry.load()
        except (ImportError, AttributeError) as exc:
            raise LabError(f"lab service {entry.name} ({entry.value}, entry point group "
                           f"{ENTRY_POINT_GROUP}) cannot be loaded: {exc}") from None
        if not isinstance(service, LabService):
            raise LabError(f"lab service {entry.name} ({entry.value}) is not a LabService")
        found.setdefault(service.name, service)
    return tuple(found[name] for name in sorted(found))


def service_modules(module: str, order: str | None = None) -> list[tuple[str, ModuleType]]:
    """(service name, its module ``module``) for every lab service that has one; sorted by the
    modules' integer attribute ``order`` when given, else by service name."""
    found = []
    for service in lab_services():
        name = f"{service.package}.{module}"
        if importlib.util.find_spec(name) is not None:
            found.append((service.name, importlib.import_module(name)))
    return sorted(found, key=lambda item: (int(getattr(item[1], order)) if order else 0, item[0]))


def botocore_services() -> tuple[str, ...]:
    """The botocore services the lab's services answer."""
    return tuple(sorted({name for s in lab_services() for name in s.botocore_services}))
