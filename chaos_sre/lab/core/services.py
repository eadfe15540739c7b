"""Finding the lab's services: every package of :mod:`chaos_sre.lab` but ``core`` is one.

A service package may hold any of these modules, each found here, so adding a
service is adding a folder:

* ``patches``    - moto methods it takes over (:mod:`chaos_sre.lab.core.patches`);
* ``simulation`` - its behaviour over time (:mod:`chaos_sre.lab.core.simulation`);
* ``seed``       - the resources it creates in the account (:mod:`chaos_sre.lab.core.topology`);
* ``routes``     - what the application behind the load balancer needs of it per request
  (:mod:`chaos_sre.lab.web.endpoint`);
* ``metrics``    - a publisher of its CloudWatch metrics (:mod:`chaos_sre.lab.core.dynamics`);
* ``settings``   - its part of each lab profile and its AWS timings
  (:mod:`chaos_sre.lab.core.settings`);
* ``calls``      - what its mutating API actions act on: ``MUTATED``, the resources each names
  in the run ledger's names (:mod:`chaos_sre.lab.core.mutations`), and ``IAM_RESOURCES``, their
  ARNs and tags as IAM evaluates them (:mod:`chaos_sre.lab.core.iam_requests`).
"""

import importlib
import importlib.util
import pkgutil
from types import ModuleType


def service_modules(module: str, order: str | None = None) -> list[tuple[str, ModuleType]]:
    """(service name, its module ``module``) for every lab service that has one; sorted by the
    modules' integer attribute ``order`` when given, else by service name."""
    import chaos_sre.lab as lab

    found = []
    for info in pkgutil.iter_modules(lab.__path__):
        name = f"{lab.__name__}.{info.name}.{module}"
        if info.ispkg and info.name != "core" and importlib.util.find_spec(name) is not None:
            found.append((info.name, importlib.import_module(name)))
    return sorted(found, key=lambda item: (int(getattr(item[1], order)) if order else 0, item[0]))
