"""The lab server: labs forked from one seeded account are complete, independent labs."""

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import CLI, RunningLab, account_snapshot, run_cli, wait_until

from chaos_sre.lab.core import forkserver
from chaos_sre.lab.core.settings import profile_named
from chaos_sre.lab.core.state import pid_alive


def ids_removed(snapshot: dict) -> dict:
    """An account snapshot without resource ids (every lab draws its own)."""
    web = snapshot["web"]
    return {**snapshot, "web": {**web, "acls": len(web["acls"]), "asg": (web["asg"][0], len(web["asg"][1])),
                                "lb_subnets": len(web["lb_subnets"])}}


def test_a_forked_lab_is_the_same_account_as_a_lab_started_from_scratch(
        start_lab, monkeypatch: pytest.MonkeyPatch) -> None:
    forked = start_lab()
    monkeypatch.setenv("CHAOS_SRE_LAB_SERVER", "off")
    cold = start_lab()
    assert ids_removed(account_snapshot(forked)) == ids_removed(account_snapshot(cold))
    assert forked.web_instances("running") and len(forked.web_instances("running")) == 6
    statuses = [run_cli("lab", "status", lab_dir=lab.lab_dir) for lab in (forked, cold)]
    assert [s.returncode for s in statuses] == [0, 0]
    assert statuses[0].stdout.splitlines()[3:] == statuses[1].stdout.splitlines()[3:]


def test_labs_forked_from_one_server_are_independent(start_lab) -> None:
    first, second = start_lab(), start_lab()
    assert first.env["AWS_ENDPOINT_URL"] != second.env["AWS_ENDPOINT_URL"]
    victims = [i["InstanceId"] for i in first.web_instances("running")][:2]
    first.client("ec2").terminate_instances(InstanceIds=victims)
    assert wait_until(lambda: len(first.web_instances("running")) == 4, timeout=10)
    assert len(second.web_instances("running")) == 6
    assert first.timeline()["faults"] and not second.timeline()["faults"]
    assert not second.web_instances("shutting-down", "terminated")


def test_a_lab_comes_from_a_server_and_lab_down_leaves_the_server_running(
        start_lab, lab_servers: Path) -> None:
    lab: RunningLab = start_lab("--profile", "fragile")
    servers = {int(p.read_text()) for p in lab_servers.glob("lab-*.pid")}
    assert servers, "no lab server was started"
    state = run_cli("lab", "status", lab_dir=lab.lab_dir)
    assert "profile fragile" in state.stdout
    assert run_cli("lab", "down", lab_dir=lab.lab_dir).returncode == 0
    assert all(pid_alive(pid) for pid in servers)


@pytest.mark.slow
def test_an_idle_server_exits_and_the_next_lab_starts_a_new_one(tmp_path: Path) -> None:
    directory = Path(tempfile.mkdtemp(prefix="labd-"))  # short: a Unix socket path
    env = {**os.environ, "CHAOS_SRE_LAB_SERVER_DIR": str(directory),
           "CHAOS_SRE_LAB_SERVER_IDLE_SECONDS": "2"}
    for attempt in range(2):
        lab_dir = tmp_path / f"lab{attempt}"
        up = subprocess.run([*CLI, "lab", "up", "--detach", "--api-port", "0", "--endpoint-port",
                             "0"], env={**env, "CHAOS_SRE_LAB_DIR": str(lab_dir)},
                            capture_output=True, text=True, timeout=120, check=False)
        assert up.returncode == 0, up.stderr
        pid = int(next(directory.glob("lab-*.pid")).read_text())
        down = subprocess.run([*CLI, "lab", "down"], env={**env, "CHAOS_SRE_LAB_DIR": str(lab_dir)},
                              capture_output=True, text=True, timeout=60, check=False)
        assert down.returncode == 0, down.stderr
        assert wait_until(lambda pid=pid: not pid_alive(pid), timeout=20), "idle server still up"
        assert not list(directory.glob("lab-*.sock")) and not list(directory.glob("lab-*.pid"))
    log = next(directory.glob("lab-*.log")).read_text()
    assert "idle for 2 s: exiting" in log


def test_socket_names_depend_on_the_variant_and_the_code(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    resilient = forkserver.Variant.of(profile_named("resilient"), 0.1)
    assert resilient.socket_path() != forkserver.Variant.of(profile_named("fragile"), 0.1).socket_path()
    assert resilient.socket_path() != forkserver.Variant.of(profile_named("resilient"), 0.2).socket_path()
    assert resilient.socket_path() != forkserver.Variant.of(
        profile_named("resilient").with_option("rds-proxy"), 0.1).socket_path()
    assert resilient.socket_path() == forkserver.Variant.of(
        profile_named("resilient").with_api_fault_rate(0.2), 0.1).socket_path()  # set per lab
    package = tmp_path / "chaos_sre"
    package.mkdir()
    (package / "module.py").write_text("A = 1\n")
    monkeypatch.setattr(forkserver, "PACKAGE_DIR", package)
    before = resilient.socket_path()
    time.sleep(0.01)
    (package / "module.py").write_text("A = 2\n")
    assert resilient.socket_path() != before  # an edited checkout never gets a stale lab


def test_a_server_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    result = subprocess.run([*CLI, "lab", "up", "--detach", "--api-port", "0", "--endpoint-port",
                             "0"], capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "CHAOS_SRE_LAB_DIR": str(tmp_path / "lab"),
                                 "CHAOS_SRE_LAB_SERVER_DIR": str(blocked / "servers")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    deep = tmp_path / ("d" * 100)
    result = subprocess.run([*CLI, "lab", "up", "--detach", "--api-port", "0", "--endpoint-port",
                             "0"], capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "CHAOS_SRE_LAB_DIR": str(tmp_path / "lab"),
                                 "CHAOS_SRE_LAB_SERVER_DIR": str(deep)})
    assert result.returncode == 2 and "too long a path for a Unix socket" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_server_refuses_a_malformed_request_in_one_line(start_lab, lab_servers: Path) -> None:
    start_lab()  # a server is running
    path = next(lab_servers.glob("lab-*.sock"))
    for request in ({"lab_dir": "/tmp/x"}, {"lab_dir": "/tmp/x", "host": "127.0.0.1",
                                             "api_port": "many", "endpoint_port": 0,
                                             "api_fault_rate": 0}):
        reply = forkserver._ask(path, request)
        assert reply is not None and reply["error"].startswith("bad request:"), reply
    assert start_lab().web_instances("running")  # the server still hands out labs
