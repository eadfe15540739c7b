"""`chaos-sre validate` and its fuzzing: 2200 generated experiments, SLO files, game-day plans,
guardrails files and control settings, over 1500 of them malformed - each refused in one line
naming the file and the path to the value and what was expected, never a traceback, never an
AWS call."""

import json
import math
import re
from pathlib import Path
from typing import Any

import boto3.session
import pytest
import yaml
from conftest import ROOT, RunningLab, run_chaos, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos_sre.errors import ChaosSreError
from chaos_sre.gameday.plan import load_plan
from chaos_sre.safety import guardrails
from chaos_sre.safety.validate import validate_file

EXPERIMENTS = {p.name: json.loads(p.read_text()) for p in sorted((ROOT / "experiments").glob("*.json"))}
SLOS = {p.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "probes").glob("*.yaml"))}
PLANS = {p.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "experiments").glob("gameday*.yaml"))}
GUARDRAILS = {"all": {"allowed_accounts": ["123456789012"], "allowed_regions": "us-east-1,eu-west-1",
                      "required_tags": {"env": "staging"}, "protected_tags": "app=data",
                      "max_availability_zones": 1, "max_percent": 50}}
CONTROLS = {name: {"controls": [c for c in document["controls"]]} for name, document in EXPERIMENTS.items()
            if document.get("controls")}
"""The control's arguments of each shipped experiment (in their experiment, for the file name)."""
OUTCOMES: dict[str, int] = {"valid": 0, "refused": 0}
MODEL_LINE = (r"(: expected .+, got .+| is required|unknown (key|argument) .+"
              r"|: refers to \$\{.+\}, which the configuration does not define)$")
"""How the one validation layer ends a line (chaos_sre/validation.py): what was expected."""

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["${missing}", "${target_url}", "-1", "0", "1e309", "true",
                                     "staging", "", "   ", "probes/none.yaml"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, prefix + (index,))
    return found


@st.composite
def malformed(draw: Any, documents: dict[str, Any]) -> Any:
    """A shipped document with 1-3 random edits: delete, replace, add an unknown key, wrap."""
    document = json.loads(json.dumps(documents[draw(st.sampled_from(sorted(documents)))]))
    for _ in range(draw(st.integers(1, 3))):
        every = paths(document)
        if not every:
            break
        path = draw(st.sampled_from(every))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        edit = draw(st.sampled_from(["delete", "replace", "add", "wrap"]))
        if edit == "delete":
            del parent[key]
        elif edit == "replace":
            parent[key] = draw(values)
        elif edit == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=12))] = draw(values)
        else:
            parent[key] = [parent[key]]
    return document


def check(path: Path) -> None:
    """Validation either accepts the file or refuses it in one line that names it."""
    try:
        validate_file(path)
    except ChaosSreError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(str(path)), message
        assert "Traceback" not in message
        OUTCOMES["refused"] += 1
    else:
        OUTCOMES["valid"] += 1


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Validation must not call AWS: any client it built would fail the test."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validation tried to build an AWS client")
    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    monkeypatch.setenv("CHAOS_SRE_LEDGER_DIR", str(tmp_path / "ledgers"))
    monkeypatch.chdir(ROOT)  # the experiments name their SLO files relative to the repository


FUZZ = settings(max_examples=900, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.xdist_group("fuzz")  # the summary test below reads what these counted, in-process
@FUZZ
@given(document=malformed(EXPERIMENTS), as_yaml=st.booleans())
def test_fuzzed_experiments_never_crash(document: Any, as_yaml: bool, tmp_path: Path) -> None:
    path = tmp_path / ("experiment.yaml" if as_yaml else "experiment.json")
    path.write_text(yaml.safe_dump(document) if as_yaml else json.dumps(document, allow_nan=True))
    check(path)


@pytest.mark.xdist_group("fuzz")
@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=st.one_of(malformed(SLOS), values), text=st.one_of(st.none(), st.text(max_size=60)))
def test_fuzzed_slo_files_and_garbage_never_crash(document: Any, text: str | None,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    if text is None:
        path.write_text(yaml.safe_dump(document))
    else:
        path.write_text(text)
    check(path)


def refused_in_one_line(check: Any, source: str) -> str | None:
    """None when ``check()`` accepts its input, else its one-line refusal (which must begin with
    ``source``: the file, and then the path to the value)."""
    try:
        check()
    except ChaosSreError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(source) and "Traceback" not in message, \
            message
        return message
    return None


@pytest.mark.xdist_group("fuzz")
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=st.one_of(malformed(PLANS), values))
def test_fuzzed_game_day_plans_are_refused_in_one_line(document: Any, tmp_path: Path) -> None:
    """Every bad value of a plan: one line naming the plan file, the path to the value and what
    was expected (or the experiment file it names that is not there)."""
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(document))
    message = refused_in_one_line(lambda: load_plan(path), f"{path}: ")
    OUTCOMES["refused" if message else "valid"] += 1
    if message and "no experiment file at" not in message:
        assert re.search(MODEL_LINE, message), message


