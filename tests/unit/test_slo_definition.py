"""SLO files: the shipped one loads; every invalid field is named in one line."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos_sre.errors import ValidationError
from chaos_sre.slo.definition import load_slo, parse_duration, parse_slo

ROOT = Path(__file__).resolve().parents[2]
WEB = yaml.safe_load((ROOT / "probes" / "web.yaml").read_text())


def test_the_web_slo_loads() -> None:
    slo = load_slo(ROOT / "probes" / "web.yaml")
    assert slo.name == "web"
    assert slo.target == 0.999
    assert slo.error_budget == pytest.approx(0.001)
    assert slo.window_seconds == 30 * 86400
    assert slo.paths == (("/", 1),)
    assert slo.timeout_seconds == 2.0
    assert slo.latency_threshold_seconds is None
    assert slo.load_balancer == "web"


def test_json_files_and_target_percent(tmp_path: Path) -> None:
    document = copy.deepcopy(WEB)
    document["spec"]["objectives"][0] = {"targetPercent": 99.5}
    source = document["spec"]["indicator"]["spec"]["ratioMetric"]
    source["good"]["metricSource"]["spec"] = {"latencyThreshold": "250ms"}
    source["total"]["metricSource"]["spec"]["paths"] = [
        {"path": "/", "weight": 3}, {"path": "/checkout", "weight": 1}]
    path = tmp_path / "web.json"
    path.write_text(json.dumps(document))
    slo = load_slo(path)
    assert slo.target == pytest.approx(0.995)
    assert slo.latency_threshold_seconds == pytest.approx(0.25)
    assert slo.paths == (("/", 3), ("/checkout", 1))


def _mutated(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(WEB)
    change(document)
    return document


def _ratio(d: dict[str, Any]) -> dict[str, Any]:
    return d["spec"]["indicator"]["spec"]["ratioMetric"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kind="Service"), "kind: expected 'SLO', got 'Service'"),
        (lambda d: d["metadata"].pop("name"), "metadata.name is required"),
        (lambda d: d["spec"]["objectives"][0].update(target=1.5),
         "spec.objectives[0].target: expected a ratio between 0 and 1 (exclusive, e.g. 0.999), got 1.5"),
        (lambda d: d["spec"]["objectives"][0].update(target="high"),
         "spec.objectives[0].target: expected a number or null, got 'high'"),
        (lambda d: d["spec"].update(objectives=[]), "spec.objectives: expected at least 1 item(s), got []"),
        (lambda d: d["spec"]["timeWindow"][0].update(duration="30 days"),
         "spec.timeWindow[0].duration: expected a positive duration like 30d, 2s or 500ms, got '30 days'"),
        (lambda d: d["spec"].pop("indicator"), "spec.indicator is required"),
        (lambda d: _ratio(d)["total"]["metricSource"].update(type="prometheus"),
         "total.metricSource.type: expected 'chaos-sre' (the sampler's requests), got 'prometheus'"),
        (lambda d: _ratio(d)["total"]["metricSource"]["spec"].update(timeout="-2s"),
         "total.metricSource.spec.timeout: expected a positive duration"),
        (lambda d: _ratio(d)["total"]["metricSource"]["spec"].update(paths=[{"path": "api"}]),
         "total.metricSource.spec.paths[0].path: expected a path starting with /, got 'api'"),
        (lambda d: _ratio(d)["total"]["metricSource"]["spec"].update(paths=[{"path": "/", "weight": 0}]),
         "total.metricSource.spec.paths[0].weight: expected at least 1, got 0"),
        (lambda d: _ratio(d)["good"]["metricSource"].update(spec={"latencyThreshold": "5s"}),
         "latencyThreshold: expected at most the request timeout (2 s), got 5 s"),
    ],
)
def test_invalid_fields_are_named(change: Any, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_slo(_mutated(change), "web.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("web.yaml: ")
    assert "\n" not in str(error.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SLO file .* not found"):
        load_slo(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n")
    with pytest.raises(ValidationError, match="SLO file .*broken.yaml is not YAML at line 2"):
        load_slo(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(ValidationError, match="not an SLO document"):
        load_slo(scalar)


@pytest.mark.parametrize(("text", "seconds"), [("30d", 2592000), ("2s", 2), ("500ms", 0.5),
                                               ("1h", 3600), ("1.5m", 90), (4, 4.0)])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text, "f") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["spec"].update(budgetingMethod="Timeslices"),
         "spec.budgetingMethod: not supported: chaos-sre counts good requests over all requests"),
        (lambda d: d["spec"].update(budgetingMethod="RatioTimeslices"),
         "got 'RatioTimeslices'"),
        (lambda d: d["spec"]["timeWindow"][0].update(isRolling=False),
         "spec.timeWindow[0].isRolling: a calendar window (isRolling: false)"),
        (lambda d: d["spec"]["timeWindow"][0].update(duration="1M"), "a month has no fixed length"),
        (lambda d: d["spec"]["timeWindow"][0].update(duration="1Q"), "a quarter has no fixed length"),
        (lambda d: d["spec"]["timeWindow"][0].update(duration="1Y"), "a year has no fixed length"),
        (lambda d: d["spec"]["timeWindow"].append({"duration": "7d", "isRolling": True}),
         "spec.timeWindow: 2 windows; an SLO has one"),
        (lambda d: d["spec"]["objectives"].append({"target": 0.99}),
         "spec.objectives: 2 objectives; chaos-sre judges one per SLO file"),
        (lambda d: d["spec"].update(objectives=[{"targetPercent": 0.999}]),
         "spec.objectives[0].targetPercent: expected a percentage above 1 and below 100 "
         "(99.9 for 99.9 %); for a ratio write target: 0.999, got 0.999"),
        (lambda d: d["spec"]["objectives"][0].update(targetPercent=99.9),
         "sets both target and targetPercent"),
        (lambda d: _ratio(d).update(bad={"metricSource": {"type": "chaos-sre"}}),
         "ratioMetric.bad: not supported"),
    ],
)
def test_openslo_fields_it_cannot_judge_are_refused(change: Any, message: str) -> None:
    """OpenSLO v1 (https://github.com/OpenSLO/OpenSLO#slo): Timeslices budgeting, calendar windows,
    several objectives and ``bad`` ratio metrics change what the SLO means; reading them as a
    rolling Occurrences SLO with one ``good`` objective would judge another SLO, so each is refused
    in one line. ``targetPercent`` is a percentage: 0.999 there is 0.999 %, almost surely a ratio."""
    with pytest.raises(ValidationError) as error:
        parse_slo(_mutated(change), "web.yaml")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_target_percent_is_a_percentage() -> None:
    document = _mutated(lambda d: d["spec"].update(objectives=[{"targetPercent": 99.9}]))
    assert parse_slo(document, "web.yaml").target == pytest.approx(0.999)
