"""SSM Automation documents for the faults FIS has no action for, started by FIS's
``aws:ssm:start-automation-execution``.

A document is the fault's changes, a hold, and their undoing, in reverse - the same calls, with
the same values, as the fault's plan and its ledger inverses (the mapping takes them from the
fault's dry run). Every step is ``aws:executeAwsApi`` (or ``aws:waitForAwsResourceProperty``, or
the hold's ``aws:sleep``); a step that fails or is cancelled goes to the undoing of what was
already changed (``onFailure``/``onCancel``: ``step:NAME``), and an undoing step that fails lets
the others run (``onFailure: Continue``), so a stopped experiment or a failed step leaves nothing
changed. FIS cancels the automation when the experiment stops ("Use AWS FIS
aws:ssm:start-automation-execution", AWS FIS User Guide); a cancel runs the ``onCancel`` step.
Schema 0.3 ("Systems Manager Automation runbook reference", "Automation actions reference").
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos_sre.fis.actions import HOUR, iso_duration
from chaos_sre.fis.mapping import FisContext, FisPart, FisStep, SsmDocument

ROLE_PARAMETER = "AutomationAssumeRole"
DURATION_PARAMETER = "Duration"
LONGEST_SECONDS = 12 * HOUR
"""FIS's longest ``maxDuration`` for an automation."""
ONE_CALL_RESTORE_SECONDS = 60.0
"""What an undo of one API call, with no wait, needs of the automation's time."""


@dataclass(frozen=True)
class ApiCall:
    """One AWS API call: boto3's service name, the operation's API name, its parameters."""

    service: str
    api: str
    inputs: Mapping[str, Any]

    def step(self, name: str) -> dict[str, Any]:
        """This call as an ``aws:executeAwsApi`` step named ``name``."""
        return {"name": name, "action": "aws:executeAwsApi",
                "inputs": {"Service": self.service, "Api": self.api, **self.inputs}}


@dataclass(frozen=True)
class Wait:
    """An ``aws:waitForAwsResourceProperty`` step: a Describe call polled until a property of its
    answer has one of the wanted values."""

    call: ApiCall
    selector: str
    values: Sequence[str]
    timeout_seconds: int = 3600

    def step(self, name: str) -> dict[str, Any]:
        return {"name": name, "action": "aws:waitForAwsResourceProperty",
                "timeoutSeconds": self.timeout_seconds,
                "inputs": {"Service": self.call.service, "Api": self.call.api, **self.call.inputs,
                           "PropertySelector": self.selector, "DesiredValues": list(self.values)}}


@dataclass(frozen=True)
class Change:
    """One change of the fault, what undoes it, and what to wait for after each."""

    name: str
    call: ApiCall
    undo: ApiCall | None = None
    settle: Wait | None = None
    """Waited for after the change (a table ``ACTIVE`` again)."""
    settle_undo: Wait | None = None
    """Waited for after the undo (the service stable, the table ``ACTIVE``)."""


def document(description: str, changes: Sequence[Change]) -> dict[str, Any]:
    """The Automation document: each change (and its settling), the hold (``Duration``), then
    each undo newest first; a failure or cancel at any point goes to the undoing of what changed."""
    undoing = [(change, change.undo) for change in reversed(changes) if change.undo is not None]
    undo_names = {change.name: f"Undo{change.name}" for change, _ in undoing}
    undo_steps: list[dict[str, Any]] = []
    for change, undo in undoing:
        undo_steps.append({**undo.step(undo_names[change.name]), "onFailure": "Continue"})
        if change.settle_undo is not None:
            undo_steps.append({**change.settle_undo.step(f"{undo_names[change.name]}Settled"),
                               "onFailure": "Continue"})
    done: list[str] = []
    steps: list[dict[str, Any]] = []
    for change in changes:
        before = _first_undo(done, undo_names)
        if change.undo is not None:
            done.append(change.name)
        after = _first_undo(done, undo_names)
        steps.append(_guarded(change.call.step(change.name), failure=before, cancel=after))
        if change.settle is not None:
            steps.append(_guarded(change.settle.step(f"{change.name}Settled"), failure=after,
                                  cancel=after))
    steps.append(_guarded({"name": "Hold", "action": "aws:sleep",
                           "inputs": {"Duration": f"{{{{ {DURATION_PARAMETER} }}}}"}},
                          failure=_first_undo(done, undo_names), cancel=_first_undo(done, undo_names)))
    steps.extend(undo_steps)
    if steps:
        steps[-1]["isEnd"] = True
    return {
        "schemaVersion": "0.3",
        "description": description,
        "assumeRole": f"{{{{ {ROLE_PARAMETER} }}}}",
        "parameters": {
            ROLE_PARAMETER: {"type": "String", "description": "The role the automation acts as"},
            DURATION_PARAMETER: {"type": "String",
                                 "description": "How long the fault holds (ISO 8601, e.g. PT2M30S)"},
        },
        "mainSteps": steps,
    }


def _first_undo(done: list[str], undo_names: Mapping[str, str]) -> str | None:
    return undo_names[done[-1]] if done else None


def _guarded(step: dict[str, Any], *, failure: str | None, cancel: str | None) -> dict[str, Any]:
    """``step`` going to ``failure``/``cancel`` (an undo step) when it fails or is cancelled;
    with nothing to undo, the automation just stops (Abort, Cancel)."""
    step["onFailure"] = f"step:{failure}" if failure else "Abort"
    step["onCancel"] = f"step:{cancel}" if cancel else "Cancel"
    return step


def automation_part(name: str, description: str, changes: Sequence[Change], context: FisContext,
                    restore_seconds: float) -> FisPart:
    """A fault as one ``aws:ssm:start-automation-execution`` of a generated document named
    ``chaos-sre-EXPERIMENT-NAME``: held for the fault's duration, with ``restore_seconds`` for
    the undoing within ``maxDuration``."""
    document_name = f"chaos-sre-{context.experiment}-{name}"[:128]
    hold = iso_duration(context.fault_seconds)
    parameters = {
        "documentArn": context.arn("ssm", f"document/{document_name}"),
        "documentParameters": json.dumps({ROLE_PARAMETER: context.automation_role_arn,
                                          DURATION_PARAMETER: hold}),
        "maxDuration": iso_duration(min(context.fault_seconds + restore_seconds, LONGEST_SECONDS)),
    }
    return FisPart(actions={name: FisStep("aws:ssm:start-automation-execution", None, parameters,
                                          description=description)},
                   documents=[SsmDocument(document_name, document(description, changes))],
                   notes=[f"SSM document {document_name} carries the values the fault's dry run "
                          "found at export (what it sets and what it restores): export it again "
                          "when they change"])
