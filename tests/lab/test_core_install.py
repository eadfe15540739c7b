"""The core install: what a staging runner gets from `pip install chaos-sre` without extras.

It holds the Chaos Toolkit extension, the faults, probes, SLO engine and CLI, and neither moto
(extra `lab`) nor matplotlib (extra `report`). The install goes into a fresh venv with uv from
its cache (`--offline`): `make test` has just installed every dependency, so nothing is fetched.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")

pytestmark = pytest.mark.xdist_group("core-install")

CHECK_IMPORTS = """
import importlib, pkgutil, sys
import chaos_sre
optional = ("chaos_sre.lab", "chaos_sre.pytest_plugin")
names = [m.name for m in pkgutil.walk_packages(chaos_sre.__path__, "chaos_sre.")
         if not m.name.startswith(optional)]
for name in names:
    importlib.import_module(name)
print(len(names), "modules;", ",".join(n for n in ("moto", "matplotlib") if n in sys.modules) or "none loaded")
"""


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with `pip install .` of this checkout, no extras (installed by uv, offline)."""
    folder = tmp_path_factory.mktemp("core")
    venv = folder / "venv"
    source = folder / "source"  # a copy: a build in the checkout would leave build/ behind (and reuse it)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "runs", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    env = {**os.environ, "UV_OFFLINE": "1"}
    installed = subprocess.run([str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                                str(source)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, (
        "uv could not install chaos-sre from its cache (offline); run `make test`, which fills it, "
        f"without UV_NO_CACHE:\n{installed.stderr[-2000:]}")
    yield venv


def run_in(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHAOS_SRE_")}
    return subprocess.run([*args], cwd=venv.parent, env={**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"},
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_core_install_has_neither_moto_nor_matplotlib(core_venv: Path) -> None:
    listed = run_in(core_venv, str(UV), "pip", "list", "--python", str(core_venv / "bin" / "python"))
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0].lower() for line in listed.stdout.splitlines()[2:] if line.strip()}
    assert "chaos-sre" in names and "chaostoolkit-aws" in names and "boto3" in names
    assert not names & {"moto", "matplotlib"}, names


def test_every_module_outside_the_lab_imports_without_the_extras(core_venv: Path) -> None:
    """Faults, probes, the control, the SLO engine, reports and the CLI; the lab and the pytest
    plugin (which needs pytest) are the optional parts."""
    imported = run_in(core_venv, "python", "-c", CHECK_IMPORTS)
    assert imported.returncode == 0, imported.stderr
    count, loaded = imported.stdout.strip().split(" modules; ")
    assert int(count) > 40
    assert loaded == "none loaded"


def test_validate_and_discover_work_without_the_extras(core_venv: Path) -> None:
    experiments = sorted(str(p) for p in (ROOT / "experiments").glob("*.json"))
    validated = run_in(core_venv, "chaos-sre", "validate", "--offline", *experiments)
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.count(": valid experiment") == len(experiments) >= 5
    discovered = run_in(core_venv, "chaos", "discover", "--no-install", "--discovery-path",
                        str(core_venv.parent / "discovery.json"), "chaos-sre")
    assert discovered.returncode == 0, discovered.stderr
    assert "terminate_az_instances" in (core_venv.parent / "discovery.json").read_text()


def test_the_lab_without_its_extra_says_how_to_install_it(core_venv: Path) -> None:
    started = run_in(core_venv, "chaos-sre", "lab", "up")
    assert started.returncode == 2
    assert started.stderr.strip() == ("error: the local lab runs moto in server mode, and moto is not "
                                      "installed: pip install 'chaos-sre[lab]'")


def test_an_html_report_without_matplotlib_says_why_it_has_no_plot(core_venv: Path) -> None:
    """The report extra only draws the timeline: the verdict, numbers and tables still render."""
    folder = core_venv.parent
    samples = "".join(
        json.dumps({"scheduled": 100 + i * 0.1, "sent": 100 + i * 0.1, "latency": 0.01,
                    "outcome": "2xx", "status": 200, "path": "/"}) + "\n" for i in range(50))
    (folder / "run.samples.jsonl").write_text(samples)
    journal = {"status": "completed", "deviated": False, "start": "2026-01-01T00:00:00",
               "experiment": {"title": "core report", "configuration": {}},
               "extensions": [{"name": "chaos_sre", "samples_path": "run.samples.jsonl",
                               "fault_started_at": 102.0, "sampling": {"rate": 10},
                               "verdict": {"passed": True, "reasons": ["steady"]}}]}
    (folder / "run.json").write_text(json.dumps(journal))
    rendered = run_in(core_venv, "chaos-sre", "report", "run.json", "-o", "run.html")
    assert rendered.returncode == 0, rendered.stderr
    page = (folder / "run.html").read_text()
    assert "SLI timeline not drawn" in page and "pip install &#x27;chaos-sre[report]&#x27;" in page
    assert "<svg" not in page and "core report" in page
