"""The lab server: labs handed out as copy-on-write copies of one seeded account.

Importing moto and seeding the account through the AWS API take a few seconds
of CPU; forking a process that has done both takes milliseconds. So
``chaos-sre lab up --detach`` (and ``lab exec``, ``make demo``, the test suite)
asks a *lab server* for a lab instead of starting one from scratch:

* one server per lab variant (profile, RDS Proxy, time scale) and per version
  of the code: it imports the lab, seeds the account once (:meth:`Lab.prepare`),
  stops every thread, then listens on a Unix socket;
* each request forks the server: the child is the lab. It starts its own
  session, writes its log to the requesting lab directory, binds the asked
  ports, starts the lab's threads and records itself in ``lab.json`` exactly
  like a lab started by hand. ``lab status`` and ``lab down`` see no
  difference;
* the first request starts the server (a cold start, as long as a lab without
  it); a server exits once it has had no live lab and no request for
  ``$CHAOS_SRE_LAB_SERVER_IDLE_SECONDS`` (default 900 s).

Sockets live in ``$CHAOS_SRE_LAB_SERVER_DIR`` (default
``$XDG_RUNTIME_DIR/chaos-sre`` or ``/tmp/chaos-sre-UID``, mode 0700). Their
names hash the variant and the code (every file of the package, the Python
executable, moto's version), so an edited checkout never gets a lab from stale
code. ``CHAOS_SRE_LAB_SERVER=off`` starts every lab from scratch instead.
"""

import argparse
import fcntl
import gc
import hashlib
import importlib.util
import json
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from chaos_sre.errors import LabError
from chaos_sre.lab.core.plugin import ENTRY_POINT_GROUP
from chaos_sre.lab.core.settings import Profile, profile_named
from chaos_sre.lab.core.state import last_line, pid_alive

DEFAULT_IDLE_SECONDS = 900.0
SERVER_READY_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.02
MAX_SOCKET_PATH_BYTES = 107
"""sockaddr_un holds 108 bytes with the terminating NUL on Linux."""
PACKAGE_DIR = Path(__file__).resolve().parents[2]  # chaos_sre


def enabled() -> bool:
    """Whether labs come from a lab server (``CHAOS_SRE_LAB_SERVER`` is not ``off``)."""
    return os.environ.get("CHAOS_SRE_LAB_SERVER", "on").strip().lower() not in {"off", "0", "no"}


def server_dir() -> Path:
    """The directory of the lab servers' sockets, locks and logs."""
    configured = os.environ.get("CHAOS_SRE_LAB_SERVER_DIR")
    if configured:
        return Path(configured)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "chaos-sre" if runtime else Path(f"/tmp/chaos-sre-{os.getuid()}")


