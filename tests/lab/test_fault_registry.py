"""The fault registry: each fault declared once, its argument model shared by `chaos-sre validate`
and the runtime, and fault families from other packages found through the `chaos_sre.faults`
entry-point group by discovery, validation, `chaos-sre iam policy` and rollback alike
(tests/fault_plugin_sample.py is such a family)."""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAOS, CLI, ROOT, RunningLab, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos_sre.errors import ArgumentError, ChaosSreError
from chaos_sre.faults import registry
from chaos_sre.safety.validate import check_activity

FAULTS = registry.load()
VALID = {
    "terminate_az_instances": {"az": "us-east-1a", "tags": "app=web"},
    "blackhole_az": {"az": "us-east-1a", "tags": "app=web"},
    "failover": {"db_cluster_identifier": "orders"},
    "throttle_table": {"table_name": "sessions"},
    "set_desired_count": {"cluster": "staging", "service": "api", "desired_count": 1},
    "scale_service_to_zero": {"cluster": "staging", "service": "api"},
    "throttle_function": {"function_name": "api-worker"},
    "deny_bucket_access": {"bucket_name": "uploads", "role_name": "web-app"},
    "pause_replication": {"bucket_name": "uploads"},
    "fail_invocations": {"function_name": "api-worker"},
    "add_invocation_delay": {"function_name": "api-worker"},
}
"""Arguments each shipped fault accepts (the property test varies one at a time)."""

ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
    st.text(max_size=8), st.sampled_from(["3", "3.0", "3.5", "-1", "true", "no", "1e3", "", " "]),
    st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=4), st.integers()), max_size=2))


def test_every_shipped_fault_is_registered_with_permissions_and_inverses() -> None:
    names = {name for (_, name) in FAULTS}
    assert names == set(VALID)
    for fault in FAULTS.values():
        assert fault.permissions and fault.reads, fault.name
        assert all(":" in p.action for p in (*fault.permissions, *fault.reads))
        assert fault.inverses, fault.name


def test_arguments_are_coerced_once_and_bad_ones_are_one_line_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """validate once accepted count "3.0" and terminate_az_instances then raised a bare
    ValueError; the argument model now coerces it for both, and refuses "3.5" for both."""
    fault = FAULTS[("chaos_sre.faults.az", "terminate_az_instances")]
    assert fault.arguments({"az": "us-east-1a", "count": "3.0", "stop": "yes"})["count"] == 3
    with pytest.raises(ArgumentError, match=r"^argument count: expected a whole number or null, got '3.5'$"):
        fault.arguments({"az": "us-east-1a", "count": "3.5"})
    with pytest.raises(ArgumentError, match=r"^argument az is required$"):
        fault.arguments({})
    with pytest.raises(ArgumentError, match=r"^unknown argument 'zone' \(known: az, tags"):
        fault.arguments({"az": "us-east-1a", "zone": "us-east-1b"})
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ArgumentError, match=r"^terminate_az_instances: argument az: expected a string"):
        fault.function(az=5, tags="app=web")


