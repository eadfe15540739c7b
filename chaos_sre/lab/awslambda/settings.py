"""Lambda's profile part (docs/lab.md gives the sources of the timings in
:mod:`chaos_sre.lab.awslambda.invocations`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaProfile:
    """How service ``api`` copes when its function is throttled."""

    degrade_when_throttled: bool
    """``/api/quote`` is served without the function's answer (200, a fallback); else 502."""


PROFILES = {
    "resilient": LambdaProfile(degrade_when_throttled=True),
    "fragile": LambdaProfile(degrade_when_throttled=False),
}