def code_fingerprint() -> str:
    """A hash of what a forked lab runs: the package's files, the lab services registered (and
    the files of those from other packages), the interpreter, moto's version."""
    digest = hashlib.sha256(sys.executable.encode())
    try:
        digest.update(metadata.version("moto").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no moto")
    for directory in (PACKAGE_DIR, *_plugin_dirs(digest)):
        for path in sorted(directory.rglob("*.py")):
            info = path.stat()
            digest.update(f"{path}:{info.st_mtime_ns}:{info.st_size}".encode())
    return digest.hexdigest()


def _plugin_dirs(digest: Any) -> list[Path]:
    """The directories of lab services registered from outside chaos-sre (each entry point goes
    into ``digest``), without importing them."""
    directories = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        digest.update(f"{entry.name}={entry.value}".encode())
        top = entry.value.split(":", 1)[0].split(".", 1)[0]
        found = importlib.util.find_spec(top)
        origin = Path(found.origin).parent if found is not None and found.origin else None
        if origin is not None and origin != PACKAGE_DIR:
            directories.append(origin)
    return directories


@dataclass(frozen=True)
class Variant:
    """What a lab server seeds: everything about a lab that its account depends on."""

    profile: str
    options: tuple[str, ...]
    """The lab services' variant options switched on (``rds-proxy``)."""
    time_scale: float

    @classmethod
    def of(cls, profile: Profile, time_scale: float) -> "Variant":
        return cls(profile.name, profile.options(), time_scale)

    def profile_settings(self) -> Profile:
        profile = profile_named(self.profile)
        for option in self.options:
            profile = profile.with_option(option)
        return profile

    def arguments(self) -> list[str]:
        """This variant as the server's command-line arguments."""
        flags = ["--profile", self.profile, "--time-scale", repr(self.time_scale)]
        return flags + [argument for option in self.options for argument in ("--option", option)]

    def socket_path(self) -> Path:
        key = hashlib.sha256(f"{code_fingerprint()}:{self}".encode()).hexdigest()[:16]
        return server_dir() / f"lab-{key}.sock"


# -- client side: `lab up --detach` ------------------------------------------------
def request_lab(profile: Profile, time_scale: float, *, host: str, api_port: int,
                endpoint_port: int, lab_dir: Path) -> int:
    """Have a lab server fork a lab for ``lab_dir``; start the server first if none runs.

    Returns the lab's pid; the caller waits for its ``lab.json`` as for any lab.
    """
    variant = Variant.of(profile, time_scale)
    path = variant.socket_path()
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise LabError(f"the lab server directory {path.parent} is too long a path for a Unix "
                       "socket: set CHAOS_SRE_LAB_SERVER_DIR to a shorter one")
    request = {"lab_dir": str(lab_dir), "host": host, "api_port": api_port,
               "endpoint_port": endpoint_port, "api_fault_rate": profile.api_fault_rate}
    try:
        reply = _ask(path, request)
        if reply is None:
            with _spawn_lock(path):
                reply = _ask(path, request)
                if reply is None:
                    _spawn_server(variant, path)
                    reply = _ask(path, request)
    except OSError as exc:
        raise LabError(f"cannot use the lab server directory {path.parent}: "
                       f"{exc.strerror or exc}") from exc
    if reply is None:
        raise LabError(f"the lab server at {path} does not answer")
    if "error" in reply:
        raise LabError(f"the lab server could not start a lab: {reply['error']}")
    return int(reply["pid"])


def _ask(path: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    """Send one request; None when no server listens on ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(REQUEST_TIMEOUT_SECONDS)
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        try:
            connection.sendall(json.dumps(request).encode() + b"\n")
            answer = connection.makefile("rb").readline()
        except OSError as exc:
            raise LabError(f"the lab server at {path} failed to answer: {exc}") from exc
    if not answer:
        return None  # the server is exiting (idle) and closed the connection unanswered
    reply: dict[str, Any] = json.loads(answer)
    return reply


@contextmanager
def _spawn_lock(path: Path) -> Iterator[None]:
    """Serialise server starts for one socket across processes (parallel test workers)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _spawn_server(variant: Variant, path: Path) -> None:
    path.unlink(missing_ok=True)  # left by a server that died: nothing listens on it
    log = path.with_suffix(".log")
    command = [sys.executable, "-m", "chaos_sre.lab.core.forkserver", "--socket", str(path),
               *variant.arguments()]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if path.exists():
            return
        if server.poll() is not None:
            raise LabError(f"the lab server failed to start: {last_line(log)}")
        time.sleep(POLL_SECONDS)
    server.kill()
    server.wait()
    raise LabError(f"the lab server did not become ready within "
                   f"{SERVER_READY_TIMEOUT_SECONDS:.0f} s (log: {log})")


def stop_servers(directory: Path | None = None, timeout_seconds: float = 10.0) -> list[int]:
    """Stop every lab server recorded in ``directory`` and wait (bounded) until they have exited
    and removed their sockets; their labs keep running. Returns the servers' pids."""
    stopped = []
    for pid_file in sorted((directory or server_dir()).glob("lab-*.pid")):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, OSError):
            continue
        stopped.append(pid)
    deadline = time.monotonic() + timeout_seconds
    while any(pid_alive(pid) for pid in stopped) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return stopped


# -- server side ---------------------------------------------------------------------
def serve(variant: Variant, path: Path, idle_seconds: float) -> None:
    """Seed one lab, then fork a copy of it per request until idle for ``idle_seconds``."""
    from chaos_sre.lab.core.runtime import Lab  # imports moto: only the server pays for it

    lab = Lab(profile=variant.profile_settings(), time_scale=variant.time_scale)
    lab.prepare()
    gc.freeze()  # the seeded account stays shared: a forked lab's collections never write to it
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked labs are reaped by the kernel
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    listener = _listen(path)
    pid_file = path.with_suffix(".pid")
    pid_file.write_text(str(os.getpid()))
    children: set[int] = set()
    idle_since = time.monotonic()
    print(f"lab server ready: {variant} on {path} (pid {os.getpid()})", flush=True)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not stopping:
                if selector.select(timeout=1.0):
                    connection, _ = listener.accept()
                    with connection:
                        child = _answer(connection, listener, lab)
                    if child:
                        children.add(child)
                    idle_since = time.monotonic()
                children = {pid for pid in children if pid_alive(pid)}
                if children:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > idle_seconds:
                    print(f"lab server idle for {idle_seconds:g} s: exiting", flush=True)
                    break
    finally:
        for leftover in (path, pid_file):
            leftover.unlink(missing_ok=True)
        listener.close()


def _listen(path: Path) -> socket.socket:
    """Bind ``path`` atomically: a client that sees the socket can connect to it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = path.with_name(f".{os.getpid()}.sock")
    staging.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(staging))
    listener.listen(64)
    os.replace(staging, path)
    return listener


def _answer(connection: socket.socket, listener: socket.socket, lab: Any) -> int | None:
    """Read one request, fork the lab for it and reply with the child's pid."""
    connection.settimeout(REQUEST_TIMEOUT_SECONDS)
    try:
        request = json.loads(connection.makefile("rb").readline())
        lab_dir = Path(request["lab_dir"])
        serving = {"host": str(request["host"]), "api_port": int(request["api_port"]),
                   "endpoint_port": int(request["endpoint_port"]),
                   "api_fault_rate": float(request["api_fault_rate"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _reply(connection, {"error": f"bad request: {exc}"})
        return None
    pid = os.fork()
    if pid == 0:
        listener.close()
        connection.close()
        _become_lab(lab, lab_dir, serving)
    _reply(connection, {"pid": pid})
    return pid


def _reply(connection: socket.socket, message: dict[str, Any]) -> None:
    try:
        connection.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the client gave up; a forked lab still records itself in its lab.json


def _become_lab(lab: Any, lab_dir: Path, serving: dict[str, Any]) -> None:
    """In the forked child: detach, log to the lab directory, run the lab; never returns."""
    status = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.environ["CHAOS_SRE_LAB_DIR"] = str(lab_dir)
        lab_dir.mkdir(parents=True, exist_ok=True)
        log = os.open(lab_dir / "lab.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        random.seed()
        _reseed_moto()
        from chaos_sre.lab.core.serving import print_ready, run_lab

        lab.serve_on(**serving)
        status = run_lab(lab, on_ready=print_ready)
    except LabError as exc:
        print(f"error: {exc}", flush=True)
        status = exc.exit_code
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _reseed_moto() -> None:
    """moto draws resource ids from its own generator: each lab gets its own sequence."""
    from moto.moto_api._internal import mock_random

    mock_random.seed()


def main(argv: list[str] | None = None) -> None:
    """``python -m chaos_sre.lab.core.forkserver``: run one lab server (started by ``lab up``)."""
    parser = argparse.ArgumentParser(prog="chaos_sre.lab.core.forkserver")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--time-scale", required=True, type=float)
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--idle-seconds", type=float, default=float(
        os.environ.get("CHAOS_SRE_LAB_SERVER_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)))
    args = parser.parse_args(argv)
    serve(Variant(args.profile, tuple(args.option), args.time_scale), args.socket, args.idle_seconds)


if __name__ == "__main__":
    main()
