"""Starting, finding and stopping the lab from the command line.

``lab up`` runs the lab in the foreground (until Ctrl-C or SIGTERM);
``lab up --detach`` starts that same foreground command as a background
process, waits until it is ready and returns. ``lab down`` stops whichever
lab the state file names. ``lab exec`` wraps a command in up/down.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chaos_sre.errors import LabAlreadyRunning, LabError, LabNotRunning
from chaos_sre.lab.core import forkserver
from chaos_sre.lab.core.serving import print_exports, print_ready, run_lab
from chaos_sre.lab.core.settings import Profile
from chaos_sre.lab.core.state import (
    LabState,
    lab_dir,
    last_line,
    live_state,
    log_path,
    pid_alive,
    port_free,
    remove_state,
)

__all__ = ["preflight", "print_exports", "print_ready", "run_foreground", "start_detached"]

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.02

def preflight(host: str, api_port: int, endpoint_port: int) -> None:
    """Refuse to start when a lab runs already or a port is taken."""
    running = live_state()
    if running is not None:
        raise LabAlreadyRunning(
            f"a lab is already running (pid {running.pid}, {running.target_url}); "
            "stop it with: chaos-sre lab down"
        )
    if api_port and api_port == endpoint_port:
        raise LabError(f"api and endpoint ports must differ (both {api_port})")
    for what, port in (("api", api_port), ("endpoint", endpoint_port)):
        if not port_free(host, port):
            raise LabError(f"{what} port {port} is already in use (pick another with --{what}-port)")


def run_foreground(
    *,
    profile: Profile,
    time_scale: float,
    host: str,
    api_port: int,
    endpoint_port: int,
    on_ready: Callable[[LabState], None],
) -> None:
    """Start a lab from scratch in this process and run it until SIGINT or SIGTERM."""
    from chaos_sre.lab.core.runtime import Lab  # imports moto: only the lab process pays for it

    preflight(host, api_port, endpoint_port)
    run_lab(Lab(profile=profile, time_scale=time_scale, host=host, api_port=api_port,
                endpoint_port=endpoint_port), on_ready=on_ready)


def start_detached(
    *, profile: Profile, time_scale: float, host: str, api_port: int, endpoint_port: int
) -> LabState:
    """Start the lab in the background and wait until it is ready.

    The lab is forked from a lab server (:mod:`chaos_sre.lab.core.forkserver`) unless
    ``CHAOS_SRE_LAB_SERVER=off``; then it starts from scratch as ``lab up``.
    """
    preflight(host, api_port, endpoint_port)
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    if forkserver.enabled():
        pid = forkserver.request_lab(profile, time_scale, host=host, api_port=api_port,
                                     endpoint_port=endpoint_port, lab_dir=lab_dir())
        return _wait_ready(pid, log, lambda: not pid_alive(pid), lambda: _signal(pid, signal.SIGKILL))
    command = [
        sys.executable, "-m", "chaos_sre.cli", "lab", "up",
        "--profile", profile.name, "--time-scale", repr(time_scale),
        "--host", host, "--api-port", str(api_port), "--endpoint-port", str(endpoint_port),
    ]
    command += [f"--{option}" for option in profile.options()]
    if profile.api_fault_rate:
        command += ["--api-fault-rate", repr(profile.api_fault_rate)]
    with open(log, "wb") as out:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill() -> None:
        child.kill()
        child.wait()

    return _wait_ready(child.pid, log, lambda: child.poll() is not None, kill)


def _wait_ready(pid: int, log: Path, exited: Callable[[], bool], kill: Callable[[], None]) -> LabState:
    """Wait until lab ``pid`` records itself in ``lab.json``; fail with its log's last line."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = live_state()
        if state is not None and state.pid == pid:
            return state
        if exited():
            raise LabError(f"the lab failed to start: {last_line(log)}")
        time.sleep(POLL_SECONDS)
    kill()
    raise LabError(f"the lab did not become ready within {READY_TIMEOUT_SECONDS:.0f} s (log: {log})")


def stop_lab() -> LabState:
    """Stop the running lab and wait until its process and ports are gone."""
    state = live_state()
    if state is None:
        raise LabNotRunning("no lab is running (start one with: chaos-sre lab up --detach)")
    _signal(state.pid, signal.SIGTERM)
    if not _wait_gone(state.pid, STOP_TIMEOUT_SECONDS):
        _signal(state.pid, signal.SIGKILL)
        _wait_gone(state.pid, STOP_TIMEOUT_SECONDS)
    remove_state()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if port_free(state.host, state.api_port) and port_free(state.host, state.endpoint_port):
            break
        time.sleep(POLL_SECONDS)
    return state


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(POLL_SECONDS)
    return not pid_alive(pid)


def exec_in_lab(
    command: Sequence[str], *, profile: Profile, time_scale: float, host: str,
    api_port: int, endpoint_port: int,
) -> int:
    """Start a lab, run ``command`` with its environment, stop it; return the status."""
    state = start_detached(profile=profile, time_scale=time_scale, host=host,
                           api_port=api_port, endpoint_port=endpoint_port)
    try:
        env = {**os.environ, **state.environment()}
        try:
            return subprocess.run(list(command), env=env, check=False).returncode
        except FileNotFoundError:
            raise LabError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise LabError(f"command not executable: {command[0]}") from None
    finally:
        stop_lab()
