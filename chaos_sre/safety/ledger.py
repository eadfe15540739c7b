"""The run ledger: every mutation's inverse, written and fsynced before the mutation.

One JSON-lines file per run in ``$CHAOS_SRE_LEDGER_DIR`` (default
``./runs/ledgers``). An action makes its AWS calls inside
``with ledger.mutation(resource, operation, pre_state, inverse):`` - the intent
(pre-state and inverse) is written and fsynced *before* the block, and its end
writes the outcome by construction: ``done`` when the block completes,
``failed`` when AWS refused the block's first call (a 4xx answer: access
denied, invalid, throttled - nothing changed, nothing to undo), ``done`` marked
"partly applied" when AWS refused a later call of the block, and nothing at all
when the outcome is unknown (a 5xx, a timeout, an interruption): the intent
then counts as a change that may have happened. :func:`replay` applies the pending inverses newest first and marks
each one reverted, so replaying twice is harmless.

Inverse operations are plain data (``{"op": name, ...params}``) run by the
functions fault modules register with :func:`inverse`. Before its first intent
a run writes a ``context`` entry with the AWS region and endpoint it used (no
credentials), so ``chaos-sre rollback`` in another shell, after a crash,
restores in the same place.

The file's format is versioned. Format 2 (this one) opens with a ``header`` entry naming it;
a file without a header is format 1 (written before the header existed: the same entries).
Each line is checked against the schema of its ``kind`` (:data:`ENTRY`) when it is read, so a
ledger from an older chaos-sre rolls back with this one, and a damaged or newer one is a
one-line error naming the file and line, never a half-played replay.
"""

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict, TypeVar, cast

import pydantic

from chaos_sre import __version__
from chaos_sre.aws.client import TRANSIENT_ERROR_CODES, configured_endpoint, configured_region
from chaos_sre.errors import AWSError, ChaosSreError, RollbackError, ValidationError
from chaos_sre.validation import problem
from chaos_sre.waiting import retry

Operation = dict[str, Any]
"""A recorded ledger entry or inverse operation as the file holds it."""
Settings = dict[str, Any] | None
"""A run's Chaos Toolkit configuration or secrets, as an inverse receives them."""


class Inverse(pydantic.BaseModel):
    """What an inverse operation records: each inverse declares its own subclass with its
    arguments (an intent's ``inverse`` is ``{"op": name, **those arguments}`` in the file).
    Recorded arguments are checked against it when the intent is written - before the
    mutation - and when it is replayed, by this version or a later one (unknown keys that an
    older or newer version wrote are ignored)."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


class LeftChanged(TypedDict):
    """A change a restore leaves in place (a failover's writer in another AZ): the journal and
    the report name it, with how to undo it by hand."""

    resource: str
    change: str
    before: str
    after: str
    undo: str


@dataclass(frozen=True)
class Restored:
    """What an inverse did (one sentence) and, when it leaves something changed, what."""

    text: str
    left_changed: LeftChanged | None = None


A = TypeVar("A", bound=Inverse)
InverseResult = str | Restored
InverseFunc = Callable[[Any, Settings, Settings], InverseResult]
"""(its arguments, configuration, secrets) -> what it restored: one sentence, or a
:class:`Restored` that also names what it leaves changed."""


@dataclass(frozen=True)
class RegisteredInverse:
    """An inverse operation: its function, its arguments' model and what it comes after."""

    name: str
    function: InverseFunc
    arguments: type[Inverse]
    after: tuple[str, ...] = ()
    """The inverses whose restore this one builds on: capacity and traffic go back to an AZ
    (an Auto Scaling group's subnets, a load balancer's) only once its network is restored, and
    a deny-all ACL is deleted only once no subnet uses it."""


_INVERSES: dict[str, RegisteredInverse] = {}
_current: "Ledger | None" = None


def inverse(name: str, arguments: type[A], *, after: Iterable[str] = ()
            ) -> Callable[[Callable[[A, Settings, Settings], InverseResult]],
                          Callable[[A, Settings, Settings], InverseResult]]:
    """Register the function that performs the inverse operation ``name`` with ``arguments``
    (a :class:`Inverse` subclass); ``after``: the inverses it depends on."""
    def register(func: Callable[[A, Settings, Settings], InverseResult]
                 ) -> Callable[[A, Settings, Settings], InverseResult]:
        known = _INVERSES.get(name)
        if known is not None and known.function.__module__ != func.__module__:
            raise ValidationError(f"inverse operation {name!r} is registered by "
                                  f"{known.function.__module__} already; {func.__module__} must "
                                  "name its inverses otherwise")
        _INVERSES[name] = RegisteredInverse(name, func, arguments, tuple(after))
        return func
    return register


def inverse_arguments(op: Operation, where: str) -> tuple[RegisteredInverse, Inverse]:
    """The registered inverse of a recorded ``op`` and its checked arguments; a one-line
    ValidationError naming ``where`` when the operation is unknown or its arguments are not
    what it takes."""
    found = _INVERSES.get(str(op.get("op", "")))
    if found is None:
        raise ValidationError(f"{where}: unknown inverse operation {op.get('op')!r}")
    try:
        return found, found.arguments.model_validate(op)
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{where}: inverse {found.name}: "
                              f"{problem(found.arguments, exc, op)}") from None


