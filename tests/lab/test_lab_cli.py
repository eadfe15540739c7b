"""`chaos-sre lab` commands: lifecycle, bad input, exec."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import CLI, parse_exports, run_cli

from chaos_sre.lab.core.state import pid_alive


def _ports(env: dict[str, str]) -> list[int]:
    return [int(env[k].rsplit(":", 1)[1]) for k in ("AWS_ENDPOINT_URL", "CHAOS_SRE_TARGET_URL")]


def _assert_nothing_running(lab_dir: Path) -> None:
    assert not (lab_dir / "lab.json").exists()
    assert run_cli("lab", "status", lab_dir=lab_dir).returncode == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "brittle"], "unknown lab profile 'brittle'"),
        (["--time-scale", "fast"], "time scale must be a number"),
        (["--time-scale", "0"], "time scale must be greater than 0"),
        (["--time-scale", "-1"], "time scale must be greater than 0"),
        (["--time-scale", "inf"], "time scale must be greater than 0"),
        (["--time-scale", "11"], "at most 10"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_starts_nothing(tmp_path: Path, args: list[str],
                                                         message: str) -> None:
    for command in (["lab", "up", "--detach"], ["lab", "exec"]):
        extra = ["--", "true"] if command[1] == "exec" else []
        result = run_cli(*command, *args, *extra, lab_dir=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0
        assert result.stderr.startswith("error: ") and message in result.stderr
        assert "Traceback" not in result.stderr
        _assert_nothing_running(tmp_path)


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for flag in ("--api-port", "--endpoint-port"):
            other = "--endpoint-port" if flag == "--api-port" else "--api-port"
            result = run_cli("lab", "up", "--detach", flag, str(port), other, "0", lab_dir=tmp_path)
            assert result.returncode == 2
            assert f"port {port} is already in use" in result.stderr
            assert result.stderr.strip().count("\n") == 0
            _assert_nothing_running(tmp_path)


def test_down_without_a_lab_is_refused(tmp_path: Path) -> None:
    result = run_cli("lab", "down", lab_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no lab is running (start one with: chaos-sre lab up --detach)")


def test_status_without_a_lab(tmp_path: Path) -> None:
    result = run_cli("lab", "status", lab_dir=tmp_path)
    assert result.returncode == 3
    assert result.stdout.strip() == "no lab is running"


def test_stale_state_file_does_not_block_a_new_lab(start_lab, tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lab_dir = tmp_path / "lab0"
    lab_dir.mkdir()
    (lab_dir / "lab.json").write_text(json.dumps({
        "pid": int(dead.stdout), "host": "127.0.0.1", "api_port": 1, "endpoint_port": 2,
        "profile": "resilient", "time_scale": 0.1, "started_at": 0}))
    lab = start_lab()
    assert requests.get(f"{lab.target_url}/", timeout=2).status_code == 200


def test_second_lab_is_refused_and_down_leaves_nothing_behind(start_lab) -> None:
    lab = start_lab()
    again = run_cli("lab", "up", "--detach", "--api-port", "0", "--endpoint-port", "0",
                    lab_dir=lab.lab_dir)
    assert again.returncode == 2
    assert "a lab is already running" in again.stderr
    assert requests.get(f"{lab.target_url}/", timeout=2).status_code == 200

    pid = json.loads((lab.lab_dir / "lab.json").read_text())["pid"]
    down = run_cli("lab", "down", lab_dir=lab.lab_dir)
    assert down.returncode == 0
    assert not pid_alive(pid)
    assert not any(listening(port) for port in _ports(lab.env))
    _assert_nothing_running(lab.lab_dir)


def test_foreground_lab_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "CHAOS_SRE_LAB_DIR": str(tmp_path)}
    process = subprocess.Popen([*CLI, "lab", "up", "--api-port", "0", "--endpoint-port", "0"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        exports = parse_exports("".join(lines))
        assert requests.get(f"{exports['CHAOS_SRE_TARGET_URL']}/", timeout=2).status_code == 200
        assert run_cli("lab", "status", lab_dir=tmp_path).returncode == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not any(listening(port) for port in _ports(exports))
    _assert_nothing_running(tmp_path)


def listening(port: int) -> bool:
    """Whether anything accepts connections on ``port`` (a freed ephemeral port may already be
    another test's client socket, which a bind probe would take for the lab's: a connect does
    not)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_exec_runs_the_command_in_the_lab_and_passes_its_status(tmp_path: Path) -> None:
    script = (
        "import os, sys, boto3, requests;"
        "ec2 = boto3.client('ec2');"
        "n = sum(len(r['Instances']) for r in ec2.describe_instances()['Reservations']);"
        "ok = requests.get(os.environ['CHAOS_SRE_TARGET_URL'], timeout=2).status_code == 200;"
        "sys.exit(7 if (n == 6 and ok) else 1)"
    )
    result = run_cli("lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--",
                     sys.executable, "-c", script, lab_dir=tmp_path)
    assert result.returncode == 7, result.stderr
    _assert_nothing_running(tmp_path)


def test_exec_with_a_missing_command_stops_the_lab(tmp_path: Path) -> None:
    result = run_cli("lab", "exec", "--api-port", "0", "--endpoint-port", "0", "--",
                     "no-such-command-here", lab_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: command not found: no-such-command-here"
    _assert_nothing_running(tmp_path)


def test_help_and_version() -> None:
    result = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "lab" in result.stdout
    version = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.strip() == "chaos-sre, version 0.1.0"
