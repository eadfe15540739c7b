"""How long `chaos-sre lab up --detach` takes, forked from a lab server and from scratch.

Every start is the real command on free loopback ports, timed from launch until it returns
(the lab is then serving: its `lab.json` is written once both ports answer); each lab is
stopped with `lab down` before the next start (not timed). Rows:

* lab server, warm: a server for the variant runs already; the lab is a fork of it;
* lab server, first start: no server yet (a fresh server directory each time), so the
  command starts one, which imports and seeds the lab before forking;
* from scratch: ``CHAOS_SRE_LAB_SERVER=off``, the lab process imports moto and seeds the
  account itself (how every lab started before the lab server);
* import floor of a snapshot restore: a fresh Python importing the lab runtime (what any
  design that restores a saved account into a new process pays before restoring anything).

Usage: python -m bench.lab_start [--runs 10]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench.common import median_spread, published
from bench.lab_process import CLI

TIMEOUT_SECONDS = 120


def timed_start(env: dict[str, str]) -> float:
    """Seconds `lab up --detach` took; the lab is stopped afterwards."""
    lab_env = {**env, "CHAOS_SRE_LAB_DIR": tempfile.mkdtemp(prefix="bench-lab-")}
    started = time.perf_counter()
    subprocess.run([*CLI, "lab", "up", "--detach", "--api-port", "0", "--endpoint-port", "0"],
                   env=lab_env, capture_output=True, check=True, timeout=TIMEOUT_SECONDS)
    elapsed = time.perf_counter() - started
    subprocess.run([*CLI, "lab", "down"], env=lab_env, capture_output=True, check=True,
                   timeout=TIMEOUT_SECONDS)
    return elapsed


def import_floor(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import chaos_sre.lab.core.runtime"], env=env, check=True,
                   timeout=TIMEOUT_SECONDS)
    return time.perf_counter() - started


def stop_servers(directory: str) -> None:
    from chaos_sre.lab.core import forkserver

    forkserver.stop_servers(Path(directory))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_SRE_LAB_SERVER")}
    warm_dir = tempfile.mkdtemp(prefix="bench-labd-")
    warm_env = {**base, "CHAOS_SRE_LAB_SERVER_DIR": warm_dir}
    timed_start(warm_env)  # starts the server the warm rows fork from

    def first_start() -> float:
        directory = tempfile.mkdtemp(prefix="bench-labd-")
        try:
            return timed_start({**base, "CHAOS_SRE_LAB_SERVER_DIR": directory})
        finally:
            stop_servers(directory)

    rows: list[tuple[str, Callable[[], float], int]] = [
        ("lab server, warm (a fork)", lambda: timed_start(warm_env), args.runs),
        ("lab server, first start (server seeds)", first_start, max(3, args.runs // 3)),
        ("from scratch (CHAOS_SRE_LAB_SERVER=off)",
         lambda: timed_start({**base, "CHAOS_SRE_LAB_SERVER": "off"}), args.runs),
        ("import floor of a snapshot restore", lambda: import_floor(base), args.runs),
    ]
    print("| `chaos-sre lab up --detach` | runs | seconds, median [min, max] |")
    print("|---|---|---|")
    try:
        for name, measure, runs in rows:
            values = [measure() for _ in range(runs)]
            print(f"| {name} | {runs} | {median_spread(values)} |", flush=True)
    finally:
        stop_servers(warm_dir)


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
