"""Serving one lab in this process: start it, record it, print where it is, serve until stopped.

Used by ``lab up`` in the foreground and by each lab a lab server forks
(:mod:`chaos_sre.lab.core.forkserver`).
"""

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos_sre.errors import LabError
from chaos_sre.lab.core.state import LabState, log_path, remove_state, write_state

if TYPE_CHECKING:
    from chaos_sre.lab.core.runtime import Lab


def run_lab(lab: "Lab", *, on_ready: Callable[[LabState], None]) -> int:
    """Start ``lab`` (seeding it unless prepared), record it in ``lab.json``, serve until
    SIGINT or SIGTERM; return the exit status."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        lab.start()
        state = lab.state(os.getpid(), str(log_path()))
        write_state(state)
        on_ready(state)
        while not stop.wait(0.2):
            if lab.dynamics.crashed:
                raise LabError("the lab's dynamics stopped unexpectedly (traceback in the lab log)")
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop()
        remove_state(os.getpid())
        signal.signal(signal.SIGTERM, previous)
    return 0


def print_exports(state: LabState) -> None:
    """The ``export`` lines that point a shell at the lab (``eval "$(chaos-sre lab up --detach)"``)."""
    for name, value in state.environment().items():
        print(f"export {name}={value}")
    sys.stdout.flush()


def print_ready(state: LabState) -> None:
    """What a lab prints once it serves: the ``export`` lines, then a note on standard error."""
    print_exports(state)
    print(f"lab ready (pid {state.pid}, profile {state.profile}, time scale {state.time_scale:g}); "
          "Ctrl-C stops it", file=sys.stderr, flush=True)
