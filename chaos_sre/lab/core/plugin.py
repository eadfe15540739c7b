"""A lab service: one folder, one plugin object, found through an entry point.

A lab service plays one AWS service (or the sample application) in the lab. Its package holds
a :class:`LabService` named ``SERVICE`` and any of these modules, each found by the core
(:mod:`chaos_sre.lab.core.services`), so the core names no service:

* ``patches``    - moto methods it takes over (:mod:`chaos_sre.lab.core.patches`);
* ``simulation`` - its behaviour over time (:mod:`chaos_sre.lab.core.simulation`);
* ``seed``       - the resources it creates in the account (:mod:`chaos_sre.lab.core.topology`);
* ``routes``     - what the application behind the load balancer needs of it per request;
* ``metrics``    - a publisher of its CloudWatch metrics (:mod:`chaos_sre.lab.core.dynamics`);
* ``settings``   - its part of each lab profile and its AWS timings
  (:mod:`chaos_sre.lab.core.settings`);
* ``api``        - the operations of an AWS service moto does not have, answered by the lab
  (:mod:`chaos_sre.lab.core.own_apis`);
* ``calls``      - what its mutating API actions act on: ``MUTATED``, the resources each names
  in the run ledger's names (:mod:`chaos_sre.lab.core.mutations`), and ``IAM_RESOURCES``, their
  ARNs and tags as IAM evaluates them (:mod:`chaos_sre.lab.core.iam_requests`).

The plugin object says the rest: the botocore services it answers (their models are read
before the lab serves, and name its requests), its part of each profile's description, the
fault events it records on the ground-truth timeline, its lines in ``chaos-sre lab status``,
its part of the account snapshot that tests compare before and after a run, the shipped
experiment whose mutation the refused-mutation test denies, and any path it answers on the
lab's endpoint (with the variable ``lab up`` exports for it). Lab services are
registered in the ``chaos_sre.lab_services`` entry-point group, chaos-sre's own and other
packages' alike::

    [project.entry-points."chaos_sre.lab_services"]
    lambda = "mypackage.lab:SERVICE"
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "chaos_sre.lab_services"
Clients = Callable[[str], Any]
"""A boto3 client factory (``clients("ec2")``) against the lab."""


@dataclass(frozen=True)
class RefusedMutation:
    """A shipped experiment and the mutating action the refused-mutation test denies it."""

    experiment: Path
    """The experiment file (relative paths are the repository's)."""
    action: str
    """The IAM action denied (``ecs:UpdateService``)."""
    code: str
    """The error code AWS answers a denied call with (``AccessDeniedException``)."""
    prepared: tuple[str, ...] = ()
    """Ledger operations the fault makes before the denied one (and its rollback undoes)."""


@dataclass(frozen=True)
class LabService:
    """One lab service: its name and package, and what the core asks of it."""

    name: str
    package: str
    """The package holding its modules (``chaos_sre.lab.ecs``)."""
    order: int = 100
    """Where its part goes in profile descriptions and ``lab status`` (the web tier first)."""
    botocore_services: tuple[str, ...] = ()
    """The botocore services it answers (``ecs``)."""
    profile_descriptions: Mapping[str, str] = field(default_factory=dict)
    """Per profile, its part of the profile's one-line description."""
    fault_kinds: tuple[str, ...] = ()
    """Timeline event kinds that are faults (``ecs-desired-count-decreased``)."""
    endpoint: str = ""
    """``module:function`` making the endpoint the lab serves (``CHAOS_SRE_TARGET_URL``) when
    this is the application behind it (exactly one service is): ``function(context, service,
    timeline, lab_api)`` returns what starts serving it on a host and port."""
    status_lines: Callable[[Mapping[str, Any]], list[str]] | None = None
    """Its lines in ``chaos-sre lab status``, from ``/__lab/status``."""
    snapshot: Callable[[Clients], Any] | None = None
    """What its part of the account looks like, for comparing before and after a run."""
    refused_mutation: RefusedMutation | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    """Lab variants it offers (``lab up --rds-proxy``): option name -> the field of its profile
    part the option switches on."""
    endpoint_routes: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    """GET paths under ``/__lab/`` it answers on the endpoint, each with its JSON document."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables ``lab up`` exports, each a path on the endpoint (exported as its URL)."""


def service_lines(services: Iterable[LabService], status: Mapping[str, Any]) -> list[str]:
    """Every service's ``lab status`` lines, in the services' order."""
    return [line for service in sorted(services, key=lambda s: (s.order, s.name))
            if service.status_lines is not None for line in service.status_lines(status)]