@pytest.mark.parametrize("name", sorted(VALID))
def test_validate_and_the_runtime_accept_the_same_values(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Property: for every argument of every fault and any value, `chaos-sre validate` accepts it
    exactly when the runtime's argument check does, and the runtime raises nothing but
    chaos-sre's own one-line errors. The runtime runs until its first AWS client, which finds no
    region: past the argument model, before any AWS call."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    fault = next(f for (_, n), f in FAULTS.items() if n == name)
    arguments = [a for a in fault.model.model_fields if a != "dry_run"]

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(argument=st.sampled_from(arguments), value=ANY_VALUE)
    def agree(argument: str, value: Any) -> None:
        values = {**VALID[name], argument: value}
        activity = {"type": "action", "name": name, "provider": {
            "type": "python", "module": fault.module, "func": name, "arguments": values}}
        try:
            check_activity(activity, {}, "test")
            validate_accepts = True
        except ChaosSreError:
            validate_accepts = False
        try:
            fault.function(**values, dry_run=True, configuration={})
            runtime_accepts = True
        except ArgumentError:
            runtime_accepts = False
        except ChaosSreError as exc:
            assert "\n" not in str(exc)
            runtime_accepts = True
        assert validate_accepts == runtime_accepts, (argument, value)

    agree()


PLUGIN_EXPERIMENT = {
    "version": "1.0.0", "title": "a third-party fault", "description": "registry test",
    "configuration": {"aws_region": "us-east-1"},
    "method": [{"type": "action", "name": "label", "provider": {
        "type": "python", "module": "fault_plugin_sample", "func": "label_instances",
        "arguments": {"az": "us-east-1a", "label": "game-day"}}}],
    "rollbacks": [{"type": "action", "name": "restore", "provider": {
        "type": "python", "module": "chaos_sre.safety.rollback", "func": "restore_run"}}],
}


def plugin_environment(tmp_path: Path) -> dict[str, str]:
    """An environment where tests/fault_plugin_sample.py is installed as another package's fault
    family: a distribution's metadata with an entry point in the `chaos_sre.faults` group."""
    site = tmp_path / "site"
    dist = site / "chaos_sre_sample_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: chaos-sre-sample-plugin\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text("[chaos_sre.faults]\nsample = fault_plugin_sample\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "tests")])}