FORMAT = 3
"""The ledger format this version writes; it reads every format up to it. 3 added ``blocked``
entries, which an older version could not read."""


class _Entry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    at: float | None = None


class HeaderEntry(_Entry):
    """The first line of a format-2 ledger."""

    kind: Literal["header"]
    format: int
    written_by: str = ""


class ContextEntry(_Entry):
    """Where the intents after it went: region, endpoint, profile, role (never credentials)."""

    kind: Literal["context"]
    aws_region: str | None = None
    aws_endpoint_url: str | None = None


class InverseOperation(pydantic.BaseModel):
    """An inverse as recorded: the registered operation's name and its arguments."""

    model_config = pydantic.ConfigDict(extra="allow")
    op: str


class IntentEntry(_Entry):
    """A mutation about to be made: what, its exact pre-state and how to undo it."""

    kind: Literal["intent"]
    seq: int
    resource: str
    operation: str
    pre_state: Any = None
    inverse: InverseOperation | None = None
    effect: bool = True


class DoneEntry(_Entry):
    kind: Literal["done"]
    seq: int
    outcome: Any = None


class FailedEntry(_Entry):
    kind: Literal["failed"]
    seq: int
    error: str = ""


class RevertedEntry(_Entry):
    kind: Literal["reverted"]
    seq: int
    outcome: Any = None
    left_changed: dict[str, str] | None = None
    """What the restore left in place (:class:`LeftChanged`); older versions ignore it."""


class BlockedEntry(_Entry):
    """A replay did not play this intent's inverse: one it builds on failed or was blocked (it
    stays pending; format 3)."""

    kind: Literal["blocked"]
    seq: int
    reason: str = ""


ENTRY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Annotated[
    HeaderEntry | ContextEntry | IntentEntry | DoneEntry | FailedEntry | RevertedEntry | BlockedEntry,
    pydantic.Field(discriminator="kind")])
"""One ledger line, by its ``kind`` (formats 1 and 2 have every kind but ``blocked``)."""


