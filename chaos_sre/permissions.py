"""The IAM permissions an activity needs, declared next to its code.

Faults declare theirs with :func:`chaos_sre.faults.registry.fault`; probes and
the control with :func:`requires`. A fault's plan also lists the concrete calls it
will make (:class:`PlannedCall`), which are checked before it starts. ``chaos-sre iam policy`` (:mod:`chaos_sre.iam`)
reads these declarations, so a new AWS call is covered by the generated policy
as soon as its function declares it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    targets: bool = False
    """The resource is one of the experiment's targets: ``chaos-sre iam policy --target-tag K=V``
    limits it to resources carrying those tags (``aws:ResourceTag/K``)."""
    when: str | None = None
    """Needed only when the activity is given this argument (``stop``, ``load_balancer_names``):
    the policy for an experiment that does not pass it leaves the permission out."""
    equals: str | None = None
    """With ``when``: needed only when that argument has this value (``set-subnets``)."""

    def needed_with(self, arguments: Mapping[str, Any]) -> bool:
        """Whether an activity called with ``arguments`` needs this permission: always, or when
        its ``when`` argument is given a value (a ``${...}`` reference counts: it may be one),
        ``equals`` when set."""
        if self.when is None:
            return True
        value = arguments.get(self.when)
        if self.equals is not None:
            return value == self.equals or (isinstance(value, str) and value.startswith("${"))
        return value not in (None, False, "", [], {}, "false", "False")


@dataclass(frozen=True)
class PlannedCall:
    """One IAM request the fault (or its restore) will make."""

    action: str
    """``ec2:TerminateInstances``."""
    resource: str = "*"
    """A full ARN, or the part after ``arn:aws:SERVICE:REGION:ACCOUNT:`` (``instance/i-1``), which
    the check completes with the runner's Region and account."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """The resource's tags (``aws:ResourceTag/K``)."""
    context: Mapping[str, str] = field(default_factory=dict)
    """Other condition keys the call carries (``aws:RequestTag/K``, ``ec2:CreateAction``)."""

    def arn(self, region: str, account: str) -> str:
        if self.resource == "*" or self.resource.startswith("arn:"):
            return self.resource
        return f"arn:aws:{self.action.split(':', 1)[0]}:{region}:{account}:{self.resource}"


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
