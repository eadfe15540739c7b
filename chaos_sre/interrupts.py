"""Ctrl-C, SIGTERM and the stop condition start the rollbacks at once, also mid-action.

Chaos Toolkit (chaostoolkit-lib 1.44, ``chaoslib.activity.execute_activity``)
sleeps an activity's ``pauses.after`` in a ``finally`` block, and the flag that
should skip it on an interruption is never set. So when Ctrl-C, SIGTERM or the
stop condition (SIGUSR1) lands while an action itself runs - an AWS call of a
fault, not its pause - the interruption waits out the whole pause (the hold,
30 s or more) before any rollback plays, with the fault still in place.

While the chaos-sre control watches a run (:func:`watch`), those signals are
noted before Chaos Toolkit's own handlers raise, and the pauses of
``chaoslib.activity`` end as soon as one was noted: a pause that starts after
it raises the same interruption again at once. Once the rollbacks start
(:func:`rollbacks_started`) pauses are left alone again, so a rollback's own
pause is honoured; a second Ctrl-C then skips the remaining rollbacks, as
Chaos Toolkit does, and they stay pending in the ledger (``chaos-sre rollback``).

The stop condition's SIGUSR1 interrupts only while the fault is in place: it is
armed when the fault starts (:func:`arm_stop`) and disarmed when the rollbacks
begin (:func:`rollbacks_started`), so it also cuts short the steady-state check
after the method (a probe that waits minutes for targets to heal would
otherwise keep the fault in place long after the budget ran out). A stop whose
signal is handled after that is ignored - the rollbacks are running - so it can
never cut the rollbacks short or land inside the after-experiment hook.
"""

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from chaoslib import activity as chaoslib_activity

WATCHED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)

_noted = threading.Event()
_stop_armed = threading.Event()
_interruption: BaseException | None = None
_previous_handlers: dict[int, Any] = {}


class _InterruptiblePauses:
    """Stands in for ``chaoslib.activity``'s ``time`` module: ``sleep`` ends on an interruption."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        if _noted.wait(max(0.0, float(seconds))):
            raise _again()


def _again() -> BaseException:
    """A fresh copy of the noted interruption (KeyboardInterrupt when none was kept)."""
    if _interruption is None:
        return KeyboardInterrupt()
    return type(_interruption)(*_interruption.args)


def _noting(previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        global _interruption
        if signum == signal.SIGUSR1 and not _stop_armed.is_set():
            return  # a stop that arrives after the method ended: the rollbacks come next anyway
        _noted.set()
        try:
            previous(signum, frame)
        except BaseException as interruption:  # re-raised below: the handler's own exception
            _interruption = interruption
            raise

    return handler


def watch() -> None:
    """Note interruptions and cut the method's pauses short (call from the main thread)."""
    global _interruption
    _noted.clear()
    _interruption = None
    for signum in WATCHED_SIGNALS:
        previous = signal.getsignal(signum)
        if signum not in _previous_handlers and callable(previous):  # not SIG_DFL / SIG_IGN
            _previous_handlers[signum] = previous
            signal.signal(signum, _noting(previous))
    chaoslib_activity.time = _InterruptiblePauses()  # type: ignore[assignment]


def arm_stop() -> None:
    """The fault started: the stop condition's SIGUSR1 interrupts the method from now on."""
    _stop_armed.set()


def rollbacks_started() -> None:
    """From here on pauses are honoured again (a rollback's pause is part of the restore)."""
    _stop_armed.clear()
    _noted.clear()


def release() -> None:
    """Give the signals back to their previous handlers and the pauses back to ``time``."""
    for signum, previous in list(_previous_handlers.items()):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signum, previous)
        del _previous_handlers[signum]
    chaoslib_activity.time = time  # type: ignore[assignment]
    _stop_armed.clear()
    _noted.clear()

