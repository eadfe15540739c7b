"""The IAM view of an API request made to the lab: its resources' ARNs and tags, request tags and keys.

For :mod:`chaos_sre.lab.core.iam_evaluation`. Read actions (Describe*, List*, Get*...) are
evaluated on ``*``, as most of them support no resource-level permissions. Each lab service
names the resources of the mutating actions chaos-sre makes - their ARNs as the Service
Authorization Reference lists them, with the tags the lab holds for them
(``aws:ResourceTag/K``) - in its ``calls`` module's ``IAM_RESOURCES``
(:mod:`chaos_sre.lab.core.services`); an action no service knows is evaluated on ``*``. A
service whose calls make more than one IAM request (or carry request tags) says so in its
``calls`` module's ``iam_requests`` rule.
"""

import functools
from collections.abc import Callable

from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.mutations import Params, is_mutation

ResourcesOf = Callable[[str, Params], list[Resource]]
"""(Region, the call's parameters) -> the resources the call acts on."""


RequestsOf = Callable[[str, Params, str, list[Resource]], list[Request] | None]
"""(IAM action, the call's parameters, Region, its resources) -> the IAM requests the call makes,
or None when the service has no rule for it (then: one request, for the call itself)."""


@functools.cache
def _resources_of() -> dict[str, ResourcesOf]:
    from chaos_sre.lab.core.services import service_modules

    return {action: resources for _, module in service_modules("calls")
            for action, resources in getattr(module, "IAM_RESOURCES", {}).items()}


@functools.cache
def _rules() -> tuple[RequestsOf, ...]:
    from chaos_sre.lab.core.services import service_modules

    return tuple(module.iam_requests for _, module in service_modules("calls")
                 if hasattr(module, "iam_requests"))


def requests_of(action: str, params_of: Callable[[], Params], region: str) -> list[Request]:
    """The IAM requests one API call makes: itself, with the resources its service names
    (``IAM_RESOURCES``), or what the service's ``iam_requests`` rule says (EC2: a create call
    that tags what it creates is also an ec2:CreateTags request). ``params_of`` reads the
    call's parameters, which only a mutation needs."""
    if not is_mutation(action.split(":", 1)[1]):
        return [Request(action, region)]
    params = params_of()
    resources = _resources_of().get(action, lambda _r, _p: [Resource()])(region, params)
    for rule in _rules():
        made = rule(action, params, region, resources)
        if made is not None:
            return made
    return [Request(action, region, resources)]
