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

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count_requests(client: Any) -> None:
    """Count every request ``client`` sends (botocore's ``before-send`` event)."""
    signing = client.meta.service_model.signing_name

    def counted(event_name: str, **_: Any) -> None:
        with _lock:
            _counts[iam_action(signing, event_name.rsplit(".", 1)[-1])] += 1

    client.meta.events.register("before-send", counted)


def snapshot() -> Counter[str]:
    """The requests counted so far, by IAM action."""
    with _lock:
        return Counter(_counts)


def since(before: Counter[str]) -> dict[str, int]:
    """The requests counted after ``before`` (a :func:`snapshot`), by action, sorted."""
    now = snapshot()
    return {action: now[action] - before[action] for action in sorted(now)
            if now[action] > before[action]}
