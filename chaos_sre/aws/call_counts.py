"""How many AWS API requests this process made, by IAM action.

Every client :func:`chaos_sre.aws.client.aws_client` builds counts each HTTP request it sends -
retries included, since each one draws on the account's API rate limits ("Request throttling
for the Amazon EC2 API": Describe calls share one bucket per account and Region). The control
takes a snapshot when a run starts and writes the difference into the journal (``aws_calls``),
so a run says what it asked of the account's shared limits.
"""

import threading
from collections import Counter
from typing import Any

from chaos_sre.aws.iam_names import iam_action


class RequestCounts:
    """Requests counted by IAM action, from any thread."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, action: str) -> None:
        with self._lock:
            self._counts[action] += 1

    def snapshot(self) -> Counter[str]:
        """The requests counted so far, by IAM action."""
        with self._lock:
            return Counter(self._counts)


PROCESS = RequestCounts()
"""This process's requests (what the control's snapshots read)."""


def count_requests(client: Any, into: RequestCounts = PROCESS) -> None:
    """Count every request ``client`` sends (botocore's ``before-send`` event) ``into``."""
    signing = client.meta.service_model.signing_name

    def counted(event_name: str, **_: Any) -> None:
        into.add(iam_action(signing, event_name.rsplit(".", 1)[-1]))

    client.meta.events.register("before-send", counted)


def snapshot() -> Counter[str]:
    """The requests this process counted so far, by IAM action."""
    return PROCESS.snapshot()


def since(before: Counter[str]) -> dict[str, int]:
    """The requests counted after ``before`` (a :func:`snapshot`), by action, sorted."""
    now = snapshot()
    return {action: now[action] - before[action] for action in sorted(now)
            if now[action] > before[action]}
