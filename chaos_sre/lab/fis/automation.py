"""SSM Automation in the lab: the runbooks FIS starts with ``aws:ssm:start-automation-execution``,
run as Systems Manager runs them ("Automation actions reference", schema 0.3):

* ``aws:executeAwsApi``: the call (``Service``, ``Api`` and its parameters), made against the
  lab's AWS API;
* ``aws:waitForAwsResourceProperty``: the call, every second (AWS time), until the value at
  ``PropertySelector`` (``$.services[0].runningCount``) is one of ``DesiredValues``, for at most
  ``timeoutSeconds``;
* ``aws:sleep``: ``Duration`` (ISO 8601);
* ``{{ Name }}`` is the execution's parameter ``Name``;
* a step that fails goes to its ``onFailure`` (``step:NAME``, ``Continue`` the next step, or
  ``Abort`` - the default), a step running when the execution is cancelled to its ``onCancel``
  (``step:NAME`` or ``Cancel`` - the default); ``isEnd`` ends it; so does the last step.

The execution runs in its own thread, outside the lab lock (its calls go through the lab's API
as the lab's own caller), and reports ``Success``, ``Failed`` or ``Cancelled``. Durations are AWS
seconds at the lab's time scale.
"""

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions
from botocore import xform_name

from chaos_sre.fis.actions import duration_seconds
from chaos_sre.lab.core.internal_client import internal_session

PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
PATH_PART = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
SUCCESS, FAILED, CANCELLED = "Success", "Failed", "Cancelled"
POLL_AWS_SECONDS = 1.0


def _substituted(value: Any, parameters: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        whole = PARAMETER.fullmatch(value.strip())
        if whole and whole.group(1) in parameters:
            return parameters[whole.group(1)]
        return PARAMETER.sub(lambda m: str(parameters.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [_substituted(item, parameters) for item in value]
    if isinstance(value, dict):
        return {key: _substituted(item, parameters) for key, item in value.items()}
    return value


def selected(answer: Any, selector: str) -> Any:
    """The value at a JSONPath selector of the simple form SSM documents use (``$.a.b[0].c``)."""
    if not selector.startswith("$"):
        raise ValueError(f"not a JSONPath selector: {selector!r}")
    value = answer
    for name, index in PATH_PART.findall(selector[1:]):
        value = value[name] if name else value[int(index)]
    return value


@dataclass
class Execution:
    """One automation execution: its document, parameters and outcome."""

    content: Mapping[str, Any]
    parameters: Mapping[str, str]
    endpoint_url: str
    scaled: Callable[[float], float]
    """Wall seconds for AWS seconds (the lab's time scale)."""
    status: str = "InProgress"
    failure: str = ""
    steps_run: list[str] = field(default_factory=list)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lab-ssm-automation", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """StopAutomationExecution (type Cancel): the running step goes to its ``onCancel``."""
        self._cancel.set()

    @property
    def ended(self) -> bool:
        return self.status != "InProgress"

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        steps = list(self.content.get("mainSteps") or [])
        by_name = {step["name"]: number for number, step in enumerate(steps)}
        number, cancelling = 0, False
        while number < len(steps):
            step = steps[number]
            self.steps_run.append(step["name"])
            try:
                self._step(step)
                outcome = None
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, KeyError,
                    IndexError, TypeError, ValueError, TimeoutError) as exc:
                outcome = str(exc)
            if self._cancel.is_set() and not cancelling:
                cancelling = True
                route = str(step.get("onCancel") or "Cancel")
                if route == "Cancel":
                    self.status = CANCELLED
                    return
                number = by_name[route.removeprefix("step:")]
                continue
            if outcome is not None:
                route = str(step.get("onFailure") or "Abort")
                if route == "Abort":
                    self.status, self.failure = FAILED, f"step {step['name']} failed: {outcome}"
                    return
                if route != "Continue":
                    number = by_name[route.removeprefix("step:")]
                    self.failure = self.failure or f"step {step['name']} failed: {outcome}"
                    continue
            if step.get("isEnd"):
                break
            number += 1
        self.status = CANCELLED if cancelling else (FAILED if self.failure else SUCCESS)

    def _step(self, step: Mapping[str, Any]) -> None:
        inputs = _substituted(dict(step.get("inputs") or {}), self.parameters)
        action = step.get("action")
        if action == "aws:sleep":
            self._cancel.wait(self.scaled(duration_seconds(str(inputs["Duration"]))))
            return
        service, api = str(inputs.pop("Service")), str(inputs.pop("Api"))
        client = internal_session().client(service, endpoint_url=self.endpoint_url)
        call = getattr(client, xform_name(api))
        if action == "aws:executeAwsApi":
            call(**inputs)
            return
        if action != "aws:waitForAwsResourceProperty":
            raise ValueError(f"the chaos-sre lab does not run automation action {action}")
        selector, wanted = str(inputs.pop("PropertySelector")), [str(v) for v in inputs.pop("DesiredValues")]
        deadline_polls = int(float(step.get("timeoutSeconds") or 3600) / POLL_AWS_SECONDS)
        for _ in range(max(1, deadline_polls)):
            if str(selected(call(**inputs), selector)) in wanted:
                return
            if self._cancel.wait(self.scaled(POLL_AWS_SECONDS)):
                return
        raise TimeoutError(f"{selector} never became one of {wanted}")


def document_content(text: str) -> Mapping[str, Any]:
    """A document's content (JSON; the lab's exports write JSON)."""
    return dict(json.loads(text))
