"""The lab's own API (``/__lab/...`` on its endpoint, :mod:`chaos_sre.lab.core.lab_routes`) as a
typed client: what ``chaos-sre lab status``, the tests and the benchmarks read and set.

``python -m chaos_sre.lab.client attach-policy KEY FILE`` attaches a policy from a shell (the
lab's environment names the endpoint: ``CHAOS_SRE_TARGET_URL``), and ``python -m
chaos_sre.lab.client save PATH FILE...`` saves the answers of GET paths, for a run that
outlives the lab it ran against.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from chaos_sre.errors import LabError

TIMEOUT_SECONDS = 10.0


class LabClient:
    """The ``/__lab`` API of the lab whose endpoint is ``target_url``."""

    def __init__(self, target_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target_url = target_url.rstrip("/")
        self.timeout = timeout

    def _send(self, method: str, path: str, params: dict[str, str] | None = None,
              body: Any = None) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.target_url}/__lab/{path}{query}", data=data,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise LabError(f"the lab answered {method} /__lab/{path} with HTTP {exc.code}: "
                           f"{exc.read().decode(errors='replace')[:200]}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise LabError(f"the lab at {self.target_url} is not answering: {exc}") from None
        except json.JSONDecodeError as exc:
            raise LabError(f"the lab answered /__lab/{path} with no JSON: {exc.msg}") from None

    def get(self, path: str) -> Any:
        """The JSON answer of ``GET /__lab/PATH``."""
        return self._send("GET", path)

    def status(self) -> dict[str, Any]:
        """What ``chaos-sre lab status`` shows: each service's state, API calls and faults."""
        return dict(self.get("status"))

    def timeline(self) -> dict[str, Any]:
        """The ground truth: faults observed, request outcomes, impact."""
        return dict(self.get("timeline"))

    def reset_timeline(self) -> None:
        self._send("DELETE", "timeline")

    def api_calls(self) -> list[tuple[float, str]]:
        """Every API call callers made: (epoch seconds, IAM action), oldest first."""
        return [(float(at), str(action)) for at, action in self.get("api-calls")]

    def mutations(self) -> list[dict[str, Any]]:
        """Every mutating call with the resources it named, oldest first."""
        return list(self.get("mutations"))

    def attach_policy(self, document: dict[str, Any] | None, principal: str) -> None:
        """Hold callers signing with access key ``principal`` to the IAM policy ``document``
        (None: detach it)."""
        if document is None:
            self._send("DELETE", "iam/policy", {"principal": principal})
        else:
            self._send("PUT", "iam/policy", {"principal": principal}, document)

    def iam_requests(self, principal: str) -> list[dict[str, Any]]:
        """The IAM requests the lab evaluated for ``principal``, each with ``allowed``."""
        return list(self.get("iam/requests")["requests"].get(principal, []))

    def deny(self, *actions: str) -> list[str]:
        """Deny these IAM actions to callers (none: allow everything again); the denied ones."""
        answer = self._send("PUT", "iam/denied", {"actions": ",".join(actions)}) if actions \
            else self._send("DELETE", "iam/denied")
        return list(answer["denied_actions"])

    def set_adversity(self, rule: dict[str, Any]) -> None:
        """Set the endpoint's adversity (``/__lab/adversity``: a fault on for good, say)."""
        self._send("PUT", "adversity", {k: str(v) for k, v in rule.items()})


def main(argv: list[str]) -> int:
    """``attach-policy KEY FILE`` or ``save PATH FILE [PATH FILE...]`` against the lab named by
    ``CHAOS_SRE_TARGET_URL``."""
    client = LabClient(os.environ["CHAOS_SRE_TARGET_URL"])
    command, arguments = argv[0], argv[1:]
    try:
        if command == "attach-policy":
            client.attach_policy(json.loads(Path(arguments[1]).read_text()), arguments[0])
            return 0
        if command == "save":
            for path, file in zip(arguments[::2], arguments[1::2], strict=True):
                Path(file).write_text(json.dumps(client.get(path.removeprefix("/__lab/"))))
            return 0
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"unknown command {command!r} (attach-policy, save)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
