"""Ground truth of what callers changed: the resources each mutating API call named.

`/__lab/mutations` lists every call by a caller (not the lab itself) whose action changes
something - any action but Describe*, List*, Get*, BatchGet*, Head*, Simulate*, Query and Scan - with its time and
the resources it named, in the run ledger's own names (``ec2:instance/i-...``,
``ec2:subnet/subnet-...``, ``autoscaling:web``, ``elbv2:web``, ``dynamodb:table/sessions``,
``ecs:service/staging/api``, ``rds:cluster/orders``, ``ec2:network-acl/acl-...``,
``ec2:vpc/vpc-...``). A test compares them with what each run's ledger planned, so a fault that
touches a resource outside its declared targets is seen, whoever's code made the call. An action
whose resources the lab does not know is listed with the resource ``?``: it is a mutation the
plan cannot account for. Each lab service names the resources of its own actions (its ``calls``
module's ``MUTATED``, :mod:`chaos_sre.lab.core.services`).
"""

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan", "Head", "Simulate")
"""Actions that read (``Simulate``: IAM's policy simulations, a Read access level action)."""
UNKNOWN = "?"

Params = Mapping[str, Any]


def is_mutation(action: str) -> bool:
    """Whether an API action (``TerminateInstances``) may change something."""
    return not action.startswith(READ_PREFIXES)


def query_params(body: bytes) -> dict[str, list[str]]:
    """A query-protocol request's parameters (``InstanceId.1`` -> values)."""
    return parse_qs(body.decode("utf-8", "replace"))


def json_params(body: bytes) -> dict[str, Any]:
    """A JSON-protocol request's parameters (empty when the body is not a JSON object)."""
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def members(params: Params, prefix: str) -> list[str]:
    """Every value of a query list parameter (``InstanceId.1``, ``InstanceId.2``...)."""
    return [str(v) for key, values in params.items() if key.startswith(f"{prefix}.")
            and key.count(".") == 1 for v in values]


def one(params: Params, key: str) -> str:
    """A parameter's value (the first of a query parameter's), ``""`` when absent."""
    value = params.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


Extractor = Callable[[Params], list[str]]
"""The resources a mutating call names, from its parameters."""


@functools.cache
def _extractors() -> dict[str, Extractor]:
    """Every lab service's ``calls.MUTATED``: the resources each mutating action names, from its
    parameters."""
    from chaos_sre.lab.core.services import service_modules

    return {action: extract for _, module in service_modules("calls")
            for action, extract in getattr(module, "MUTATED", {}).items()}


def mutated_resources(action: str, params: Params) -> list[str]:
    """The resources a mutating call of ``action`` (IAM name) named, ``[?]`` when unknown."""
    extract = _extractors().get(action)
    return extract(params) if extract else [UNKNOWN]
