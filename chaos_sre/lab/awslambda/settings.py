"""Lambda's profile part (docs/lab.md gives the sources of the timings in
:mod:`chaos_sre.lab.awslambda.invocations`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaProfile:
    """How service ``api`` copes when its function is throttled, fails or is slow (FIS)."""

    degrade_when_throttled: bool
    """``/api/quote`` is served without the function's answer (200, a fallback) - a slow one given
    up after the api's timeout; else 502, or the wait."""


PROFILES = {
    "resilient": LambdaProfile(degrade_when_throttled=True),
    "fragile": LambdaProfile(degrade_when_throttled=False),
}
