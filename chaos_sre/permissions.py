"""The IAM permissions an activity needs, declared next to its code.

Faults declare theirs with :func:`chaos_sre.faults.registry.fault`; probes and
the control with :func:`requires`. ``chaos-sre iam policy`` (:mod:`chaos_sre.iam`)
reads these declarations, so a new AWS call is covered by the generated policy
as soon as its function declares it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__chaos_sre_permissions__"


@dataclass(frozen=True)
class Permission:
    """One IAM action, with the narrowest resource and condition AWS supports for it."""

    action: str
    resource: str = "*"
    condition: tuple[tuple[str, str, str], ...] = ()
    """(operator, key, value) triples, e.g. ``("StringEquals", "ec2:CreateAction", "CreateNetworkAcl")``."""


def requires(*actions: str | Permission) -> Callable[[F], F]:
    """Declare the IAM actions a probe (or other activity) calls; the function is unchanged."""
    declared = tuple(a if isinstance(a, Permission) else Permission(a) for a in actions)

    def declare(function: F) -> F:
        setattr(function, ATTRIBUTE, declared)
        return function
    return declare


def declared(function: Callable[..., Any]) -> tuple[Permission, ...] | None:
    """What ``function`` declared with :func:`requires` (None: it declared nothing)."""
    found = getattr(function, ATTRIBUTE, None)
    return None if found is None else tuple(found)
