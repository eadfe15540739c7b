"""``chaos-sre fis run EXPERIMENT``: run an experiment with AWS FIS as its engine, judged by the
same control as ``chaos run``.

:func:`fis_experiment` writes the experiment ``chaos run`` then runs: the same steady state,
control and probes, with the method's faults replaced by one action,
:func:`chaos_sre.fis.engine.start_experiment`, where the first fault was (FIS starts every action
at once: the pauses of the faults it replaces are kept, so the method lasts as long), and the
rollbacks replaced by ``chaos_sre.safety.rollback.restore_run``, which stops the FIS experiment
if it still runs (FIS, not this process, restores what its actions changed). The control's SLO
file is named by its absolute path, so the written experiment runs from any folder.

:func:`preview` (``--preview``) starts the experiment with ``actionsMode`` ``skip-all``: FIS
resolves the targets and runs no action; the targets are printed and nothing is judged.
"""

import copy
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos_sre.aws import aws_client, call, paginate
from chaos_sre.control.settings import located
from chaos_sre.documents import read_document
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.fis.accounts import orchestrator_configuration
from chaos_sre.fis.engine import POLL_SECONDS, STOPPED_WITHIN_SECONDS, action_states, ended
from chaos_sre.fis.export import Export, export
from chaos_sre.fis.guardrails import guard_faults, planned_line
from chaos_sre.fis.provision import provision
from chaos_sre.fis.steps import ROLLBACK, engine_step
from chaos_sre.safety.validate import resolved_configuration
from chaos_sre.values import resolved
from chaos_sre.verdicts import CONTROL_MODULE
from chaos_sre.waiting import poll

Echo = Callable[[str], None]


def fis_experiment(path: Path, options: dict[str, str]) -> dict[str, Any]:
    """The experiment at ``path`` with FIS as its engine (the module doc says how); ``options``:
    :func:`~chaos_sre.fis.engine.start_experiment`'s account and role arguments that are set."""
    document = copy.deepcopy(read_document(path))
    configuration = resolved_configuration(document.get("configuration"), str(path))
    method = document.get("method") or []
    actions = [i for i, step in enumerate(method) if isinstance(step, dict) and step.get("type") == "action"]
    if not actions:
        raise ValidationError(f"{path}: its method has no action for FIS to run")
    engine = engine_step({"experiment": str(path.resolve()), **options})
    steps: list[dict[str, Any]] = []
    for index, step in enumerate(method):
        if index == actions[0]:
            steps.append({**engine, **({"pauses": step["pauses"]} if step.get("pauses") else {})})
        elif index in actions:
            _carry_pauses(steps, step, configuration, f"{path}: method[{index}]")
        else:
            steps.append(step)
    document["method"] = steps
    document["rollbacks"] = [ROLLBACK]
    document["title"] = f"{document.get('title') or path.stem} (AWS FIS)"
    document["tags"] = [*(document.get("tags") or []), "fis"]
    for control in document.get("controls") or []:
        provider = control.get("provider") or {} if isinstance(control, dict) else {}
        arguments = provider.get("arguments") or {}
        if provider.get("module") == CONTROL_MODULE and "slo" in arguments:
            slo = str(resolved(arguments["slo"], configuration, f"{path}: control argument slo"))
            arguments["slo"] = str(Path(located(slo, path)).resolve())
    return document


def _carry_pauses(steps: list[dict[str, Any]], step: dict[str, Any],
                  configuration: dict[str, Any], where: str) -> None:
    """A replaced fault's pauses, added to the step before it, so the method lasts as long."""
    pauses = step.get("pauses") or {}
    seconds = sum(float(resolved(pauses.get(key) or 0, configuration, f"{where} pauses"))
                  for key in ("before", "after"))
    if seconds and steps:
        held = steps[-1].setdefault("pauses", {})
        after = float(resolved(held.get("after") or 0, configuration, f"{where} pauses"))
        steps[-1] = {**steps[-1], "pauses": {**held, "after": after + seconds}}


def run(path: Path, options: dict[str, str], chaos: list[str], echo: Echo) -> int:
    """Write the FIS experiment of ``path`` and run it with ``chaos`` (``chaos ... run
    --journal-path ...``, the experiment's path added); its exit status."""
    import json

    document = fis_experiment(path, options)
    with tempfile.TemporaryDirectory(prefix="chaos-sre-fis-") as folder:
        written = Path(folder) / f"{path.stem}-fis.json"
        written.write_text(json.dumps(document, indent=2))
        echo(f"running {path} with AWS FIS as its engine")
        process = subprocess.Popen([*chaos, str(written)], stdin=subprocess.DEVNULL)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                echo("interrupted: waiting for the run to stop its FIS experiment ...")


def preview(path: Path, options: dict[str, str], echo: Echo) -> dict[str, list[str]]:
    """Start the experiment with ``actionsMode`` ``skip-all``; its resolved targets by name."""
    orchestrator_role_arn = options.get("orchestrator_role_arn")
    exported: Export = export(path, account_id=options.get("account_id"), role_arn=options.get("role_arn"),
                              automation_role_arn=options.get("automation_role_arn"),
                              report_bucket=options.get("report_bucket"),
                              orchestrator_role_arn=orchestrator_role_arn,
                              target_role_arn=options.get("target_role_arn"))
    configuration = exported.configuration
    for name, plan in guard_faults(exported, configuration):
        echo(f"guardrails passed: {planned_line(name, plan)}")
    provisioned = provision(exported, configuration, orchestrator_role_arn=orchestrator_role_arn)
    for line in provisioned.lines:
        echo(line)
    fis = aws_client("fis", orchestrator_configuration(configuration, orchestrator_role_arn))
    experiment_id = str(call(fis, "start_experiment", experimentTemplateId=provisioned.template_id,
                             experimentOptions={"actionsMode": "skip-all"})["experiment"]["id"])
    found = poll(lambda: ended(fis, experiment_id), what=f"FIS preview {experiment_id} ended",
                 timeout_seconds=STOPPED_WITHIN_SECONDS, interval_seconds=POLL_SECONDS)
    state = found["state"]
    if state["status"] != "completed":
        raise AWSError(f"FIS preview {experiment_id} {state['status']}: {state.get('reason', '')}",
                       operation="StartExperiment")
    targets: dict[str, list[str]] = {}
    for target in paginate(fis, "list_experiment_resolved_targets", "resolvedTargets",
                           experimentId=experiment_id):
        targets.setdefault(str(target["targetName"]), []).append(str(target["targetInformation"]["arn"]))
    skipped = sorted(name for name, action in action_states(found).items() if action["status"] == "skipped")
    echo(f"FIS preview {experiment_id}: {len(skipped)} action(s) skipped, nothing changed")
    return {name: sorted(arns) for name, arns in sorted(targets.items())}

