"""Where a running lab is recorded, so any shell can find, query and stop it.

One JSON file, ``$CHAOS_SRE_LAB_DIR/lab.json`` (default ``~/.chaos-sre/lab``),
holds the lab's pid, ports, profile and time scale. It is written atomically
once the lab is ready and removed when the lab stops.
"""

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from chaos_sre.lab.core.services import lab_services
from chaos_sre.lab.core.settings import REGION
from chaos_sre.timescale import ENVIRONMENT_VARIABLE

LAB_ACCESS_KEY = "lab"


@dataclass(frozen=True)
class LabState:
    """A running lab as recorded in the state file."""

    pid: int
    host: str
    api_port: int
    endpoint_port: int
    profile: str
    time_scale: float
    started_at: float
    log_path: str | None = None

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def target_url(self) -> str:
        return f"http://{self.host}:{self.endpoint_port}"

    def environment(self) -> dict[str, str]:
        """The variables that point boto3, the AWS CLI and chaos-sre at this lab, the lab's time
        scale (chaos_sre.timescale: experiments state AWS seconds) and what the lab services export
        (the web tier: the ECS task metadata endpoint that tells chaos-sre where the lab's runner
        sits)."""
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ACCESS_KEY_ID": LAB_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": LAB_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "CHAOS_SRE_TARGET_URL": self.target_url,
            ENVIRONMENT_VARIABLE: f"{self.time_scale:g}",
            **{name: f"{self.target_url}{path}" for service in lab_services()
               for name, path in service.environment.items()},
        }


def lab_dir() -> Path:
    """The directory holding the lab's state file and log."""
    configured = os.environ.get("CHAOS_SRE_LAB_DIR")
    return Path(configured) if configured else Path.home() / ".chaos-sre" / "lab"


def state_path() -> Path:
    return lab_dir() / "lab.json"


def log_path() -> Path:
    return lab_dir() / "lab.log"


def last_line(path: os.PathLike[str] | str) -> str:
    """The last non-blank line of a log, for a one-line error about a process that died."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def write_state(state: LabState) -> None:
    """Write the state file atomically (temp file, fsync, rename)."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(asdict(state), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def remove_state(pid: int | None = None) -> None:
    """Remove the state file (only if it belongs to ``pid`` when given)."""
    current = read_state()
    if current is not None and pid is not None and current.pid != pid:
        return
    state_path().unlink(missing_ok=True)


def read_state() -> LabState | None:
    """The recorded lab, or None when there is no (readable) state file."""
    try:
        raw = json.loads(state_path().read_text(encoding="utf-8"))
        return LabState(**raw)
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def live_state() -> LabState | None:
    """The recorded lab if its process is alive; a stale file is removed."""
    state = read_state()
    if state is None:
        return None
    if not pid_alive(state.pid):
        state_path().unlink(missing_ok=True)
        return None
    return state


def port_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound right now."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