def test_a_third_party_fault_is_discovered_validated_and_in_the_policy(tmp_path: Path) -> None:
    env = plugin_environment(tmp_path)
    discovered = tmp_path / "discovery.json"
    result = subprocess.run([CHAOS, "discover", "--no-system-info", "--no-install",
                             "--discovery-path", str(discovered), "chaos-sre"],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    actions = {(a["mod"], a["name"]) for a in json.loads(discovered.read_text())["activities"]
               if a["type"] == "action"}
    assert ("fault_plugin_sample", "label_instances") in actions
    assert ("chaos_sre.safety.rollback", "restore_run") in actions

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(PLUGIN_EXPERIMENT))
    broken = json.loads(json.dumps(PLUGIN_EXPERIMENT))
    broken["method"][0]["provider"]["arguments"]["az"] = 5
    bad.write_text(json.dumps(broken))
    checked = run_cli("validate", "--offline", str(good), lab_dir=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    refused = run_cli("validate", "--offline", str(bad), lab_dir=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"error: {bad}: method[0] (label) argument az: expected "
                                      "a string, got 5")
    policy = run_cli("iam", "policy", str(good), lab_dir=tmp_path, env=env)
    assert policy.returncode == 0, policy.stderr
    statements = json.loads(policy.stdout)["Statement"]
    assert {"Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": "arn:aws:ec2:*:*:instance/*", "Sid": "InjectAndRollBack1"} in statements
    assert "ec2:DescribeInstances" in statements[0]["Action"]


def test_a_third_party_fault_is_rolled_back_after_a_crash(start_lab, tmp_path: Path) -> None:
    """The fault runs in one process that then dies; `chaos-sre rollback --last` in another
    finds its inverse through the entry point alone (and without it, says it cannot)."""
    lab: RunningLab = start_lab()
    env = {**plugin_environment(tmp_path), **lab.env,
           "CHAOS_SRE_LEDGER_DIR": str(tmp_path / "ledgers")}
    crashed = subprocess.run(
        [sys.executable, "-c", "import os, fault_plugin_sample as f; "
         "f.label_instances(az='us-east-1a', label='left-behind'); os._exit(9)"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert crashed.returncode == 9, crashed.stderr
    labelled = lambda: sorted(  # noqa: E731
        i["InstanceId"] for i in lab.web_instances("running")
        if any(t["Key"] == "chaos-sre-sample" for t in i.get("Tags", [])))
    assert len(labelled()) == 2

    without_plugin = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    unknown = subprocess.run([*CLI, "rollback", "--last"], env=without_plugin,
                             capture_output=True, text=True, timeout=120, check=False)
    assert unknown.returncode == 2
    assert "unknown inverse operation 'remove_sample_label'" in unknown.stderr
    restored = subprocess.run([*CLI, "rollback", "--last"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr
    assert "removed tag chaos-sre-sample from 2 instance(s)" in restored.stdout
    assert labelled() == []


INCOMPLETE = {
    "permissions": ("permissions=[]", "declares no permissions"),
    "inverse": ("inverses=[]", "declares no inverses"),
    "inverse registration": ('inverses=["undo_nothing"]',
                             "names inverse 'undo_nothing', which no @inverse('undo_nothing')"),
    "effect check": ("effects=[]", "declares no effect check"),
    "effect check registration": ('effects=["other"]',
                                  "declares effect 'other', which no @effect_check('other')"),
}
"""Each part a fault must declare: (the declaration that lacks it, the refusal)."""
FAULT_MODULE = '''
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, fault
from chaos_sre.safety.ledger import Inverse, inverse

__all__ = ["nudge"]


@fault(**{{"permissions": [Permission("ec2:CreateTags")], "inverses": ["undo_{module}"],
          "effects": ["{module}"], **dict({lacking})}})
def nudge(az: str, configuration=None, secrets=None) -> Plan:
    """Nothing."""
    return Plan(targets=[], apply=lambda ledger: None)


@inverse("undo_{module}", Inverse)
def _undo(op, configuration, secrets) -> str:
    return "undone"


@effect_check("{module}")
def _nudged(intent, outcome, configuration, secrets):
    return None
'''


def register_fault_module(module: str, source: str, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install ``source`` as fault module ``module`` of the registry, as an entry point would."""
    (where / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(where))
    shipped = registry.fault_modules()
    monkeypatch.setattr(registry, "fault_modules", lambda: (*shipped, module))
    monkeypatch.setattr(registry, "_FAULTS", dict(registry._FAULTS))


@pytest.mark.parametrize("part", sorted(INCOMPLETE))
def test_a_fault_that_lacks_a_part_is_refused_at_import(
        part: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an effect check every run of the fault would be INCONCLUSIVE, without permissions
    `chaos-sre iam policy` would leave its calls out, without an inverse nothing restores it: the
    registry refuses the module when it loads it, and the action when it is first called."""
    declaration, refusal = INCOMPLETE[part]
    module = f"incomplete_{part.replace(' ', '_')}"
    register_fault_module(module, FAULT_MODULE.format(lacking=declaration, module=module), tmp_path,
                          monkeypatch)
    expected = "^" + re.escape(f"fault {module}.nudge {refusal}")
    with pytest.raises(ChaosSreError, match=expected) as refused:
        registry.load()
    assert "\n" not in str(refused.value)
    imported = __import__(module)
    with pytest.raises(ChaosSreError, match=expected):
        imported.nudge(az="us-east-1a", dry_run=True, configuration={})


def test_a_complete_fault_is_driven_by_the_framework(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control passes the fault's plan through the guardrails and answers a dry run without
    calling its apply; the action's signature gains dry_run for `chaos discover`."""
    register_fault_module("complete_fault", FAULT_MODULE.format(lacking="()", module="complete"),
                          tmp_path, monkeypatch)
    found = registry.load()[("complete_fault", "nudge")]
    assert list(inspect.signature(found.function).parameters) == [
        "az", "dry_run", "configuration", "secrets"]
    assert found.function(az="us-east-1a", dry_run=True, configuration={}) == {"dry_run": True}
    with pytest.raises(ChaosSreError, match=r"^nudge: argument az: expected a string, got 5$"):
        found.function(az=5, dry_run=True)


def test_two_modules_cannot_claim_one_ledger_operation(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Effect checks and inverses are found by the operation names the ledger records, across
    every installed package: a second module registering a name another already has would
    silently take over its check (a Lambda "throttle" judging DynamoDB throttles), so it is
    refused when it is imported."""
    register_fault_module("claims_throttle", FAULT_MODULE.format(lacking="()", module="x").replace(
        '@effect_check("x")', '@effect_check("throttle")').replace(
        '"effects": ["x"]', '"effects": ["throttle"]'), tmp_path, monkeypatch)
    with pytest.raises(ChaosSreError, match=r"^ledger operation 'throttle' has an effect check in "
                       r"chaos_sre.faults.dynamodb already; claims_throttle must name its "
                       r"operations otherwise$"):
        registry.load()
