"""Fail closed: an error inside the control's own code becomes part of the verdict.

Chaos Toolkit runs a control's hooks inside ``except Exception`` and logs what
they raise at debug level only (``chaoslib.control.apply_controls``), then goes
on: a control that crashes would leave the run "completed", without a verdict,
or with a fault injected that nothing watches. So every hook of the chaos-sre
control runs through :func:`guarded`: an error is logged, recorded on the run
(the verdict then FAILS naming it), and - before the fault, where going on would
mean injecting unwatched - turned into an interruption.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from chaoslib.exceptions import InterruptExecution

logger = logging.getLogger("chaostoolkit")
Hook = TypeVar("Hook", bound=Callable[..., Any])


def guarded(record: Callable[[str], None], *, interrupt: bool) -> Callable[[Hook], Hook]:
    """Wrap a hook: an exception from it is passed to ``record`` (one line naming the hook) and,
    with ``interrupt``, interrupts the run instead of letting Chaos Toolkit go on."""

    def decorate(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def run_hook(*args: Any, **kwargs: Any) -> Any:
            try:
                return hook(*args, **kwargs)
            except InterruptExecution:
                raise
            except Exception as exc:  # any error: Chaos Toolkit would swallow it (module doc)
                message = describe(hook.__name__, exc)
                logger.error(f"chaos-sre: the control failed: {message}")
                record(message)
                if interrupt:
                    raise InterruptExecution(f"chaos-sre: the control failed, nothing more is "
                                             f"injected: {message}") from exc
                return None

        return run_hook  # type: ignore[return-value]

    return decorate


def describe(where: str, exc: BaseException) -> str:
    """``<where>: <ExceptionType>: <message>`` on one line."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{where}: {type(exc).__name__}: {text}"