def _entry_problem(exc: pydantic.ValidationError) -> str:
    """A schema error as the end of a one-line message: where in the entry, what was expected."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "union_tag_invalid":
        return f"unknown kind {first['input'].get('kind')!r}" if isinstance(first["input"], dict) \
            else "not a ledger entry"
    if first["type"] == "union_tag_not_found":
        return "not a ledger entry (no kind)"
    where = ".".join(str(part) for part in first["loc"][1:])
    if not where:
        return "not a ledger entry (expected a JSON object)"
    return f"{where}: {first['msg'][0].lower()}{first['msg'][1:]}"


def is_registered(name: str) -> bool:
    """Whether a function performs the inverse operation ``name``."""
    return name in _INVERSES


def ledger_dir() -> Path:
    return Path(os.environ.get("CHAOS_SRE_LEDGER_DIR") or Path("runs") / "ledgers")


class Ledger:
    """An append-only, fsynced JSON-lines ledger."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seq = sum(1 for _ in self.entries())

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            if handle.tell() == 0:
                handle.write(json.dumps({"kind": "header", "format": FORMAT, "at": time.time(),
                                         "written_by": f"chaos-sre {__version__}"}) + "\n")
            handle.write(json.dumps(entry, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def entries(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        complete = text[: text.rfind("\n") + 1]  # a line torn by a crash is not an entry yet
        for number, line in enumerate(complete.splitlines(), start=1):
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{self.path} line {number}: not a ledger entry (not JSON: "
                                      f"{exc.msg})") from None
            try:
                ENTRY.validate_python(entry)
            except pydantic.ValidationError as exc:
                raise ValidationError(f"{self.path} line {number}: {_entry_problem(exc)}") from None
            if entry["kind"] == "header":
                if number != 1:
                    raise ValidationError(f"{self.path} line {number}: a header after line 1")
                if entry["format"] > FORMAT:
                    raise ValidationError(
                        f"{self.path} is ledger format {entry['format']} "
                        f"({entry.get('written_by') or 'a newer chaos-sre'}); this chaos-sre "
                        f"{__version__} reads formats 1 to {FORMAT}: roll back with the version "
                        "that wrote it")
                continue
            entries.append(entry)
        return entries

    def format(self) -> int:
        """The file's format: its header's, 1 for a file written before headers."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                first = handle.readline()
        except FileNotFoundError:
            return FORMAT
        try:
            header = json.loads(first)
        except json.JSONDecodeError:
            return 1
        return int(header["format"]) if isinstance(header, dict) and header.get("kind") == "header" \
            else 1

    def note_context(self, configuration: dict[str, Any] | None) -> None:
        """Record where the run's mutations go - region, endpoint, profile, role - (once, or when it changes)."""
        context = aws_context(configuration)
        if context != self._latest_context():
            self._append({"kind": "context", "at": time.time(), **context})

    def _latest_context(self) -> dict[str, Any]:
        contexts = [e for e in self.entries() if e["kind"] == "context"]
        return {k: contexts[-1][k] for k in CONTEXT_KEYS if k in contexts[-1]} if contexts else {}

    def contexts(self) -> dict[int, dict[str, Any]]:
        """For each intent's sequence number, the context (region, endpoint, profile, role) in force then."""
        by_intent: dict[int, dict[str, Any]] = {}
        context: dict[str, Any] = {}
        for entry in self.entries():
            if entry["kind"] == "context":
                context = {k: entry.get(k) for k in CONTEXT_KEYS}
            elif entry["kind"] == "intent":
                by_intent[entry["seq"]] = context
        return by_intent

    def record(self, resource: str, operation: str, pre_state: Any,
               inverse_op: dict[str, Any] | None, *, effect: bool = True) -> int:
        """Write the intent (pre-state and inverse) before mutating; return its sequence number.

        ``effect=False`` marks a preparation that does not touch the service by
        itself (creating a network ACL no subnet uses yet): it is undone like any
        change, but it does not start the fault.
        """
        if inverse_op is not None:
            inverse_arguments(inverse_op, f"the intent for {resource}")
        self._seq += 1
        entry = {"seq": self._seq, "kind": "intent", "at": time.time(), "resource": resource,
                 "operation": operation, "pre_state": pre_state, "inverse": inverse_op}
        if not effect:
            entry["effect"] = False
        self._append(entry)
        return self._seq

    @contextmanager
    def mutation(self, resource: str, operation: str, pre_state: Any,
                 inverse_op: dict[str, Any] | None, *, effect: bool = True) -> Iterator["Mutation"]:
        """Record the intent, run the block's AWS calls, record how it ended (see the module doc).

        The block calls :meth:`Mutation.applied` after each AWS call that changed
        something, and may set :attr:`Mutation.outcome` for the ``done`` entry.
        """
        mutation = Mutation(self.record(resource, operation, pre_state, inverse_op, effect=effect))
        try:
            yield mutation
        except AWSError as exc:
            if not exc.refused:
                raise  # a 5xx, a timeout, a lost connection: the change may have happened
            if mutation.calls_applied:
                self.done(mutation.seq, f"partly applied: {exc}")
            else:
                self.failed(mutation.seq, str(exc))
            raise
        self.done(mutation.seq, mutation.outcome)

    def done(self, seq: int, outcome: Any = None) -> None:
        """Record that the mutation ``seq`` was made."""
        self._append({"seq": seq, "kind": "done", "at": time.time(), "outcome": outcome})

    def failed(self, seq: int, error: str) -> None:
        """Record that AWS refused the mutation ``seq``: nothing changed, nothing to undo."""
        self._append({"seq": seq, "kind": "failed", "at": time.time(), "error": error})

    def reverted(self, seq: int, outcome: str, left_changed: LeftChanged | None = None) -> None:
        """Record that the inverse of ``seq`` ran, and what it left changed, if anything."""
        self._append({"seq": seq, "kind": "reverted", "at": time.time(), "outcome": outcome,
                      **({"left_changed": left_changed} if left_changed else {})})

    def left_changed(self) -> list[LeftChanged]:
        """What this run's restores left changed, oldest first."""
        return [cast(LeftChanged, e["left_changed"]) for e in self.entries()
                if e["kind"] == "reverted" and e.get("left_changed")]

    def blocked(self, seq: int, reason: str) -> None:
        """Record that a replay did not play the inverse of ``seq`` and why (it stays pending)."""
        self._append({"seq": seq, "kind": "blocked", "at": time.time(), "reason": reason})

    def pending(self) -> list[dict[str, Any]]:
        """Intents with an inverse that were not reverted (or refused by AWS) yet, newest first."""
        entries = self.entries()
        reverted = {e["seq"] for e in entries if e["kind"] in ("reverted", "failed")}
        return [e for e in reversed(entries)
                if e["kind"] == "intent" and e.get("inverse") and e["seq"] not in reverted]

    def intents(self) -> list[dict[str, Any]]:
        """Intents AWS did not refuse, oldest first: changes that may have reached AWS."""
        entries = self.entries()
        refused = {e["seq"] for e in entries if e["kind"] == "failed"}
        return [e for e in entries if e["kind"] == "intent" and e["seq"] not in refused]

    def targets(self) -> list[str]:
        """What the recorded changes touched, ``resource: operation``, oldest first (refused ones left out)."""
        return [f"{e['resource']}{_members(e.get('pre_state'))}: {e['operation']}"
                for e in self.intents()]

    def mutated(self) -> bool:
        """Whether any recorded mutation may have reached AWS (an intent AWS did not refuse)."""
        return bool(self.intents())

    def injected(self) -> bool:
        """Whether a mutation acting on the service may have reached AWS: the fault started.

        Refused intents and preparations (``effect=False``) do not count.
        """
        return self.injected_at() is not None

    def injected_at(self) -> float | None:
        """When the first mutation acting on the service was about to reach AWS (its intent's
        time; refused intents and preparations do not count), or None when none did."""
        return next((float(e["at"]) for e in self.intents() if e.get("effect", True)), None)


class Mutation:
    """One recorded mutation in progress: its sequence number and what its block reports."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.calls_applied = 0
        self.outcome: Any = None

    def applied(self) -> None:
        """Note that one of the block's AWS calls succeeded: a later refusal leaves a partial change."""
        self.calls_applied += 1


CONTEXT_KEYS = ("aws_region", "aws_endpoint_url", "aws_profile_name", "aws_assume_role_arn",
                "aws_assume_role_session_name")
"""What a restore needs to reach the account a mutation went to (Chaos Toolkit's AWS keys)."""


def _members(pre_state: Any) -> str:
    """`` (i-1, i-2)`` for an intent over several instances, else nothing."""
    members = pre_state.get("instance_ids") if isinstance(pre_state, dict) else None
    return f" ({', '.join(map(str, members))})" if isinstance(members, list) and members else ""


def aws_context(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """Where AWS calls go for ``configuration``: region, endpoint, profile and role to assume
    (never credentials; profile and role only when set), so `chaos-sre rollback` acts as the run did."""
    configuration = configuration or {}
    return {
        "aws_region": configured_region(configuration),
        "aws_endpoint_url": configured_endpoint(configuration),
        **{key: configuration[key] for key in CONTEXT_KEYS[2:] if configuration.get(key)},
    }


def current_ledger(configuration: dict[str, Any] | None = None) -> Ledger:
    """The ledger of the run in this process (created on first use).

    Fault actions pass their ``configuration`` (``{}`` when they have none: the
    environment decides) so the ledger knows where their mutations go before it
    records them.
    """
    global _current
    if _current is None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        _current = Ledger(ledger_dir() / f"run-{stamp}-{os.getpid()}.jsonl")
    if configuration is not None:
        _current.note_context(configuration)
    return _current


def run_ledger() -> Ledger | None:
    """The ledger of the run in this process, if a fault action opened one."""
    return _current


INVERSE_ATTEMPTS = 6


def _with_retries(func: InverseFunc, op: Inverse, where: dict[str, Any] | None,
                  secrets: dict[str, Any] | None) -> InverseResult:
    """Run an inverse, again after a transient AWS error (throttling, 5xx) that outlasted the
    SDK's own retries (:func:`chaos_sre.waiting.retry`, up to 6 attempts): inverses restore
    recorded state, so repeating one is safe, and a restore must not give up on one bad second
    of the API."""
    return retry(lambda: func(op, where, secrets),
                 retryable=lambda error: error.code in TRANSIENT_ERROR_CODES,
                 attempts=INVERSE_ATTEMPTS)


@dataclass(frozen=True)
class _Step:
    """A pending intent and its inverse, as a replay plays it."""

    entry: dict[str, Any]
    found: RegisteredInverse
    arguments: Inverse

    @property
    def seq(self) -> int:
        return int(self.entry["seq"])

    @property
    def named(self) -> str:
        return f"{self.entry['resource']} ({self.found.name})"


def _prerequisites(step: _Step, steps: list[_Step]) -> list[_Step]:
    """The pending steps whose inverse ``step``'s builds on (its ``after``)."""
    return [other for other in steps if other is not step and other.found.name in step.found.after]


def _next_step(remaining: list[_Step], settled: dict[int, str], steps: list[_Step]) -> _Step:
    """The newest remaining step whose prerequisites are all settled (with a dependency cycle,
    which no declaration should make, the newest remaining one)."""
    return next((step for step in remaining
                 if all(p.seq in settled for p in _prerequisites(step, steps))), remaining[0])


def replay(ledger: Ledger, configuration: dict[str, Any] | None = None,
           secrets: dict[str, Any] | None = None) -> list[str]:
    """Apply every pending inverse - newest first, except that an inverse waits for those it
    builds on (its ``after``: an Auto Scaling group's subnets go back only once the AZ's network
    is restored) - and return what each did.

    Without ``configuration`` each inverse runs where its mutation went (the
    ledger's context). An inverse that fails stays pending; one that builds on a failed (or
    blocked) inverse is not played, is recorded ``blocked`` with the reason and stays pending;
    the others are still tried. A :class:`RollbackError` then names what failed, what is
    blocked and the command that finishes the job once the cause is removed - replaying again
    plays what is pending and blocked, in dependency order. Every inverse is checked against its
    model before any is played.
    """
    contexts = ledger.contexts()
    steps = [_Step(entry, *inverse_arguments(entry["inverse"], f"ledger {ledger.path}"))
             for entry in ledger.pending()]
    results: list[str] = []
    failures: list[str] = []
    blocked: list[str] = []
    settled: dict[int, str] = {}
    remaining = list(steps)
    while remaining:
        step = _next_step(remaining, settled, steps)
        remaining.remove(step)
        unrestored = [p for p in _prerequisites(step, steps) if settled.get(p.seq) != "reverted"]
        if unrestored:
            first = unrestored[0]
            reason = (f"{step.named} builds on {first.found.name} of {first.entry['resource']}, "
                      f"which {'failed' if settled.get(first.seq) == 'failed' else 'is blocked'}")
            ledger.blocked(step.seq, reason)
            settled[step.seq] = "blocked"
            blocked.append(reason)
            continue
        where = configuration if configuration is not None else {
            k: v for k, v in contexts.get(step.seq, {}).items() if v}
        try:
            outcome = _with_retries(step.found.function, step.arguments, where, secrets)
        except ChaosSreError as exc:
            settled[step.seq] = "failed"
            failures.append(f"{step.entry['resource']}: {exc}")
            continue
        settled[step.seq] = "reverted"
        done = outcome if isinstance(outcome, Restored) else Restored(outcome)
        ledger.reverted(step.seq, done.text, done.left_changed)
        results.append(done.text)
    if failures or blocked:
        restored = f"; restored {len(results)} other change(s)" if results else ""
        waiting = f"; not played, blocked: {' | '.join(blocked)}" if blocked else ""
        raise RollbackError(f"could not restore {len(failures) + len(blocked)} change(s), still "
                            f"pending in {ledger.path}: " + " | ".join(failures) + waiting + restored
                            + f"; once the cause is removed, run: chaos-sre rollback --ledger {ledger.path}")
    return results
