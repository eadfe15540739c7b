"""S3 replication as the lab plays it (moto stores a bucket's replication configuration and
replicates nothing).

* An object written to a bucket whose replication configuration has an enabled rule matching its
  key is ``PENDING`` (``x-amz-replication-status``), copied to the rule's destination bucket after
  :data:`REPLICATION_SECONDS`, then ``COMPLETED``; the copy is a ``REPLICA``. Of several matching
  rules, the one with the highest priority decides ("Replication configuration file elements").
* An object written while no enabled rule matches it is never replicated - not when the rule is
  enabled again either ("Managing or pausing live replication": those objects need S3 Batch
  Replication); one still pending when its rule goes is ``FAILED`` (lab assumption).
* FIS's ``aws:s3:bucket-pause-replication`` pauses a bucket's replication (to some destinations,
  for some prefixes) for a duration: objects written meanwhile stay ``PENDING`` and are replicated
  once it ends; objects already pending may still be ("Existing objects may continue to be
  replicated for up to one hour after action begins", AWS FIS actions reference).

Each enabled rule that stops replicating - disabled, removed, or paused by FIS - is a fault on the
lab's timeline (``s3-replication-paused``); replicating again is ``s3-replication-resumed``.
"""

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.simulation import SimulationContext

REPLICATION_SECONDS = 5.0
"""AWS seconds from a write to its replica (lab assumption: S3 replicates most objects within
seconds; S3 Replication Time Control promises 99.99 % within 15 minutes)."""
PENDING, COMPLETED, FAILED, REPLICA = "PENDING", "COMPLETED", "FAILED", "REPLICA"
PARTITION = "aws"


@dataclass(frozen=True)
class Rule:
    """One replication rule as the lab reads it."""

    rule_id: str
    enabled: bool
    priority: int
    prefix: str
    destination: str
    """The destination bucket's name."""


def rules_of(configuration: Mapping[str, Any] | None) -> list[Rule]:
    """A replication configuration's rules (moto's parsed XML, or boto3's shape)."""
    if not configuration:
        return []
    found = configuration.get("Rule", configuration.get("Rules", []))
    rules = []
    for rule in found if isinstance(found, list) else [found]:
        filters = rule.get("Filter") or {}
        prefix = filters.get("Prefix", (filters.get("And") or {}).get("Prefix", rule.get("Prefix", "")))
        destination = str((rule.get("Destination") or {}).get("Bucket", "")).rsplit(":", 1)[-1]
        rules.append(Rule(str(rule.get("ID", "")), rule.get("Status") == "Enabled",
                          int(rule.get("Priority") or 0), str(prefix or ""), destination))
    return rules


def matching(rules: Iterable[Rule], key: str) -> Rule | None:
    """The rule that decides ``key``'s replication: of the rules whose prefix it has, the one of
    the highest priority (None: no rule, or that rule is disabled)."""
    found = sorted((r for r in rules if key.startswith(r.prefix)), key=lambda r: -r.priority)
    return found[0] if found and found[0].enabled else None


@dataclass(frozen=True)
class Pause:
    """FIS's pause of a bucket's replication."""

    holder: str
    destinations: frozenset[str]
    """Destination bucket names (empty: every destination)."""
    prefixes: frozenset[str]
    """Rule prefixes (empty: every rule)."""

    def holds(self, rule: Rule) -> bool:
        return (not self.destinations or rule.destination in self.destinations) and \
            (not self.prefixes or rule.prefix in self.prefixes)


@dataclass
class Replication:
    """Every bucket's objects on their way to their replicas, and FIS's pauses."""

    context: SimulationContext
    _pending: deque[tuple[float, str, str, str | None, Rule]] = field(default_factory=deque)
    _status: dict[tuple[str, str, str | None], str] = field(default_factory=dict)
    _pauses: dict[str, list[Pause]] = field(default_factory=dict)
    _held: dict[str, list[tuple[float, str, str, str | None, Rule]]] = field(default_factory=dict)
    """Per bucket, the objects a pause holds, in order: back in the queue when it ends (not looked
    at again every tick while it lasts)."""
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def written(self, bucket: str, key: str, version: str | None, now: float) -> None:
        """An object was written: PENDING when an enabled rule replicates it."""
        with self._lock:
            if self._status.get((bucket, key, version)) == REPLICA:
                return
            configuration = getattr(moto_backend("s3", region=PARTITION).get_bucket(bucket), "replication", None)
            rule = matching(rules_of(configuration), key)
            if rule is None:
                return
            self._status[(bucket, key, version)] = PENDING
            self._pending.append((now, bucket, key, version, rule))

    def status(self, bucket: str, key: str, version: str | None) -> str | None:
        """The object's ``x-amz-replication-status`` (None: not replicated)."""
        with self._lock:
            return self._status.get((bucket, key, version))

    def pause(self, bucket: str, pause: Pause) -> None:
        """FIS pauses the bucket's replication (the rules ``pause`` holds)."""
        with self._lock:
            self._pauses.setdefault(bucket, []).append(pause)
        self.context.timeline.event("s3-replication-paused", bucket, by="fis")

    def resume(self, bucket: str, holder: str) -> None:
        """FIS's pause ``holder`` ends: what it held is replicated again."""
        with self._lock:
            self._pauses[bucket] = [p for p in self._pauses.get(bucket, []) if p.holder != holder]
            self._pending.extendleft(reversed(self._held.pop(bucket, [])))
        self.context.timeline.event("s3-replication-resumed", bucket, by="fis")

    def configuration_changed(self, bucket: str, before: list[Rule], after: list[Rule]) -> None:
        """Record on the timeline the enabled rules a new configuration stops, or starts again."""
        was = {r.rule_id for r in before if r.enabled}
        now = {r.rule_id for r in after if r.enabled}
        if was - now:
            self.context.timeline.event("s3-replication-paused", bucket, rules=sorted(was - now))
        if now - was:
            self.context.timeline.event("s3-replication-resumed", bucket, rules=sorted(now - was))

    def tick(self, now: float) -> None:
        """Copy each pending object whose time has come, unless FIS pauses its rule."""
        wait = self.context.scaled(REPLICATION_SECONDS)
        s3 = moto_backend("s3", region=PARTITION)
        with self._lock:
            while self._pending and self._pending[0][0] + wait <= now:
                entry = self._pending.popleft()
                _, bucket, key, version, rule = entry
                if any(p.holds(rule) for p in self._pauses.get(bucket, [])):
                    self._held.setdefault(bucket, []).append(entry)
                    continue
                now_rule = matching(rules_of(getattr(s3.buckets.get(bucket), "replication", None)), key)
                if now_rule is None or now_rule.destination != rule.destination:
                    self._status[(bucket, key, version)] = FAILED  # its rule went while it waited
                    continue
                source = s3.get_object(bucket, key, version_id=version)
                if source is not None and rule.destination in s3.buckets:
                    copy = s3.put_object(rule.destination, key, source.value)
                    self._status[(rule.destination, key, copy.version_id)] = REPLICA
                self._status[(bucket, key, version)] = COMPLETED

    def counts(self) -> dict[str, int]:
        """How many objects are pending and completed (``lab status``)."""
        with self._lock:
            values = list(self._status.values())
        return {"pending": values.count(PENDING), "completed": values.count(COMPLETED),
                "failed": values.count(FAILED)}
