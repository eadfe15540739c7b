"""Adversity on demand: the lab's load balancer misbehaves as a test tells it to.

``PUT $CHAOS_SRE_TARGET_URL/__lab/adversity?effect=E&...`` adds a rule,
``GET`` lists the rules, ``DELETE`` clears them. A rule acts on a share of the
requests from its start, for a while or for good:

* ``effect``: ``error`` (answer ``status``, default 500), ``hang`` (no answer
  until the client gives up; after the ALB's 60 s idle timeout, 504) or
  ``slow`` (answer ``delay`` seconds later than usual);
* ``share``: the share of requests it hits, 0-1 (default 1);
* ``start``: ``now`` (default), or ``fault`` - the next fault the lab observes
  after the rule was set (an instance terminated, a subnet cut off, ...);
* ``after``: seconds from the start before it acts (default 0);
* ``for``: seconds it acts (default: for good);
* ``seed``: for a reproducible choice of the requests it hits.

So a test can make a service that never fully recovers (``effect=error&share=0.01
&start=fault``), an outage that begins late (``start=fault&after=5&for=3``), or a
sampler that meets hangs. Requests it fails are recorded in the ground truth
(``/__lab/timeline``) with cause ``adversity-<status>`` or ``adversity-hang``.
"""

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

from chaos_sre.errors import ValidationError

EFFECTS = ("error", "hang", "slow")
STARTS = ("now", "fault")
ALB_IDLE_TIMEOUT_SECONDS = 60.0


@dataclass
class Rule:
    """One way the load balancer misbehaves (see the module docstring)."""

    effect: str
    share: float = 1.0
    status: int = 500
    delay: float = 0.0
    start: str = "now"
    after: float = 0.0
    duration: float | None = None
    set_at: float = field(default_factory=time.time)
    starts_at: float | None = None
    """When it acts from (epoch seconds); None while it waits for a fault."""
    seed: int | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        if self.start == "now":
            self.starts_at = self.set_at + self.after

    def acts(self, now: float) -> bool:
        """Whether it acts on a request arriving ``now`` (drawing against its share)."""
        if self.starts_at is None or now < self.starts_at:
            return False
        if self.duration is not None and now >= self.starts_at + self.duration:
            return False
        return self.share >= 1.0 or self._random.random() < self.share

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def parse_rule(query: str) -> Rule:
    """A rule from ``effect=...&share=...`` (one-line ValidationError for a bad field)."""
    fields = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = sorted(set(fields) - {"effect", "share", "status", "delay", "start", "after",
                                    "for", "seed"})
    if unknown:
        raise ValidationError(f"unknown adversity field {unknown[0]!r}")
    effect = fields.get("effect", "")
    if effect not in EFFECTS:
        raise ValidationError(f"effect must be one of {', '.join(EFFECTS)}, got {effect!r}")
    start = fields.get("start", "now")
    if start not in STARTS:
        raise ValidationError(f"start must be now or fault, got {start!r}")
    try:
        share = float(fields.get("share", 1))
        status = int(fields.get("status", 500))
        delay = float(fields.get("delay", 0))
        after = float(fields.get("after", 0))
        duration = float(fields["for"]) if "for" in fields else None
        seed = int(fields["seed"]) if "seed" in fields else None
    except ValueError as exc:
        raise ValidationError(f"adversity fields share, delay, after, for are numbers and status, "
                              f"seed whole numbers: {exc}") from None
    if not 0 <= share <= 1 or not 500 <= status <= 599 or delay < 0 or after < 0 \
            or (duration is not None and duration <= 0):
        raise ValidationError("share must be 0-1, status 500-599, delay and after >= 0, for > 0")
    return Rule(effect, share, status, delay, start, after, duration, seed=seed)


class Adversity:
    """The rules in force; ``first_fault_since(t)`` tells when the lab saw a fault after ``t``."""

    def __init__(self, first_fault_since: Callable[[float], float | None]) -> None:
        self._first_fault_since = first_fault_since
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def effect(self, now: float | None = None) -> Rule | None:
        """The first rule acting on a request arriving now, or None."""
        if not self._rules:  # the endpoint asks for every request: nothing to do without rules
            return None
        moment = time.time() if now is None else now
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            if rule.starts_at is None:
                fault_at = self._first_fault_since(rule.set_at)
                if fault_at is None:
                    continue
                rule.starts_at = fault_at + rule.after
            if rule.acts(moment):
                return rule
        return None

    def answer(self, method: str, query: str) -> tuple[int, bytes]:
        """``/__lab/adversity``: GET lists the rules, PUT adds one, DELETE clears them."""
        if method == "PUT":
            try:
                rule = parse_rule(query)
            except ValidationError as exc:
                return 400, json.dumps({"error": str(exc)}).encode()
            with self._lock:
                self._rules.append(rule)
        elif method == "DELETE":
            with self._lock:
                self._rules.clear()
        elif method != "GET":
            return 405, b'{"error": "use GET, PUT ?effect=...&share=... or DELETE"}'
        with self._lock:
            rules = [rule.as_dict() for rule in self._rules]
        return 200, json.dumps({"rules": rules}).encode()
