"""The IAM view of an API request made to the lab: its resources' ARNs and tags, request tags and keys.

For :mod:`chaos_sre.lab.core.iam_evaluation`. Read actions (Describe*, List*, Get*...) are
evaluated on ``*``, as most of them support no resource-level permissions. Each lab service
names the resources of the mutating actions chaos-sre makes - their ARNs as the Service
Authorization Reference lists them, with the tags the lab holds for them
(``aws:ResourceTag/K``) - in its ``calls`` module's ``IAM_RESOURCES``
(:mod:`chaos_sre.lab.core.services`); an action no service knows is evaluated on ``*``. A create
call with ``TagSpecification`` also needs ``ec2:CreateTags`` with ``ec2:CreateAction`` set to the
create action ("Grant permission to tag Amazon EC2 resources during creation",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html):
:func:`requests_of` returns that request too.
"""

import functools
from collections.abc import Callable

from chaos_sre.lab.core.iam_evaluation import Request, Resource
from chaos_sre.lab.core.mutations import Params, is_mutation, one

ResourcesOf = Callable[[str, Params], list[Resource]]
"""(Region, the call's parameters) -> the resources the call acts on."""


def _query_tag_specifications(params: Params) -> dict[str, str]:
    """Tags of ``TagSpecification.N.Tag.M.Key/Value`` (query protocol)."""
    keys = {k.rsplit(".", 1)[0]: one(params, k) for k in params if k.startswith("TagSpecification.")
            and k.endswith(".Key")}
    return {key: one(params, f"{prefix}.Value") for prefix, key in keys.items()}


@functools.cache
def _resources_of() -> dict[str, ResourcesOf]:
    from chaos_sre.lab.core.services import service_modules

    return {action: resources for _, module in service_modules("calls")
            for action, resources in getattr(module, "IAM_RESOURCES", {}).items()}


def requests_of(action: str, params_of: Callable[[], Params], region: str) -> list[Request]:
    """The IAM requests one API call makes: itself, and ec2:CreateTags when it tags what it
    creates. ``params_of`` reads the call's parameters, which only a mutation needs."""
    if not is_mutation(action.split(":", 1)[1]):
        return [Request(action, region)]
    params = params_of()
    resources = _resources_of().get(action, lambda _r, _p: [Resource()])(region, params)
    if action == "ec2:CreateTags":
        tags = {one(params, k): one(params, k[:-4] + ".Value") for k in params
                if k.startswith("Tag.") and k.endswith(".Key")}
        return [Request(action, region, resources, request_tags=tags)]
    tags = _query_tag_specifications(params)
    made = [Request(action, region, resources, request_tags=tags)]
    if tags and action.startswith("ec2:Create"):
        created = [r for r in resources if r.arn.endswith("/*")] or [Resource()]
        made.append(Request("ec2:CreateTags", region, created, request_tags=tags,
                            context={"ec2:CreateAction": action.split(":", 1)[1]}))
    return made
