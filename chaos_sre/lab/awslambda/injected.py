"""What AWS FIS's Lambda extension does to invocations, as the lab plays it (pure, tested without a
lab; the lab's FIS starts and ends the faults: :mod:`chaos_sre.lab.fis.actions`).

FIS's ``aws:lambda:invocation-error`` and ``aws:lambda:invocation-add-delay`` work through its
extension, a layer the function runs with (``AWS_LAMBDA_EXEC_WRAPPER`` ``/opt/aws-fis/bootstrap``)
that reads the faults FIS writes to the S3 location the function names
(``AWS_FIS_CONFIGURATION_LOCATION``) - "Use the AWS FIS aws:lambda:function actions". A function
without that configuration is not a target FIS can use. Per the actions reference:

* ``invocation-add-delay``: ``startupDelayMilliseconds`` (0-900,000; 1,000 by default) between the
  invocation and the start of the function's code, in ``invocationPercentage`` (1-100, 100 by
  default) of invocations - billed time, held like the rest of the invocation;
* ``invocation-error``: the invocation is marked failed (a function error) in
  ``invocationPercentage`` of invocations; with ``preventExecution`` the code does not run.

The extension polls its configuration: a fault takes effect at its next poll, once a minute (lab
assumption: :data:`EXTENSION_POLL_SECONDS`; the extension's poll interval is not documented) and
ends with the action.
"""

import math
import random
from dataclasses import dataclass

EXTENSION_POLL_SECONDS = 60.0


@dataclass(frozen=True)
class InjectedFault:
    """One FIS action's fault on a function's invocations (AWS seconds)."""

    holder: str
    error: bool
    """``invocation-error`` (else ``invocation-add-delay``)."""
    percentage: float = 100.0
    delay_seconds: float = 0.0
    prevent_execution: bool = False
    active_from: float = 0.0


def next_poll(now: float) -> float:
    """When the extension next reads its configuration (AWS seconds on the lab's clock)."""
    return math.ceil(now / EXTENSION_POLL_SECONDS) * EXTENSION_POLL_SECONDS


@dataclass(frozen=True)
class Applied:
    """What the extension does to one invocation."""

    delay_seconds: float = 0.0
    error: bool = False
    runs: bool = True


def applied(faults: list[InjectedFault], now: float, rng: random.Random) -> Applied:
    """The faults in effect at ``now``, each drawn for its share of invocations."""
    delay, error, runs = 0.0, False, True
    for fault in faults:
        if now < fault.active_from or rng.random() * 100.0 >= fault.percentage:
            continue
        if fault.error:
            error, runs = True, runs and not fault.prevent_execution
        else:
            delay += fault.delay_seconds
    return Applied(delay, error, runs)
