"""What RegisterScalableTarget acts on, in the run ledger's names (``MUTATED``,
:mod:`chaos_sre.lab.core.mutations`): the table or service it scales (a GSI's target: its table),
as the throttle and scale-to-zero faults record them. IAM evaluates it on ``*`` (the runner
policy grants it there)."""

from chaos_sre.lab.core.mutations import UNKNOWN, Extractor, one


def _scaled_resource(resource_id: str) -> list[str]:
    """An Application Auto Scaling resource id in the ledger's names (``table/sessions``)."""
    if not resource_id:
        return [UNKNOWN]
    kind, _, rest = resource_id.partition("/")
    table = rest.split("/index/", 1)[0]
    return [{"table": f"dynamodb:table/{table}", "service": f"ecs:service/{rest}"}.get(
        kind, f"application-autoscaling:{resource_id}")]


MUTATED: dict[str, Extractor] = {
    "application-autoscaling:RegisterScalableTarget":
        lambda p: _scaled_resource(one(p, "ResourceId")),
}