@pytest.mark.xdist_group("fuzz")
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=st.one_of(malformed(GUARDRAILS), values))
def test_fuzzed_guardrails_files_are_refused_in_one_line(document: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "guardrails.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv(guardrails.SETTINGS_ENV, str(path))
    message = refused_in_one_line(lambda: guardrails.load(None), f"guardrails file {path}: ")
    OUTCOMES["refused" if message else "valid"] += 1
    if message:
        assert re.search(MODEL_LINE, message), message


@pytest.mark.xdist_group("fuzz")
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=malformed(CONTROLS))
def test_fuzzed_control_settings_are_refused_in_one_line(document: Any, tmp_path: Path) -> None:
    """The control's arguments, fuzzed inside a shipped experiment: validate names the file and
    the control, then the argument and what was expected."""
    experiment = json.loads(json.dumps(EXPERIMENTS["az-outage.json"]))
    experiment["controls"] = document.get("controls") if isinstance(document, dict) else document
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment, allow_nan=True))
    message = refused_in_one_line(lambda: validate_file(path), f"{path}: ")
    OUTCOMES["refused" if message else "valid"] += 1
    if message and ": chaos-sre control: argument " in message:
        assert re.search(MODEL_LINE, message), message


@pytest.mark.xdist_group("fuzz")
def test_the_fuzzing_mostly_made_bad_input_and_no_ledger(tmp_path: Path) -> None:
    total = OUTCOMES["valid"] + OUTCOMES["refused"]
    if total == 0:
        pytest.skip("run with the fuzz tests")
    assert OUTCOMES["refused"] >= 1500, OUTCOMES  # 1500+ bad inputs, each refused in one line
    assert OUTCOMES["refused"] / total > 0.5, OUTCOMES
    print(f"fuzzed inputs: {total}, refused in one line: {OUTCOMES['refused']}")
    assert not (tmp_path / "ledgers").exists()


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_shipped_experiments_are_valid(name: str) -> None:
    assert validate_file(ROOT / "experiments" / name) == "experiment"


def test_validate_command_names_file_field_and_problem(tmp_path: Path) -> None:
    document = json.loads((ROOT / "experiments" / "ecs-scale-to-zero.json").read_text())
    document["method"][0]["provider"]["arguments"]["cluster"] = 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = run_cli("validate", "--offline", str(ROOT / "experiments" / "az-outage.json"),
                     str(bad), lab_dir=tmp_path)
    assert result.returncode == 2
    assert "az-outage.json: valid experiment" in result.stdout
    assert result.stderr.strip() == (f"error: {bad}: method[0] (scale-service-to-zero) argument "
                                     "cluster: expected a string, got 5")


def test_chaos_run_refuses_a_bad_chaos_sre_argument_before_anything(start_lab,
                                                                    tmp_path: Path) -> None:
    lab: RunningLab = start_lab()
    document = json.loads((ROOT / "experiments" / "ecs-scale-to-zero.json").read_text())
    document["method"][0]["provider"]["arguments"]["restore_timeout_seconds"] = "soon"
    document["controls"][0]["provider"]["arguments"]["slo"] = str(ROOT / "probes" / "web.yaml")
    status, journal, stderr = run_chaos(lab, document, tmp_path)
    assert status != 0
    assert ("method[0] (scale-service-to-zero) argument restore_timeout_seconds: expected a number, "
            "got 'soon'") in stderr
    assert lab.timeline()["faults"] == []
    assert not (tmp_path / "ledgers").exists()
    assert math.isclose(len(journal.get("run", [])), 0)


def test_an_experiment_finds_its_slo_file_from_any_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped experiments name `probes/web.yaml`: from another folder it is found beside
    the experiment or above it, as `chaos run` finds it (tests/e2e/test_refused_mutations.py runs
    them from elsewhere)."""
    monkeypatch.chdir(tmp_path)
    for name in sorted(EXPERIMENTS):
        assert validate_file(ROOT / "experiments" / name) == "experiment"
    (tmp_path / "lost.json").write_text(
        (ROOT / "experiments" / "az-outage.json").read_text())
    with pytest.raises(ChaosSreError, match="probes/web.yaml"):
        validate_file(tmp_path / "lost.json")
