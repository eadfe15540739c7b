"""Shared by the benchmarks: a lab started with the CLI on free loopback ports."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

CLI = [sys.executable, "-m", "chaos_sre.cli"]


@contextmanager
def running_lab(*args: str, source: str | None = None) -> Iterator[dict[str, str]]:
    """Start a lab (`chaos-sre lab up --detach ARGS`), yield its exports, stop it.

    ``source``: a checkout whose ``chaos_sre`` runs the lab instead of this one (on PYTHONPATH).
    """
    env = {**os.environ, "CHAOS_SRE_LAB_DIR": tempfile.mkdtemp(prefix="bench-lab-")}
    if source is not None:
        env["PYTHONPATH"] = source
    up = subprocess.run([*CLI, "lab", "up", "--detach", "--api-port", "0", "--endpoint-port", "0",
                         *args], env=env, cwd=source, capture_output=True, text=True, check=True,
                        timeout=120)  # `python -m` puts the working directory first on sys.path
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in up.stdout.splitlines() if line.startswith("export "))
    try:
        yield exports
    finally:
        subprocess.run([*CLI, "lab", "down"], env=env, cwd=source, capture_output=True, check=False,
                       timeout=60)
