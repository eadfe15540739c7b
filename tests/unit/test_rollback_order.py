"""The ledger's replay follows the inverses' dependencies: a prerequisite is restored before what
builds on it (even when it is older), and what builds on a restore that failed is not played -
it is recorded as blocked, with the reason - until a later replay, after the cause is removed,
plays what is pending and blocked in dependency order. Pure logic: inverses registered here act
on a dictionary, not on AWS."""

from pathlib import Path

import pytest

from chaos_sre.errors import AWSError, RollbackError
from chaos_sre.safety.ledger import Inverse, Ledger, Settings, inverse, replay

PLAYED: list[str] = []
BROKEN: set[str] = set()


class Step(Inverse):
    name: str


def _play(op: Step) -> str:
    if op.name in BROKEN:
        raise AWSError(f"AccessDenied: restoring {op.name} refused", code="AccessDenied")
    PLAYED.append(op.name)
    return f"{op.name} restored"


@inverse("test_network", Step)
def _network(op: Step, configuration: Settings, secrets: Settings) -> str:
    return _play(op)


@inverse("test_capacity", Step, after=["test_network"])
def _capacity(op: Step, configuration: Settings, secrets: Settings) -> str:
    return _play(op)


@inverse("test_rebalance", Step, after=["test_capacity"])
def _rebalance(op: Step, configuration: Settings, secrets: Settings) -> str:
    return _play(op)


@inverse("test_other", Step)
def _other(op: Step, configuration: Settings, secrets: Settings) -> str:
    return _play(op)


def _blackhole_like(path: Path) -> Ledger:
    """Changes in the order az-blackhole makes them: the group's rebalancing suspended, another
    family's change, the subnet cut off, then the group's subnets shrunk - so newest first
    would give capacity back before the network."""
    ledger = Ledger(path)
    for name, op in (("rebalance", "test_rebalance"), ("other", "test_other"),
                     ("network", "test_network"), ("capacity", "test_capacity")):
        with ledger.mutation(f"test:{name}", name, {}, {"op": op, "name": name}):
            pass
    return ledger


@pytest.fixture(autouse=True)
def _clean() -> None:
    PLAYED.clear()
    BROKEN.clear()


def test_a_prerequisite_is_restored_before_what_builds_on_it(tmp_path: Path) -> None:
    ledger = _blackhole_like(tmp_path / "run.jsonl")
    # newest first, except that an inverse waits for those it builds on
    assert replay(ledger, {}) == ["network restored", "capacity restored", "other restored",
                                  "rebalance restored"]
    assert PLAYED == ["network", "capacity", "other", "rebalance"]
    assert ledger.pending() == []


def test_what_builds_on_a_failed_restore_is_blocked_then_played_once_the_cause_is_gone(
        tmp_path: Path) -> None:
    ledger = _blackhole_like(tmp_path / "run.jsonl")
    BROKEN.add("network")
    with pytest.raises(RollbackError) as failed:
        replay(ledger, {})
    message = str(failed.value)
    assert "test:network: AccessDenied: restoring network refused" in message
    assert ("not played, blocked: test:capacity (test_capacity) builds on test_network of "
            "test:network, which failed") in message
    assert "test:rebalance (test_rebalance) builds on test_capacity of test:capacity, which is blocked" \
        in message
    assert f"once the cause is removed, run: chaos-sre rollback --ledger {ledger.path}" in message
    assert "\n" not in message
    assert PLAYED == ["other"]  # unrelated changes are still restored
    blocked = {e["seq"]: e["reason"] for e in ledger.entries() if e["kind"] == "blocked"}
    assert sorted(blocked) == [1, 4] and "which failed" in blocked[4]
    assert [e["resource"] for e in ledger.pending()] == ["test:capacity", "test:network",
                                                         "test:rebalance"]

    BROKEN.clear()
    assert replay(Ledger(ledger.path), {}) == ["network restored", "capacity restored",
                                               "rebalance restored"]
    assert PLAYED == ["other", "network", "capacity", "rebalance"]
    assert Ledger(ledger.path).pending() == []
