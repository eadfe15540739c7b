"""Effect checks for faults of other Chaos Toolkit extensions, read from what they return.

chaostoolkit-aws's actions keep no chaos-sre ledger, so the family checks of
:mod:`chaos_sre.faults.effects` cannot see them. For the ones below chaos-sre
knows what their output says they changed, and checks that the change shows
while the fault is live; any other action of another extension leaves its run
INCONCLUSIVE (nothing verified that the fault took effect).
"""

from typing import Any

from chaos_sre.aws import aws_client
from chaos_sre.faults.effects import output_check
from chaos_sre.services.ec2 import still_running

CHAOSAWS_EC2 = "chaosaws.ec2.actions"


def _instance_ids(output: Any, key: str) -> list[str]:
    """The instance ids of EC2 responses (a list of them, as chaostoolkit-aws returns)."""
    responses = output if isinstance(output, list) else [output]
    return sorted({str(i["InstanceId"]) for r in responses if isinstance(r, dict)
                   for i in r.get(key) or [] if isinstance(i, dict) and "InstanceId" in i})


def _not_running(output: Any, key: str, configuration: dict[str, Any] | None,
                 secrets: dict[str, Any] | None) -> str | None:
    ids = _instance_ids(output, key)
    if not ids:
        return "its output names no instance it changed"
    running = still_running(aws_client("ec2", configuration, secrets), ids)
    if running:
        return f"{len(running)} of the {len(ids)} instances it took still run ({', '.join(running)})"
    return None


@output_check(CHAOSAWS_EC2, "terminate_instances")
def _terminated(output: Any, configuration: dict[str, Any] | None,
                secrets: dict[str, Any] | None) -> str | None:
    """chaostoolkit-aws ``terminate_instances``: the instances it terminated no longer run."""
    return _not_running(output, "TerminatingInstances", configuration, secrets)


@output_check(CHAOSAWS_EC2, "stop_instances")
def _stopped(output: Any, configuration: dict[str, Any] | None,
             secrets: dict[str, Any] | None) -> str | None:
    """chaostoolkit-aws ``stop_instances``: the instances it stopped no longer run."""
    return _not_running(output, "StoppingInstances", configuration, secrets)
