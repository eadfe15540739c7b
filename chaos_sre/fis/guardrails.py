"""The guardrails of an experiment's faults, checked before FIS runs them.

A FIS template cannot carry chaos-sre's guardrails (the share of a group, a total outage, NAT
gateways, interface endpoints and the runner's subnet in a cut AZ): FIS resolves its targets
itself. So ``chaos-sre fis run`` plans each chaos-sre fault of the method as ``chaos run`` would,
with read-only calls against the same account, and enforces the same guardrails over the plan
(:meth:`chaos_sre.faults.registry.Fault.guard`) before it creates or starts anything. What
refuses a ``chaos run`` refuses a ``fis run``, with the same one-line reason and override.
The runner's own permissions for the fault's changes are not checked: FIS's role makes them.
"""

from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.faults.registry import Plan
from chaos_sre.faults.registry import find as find_fault
from chaos_sre.fis.export import Export


def guard_faults(exported: Export, configuration: dict[str, Any] | None = None,
                 secrets: dict[str, Any] | None = None) -> list[tuple[str, Plan]]:
    """Plan every chaos-sre fault of the exported experiment's method and enforce the
    guardrails (a refusal is a one-line ValidationError naming the step); each step's name and
    plan."""
    planned = []
    for index, step in enumerate(exported.method):
        provider = step.get("provider") or {} if isinstance(step, dict) else {}
        if step.get("type") != "action" or not provider:
            continue
        fault = find_fault(str(provider.get("module", "")), str(provider.get("func", "")))
        if fault is None:
            continue
        try:
            plan = fault.guard(dict(provider.get("arguments") or {}), configuration, secrets)
        except ValidationError as exc:
            raise ValidationError(f"{exported.source}: method[{index}] ({step.get('name', '?')}): {exc}") from None
        planned.append((str(step.get("name", "?")), plan))
    return planned


def planned_line(name: str, plan: Plan) -> str:
    """``STEP: what it would do`` (the plan's action line, or its summary)."""
    return f"{name}: {plan.action or dict(plan.summary)}"
