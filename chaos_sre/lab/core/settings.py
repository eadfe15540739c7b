"""The lab's account, region and AZs, its profiles, and the parsing of its options.

A profile has one part per lab service, declared in that service's ``settings``
module next to the service's AWS timings (``chaos_sre/lab/<service>/settings.py``).
Every duration there is in *AWS seconds*: how long the thing takes on AWS (or
the value the lab's topology configures, as a staging account would). The lab
multiplies each by the time scale, so ``--time-scale 0.1`` plays an AWS minute
in six seconds. docs/lab.md lists each value with its source.
"""

from dataclasses import dataclass, replace
from typing import Any

from chaos_sre.errors import ValidationError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ORCHESTRATOR_ACCOUNT_ID = "111122223333"
"""A second account, empty but for the role ``chaos-sre-runner``: a multi-account FIS experiment
runs there and acts on :data:`ACCOUNT_ID`, which holds the application."""
ACCOUNTS = (ACCOUNT_ID, ORCHESTRATOR_ACCOUNT_ID)
AVAILABILITY_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
DEFAULT_TIME_SCALE = 0.1


PROFILES = ("resilient", "fragile")
"""The lab's profiles: the same resource names, different weaknesses (each lab service says its
part of each, in its plugin object and its ``settings`` module)."""


@dataclass(frozen=True)
class Profile:
    """A named lab profile: each lab service's part of it (its ``settings.PROFILES[name]``)."""

    name: str
    description: str
    parts: tuple[tuple[str, Any], ...]
    """(service, that service's profile part) for every lab service whose ``settings`` module
    has ``PROFILES`` (a service whose behaviour no profile changes has only ``TIMINGS``)."""
    api_fault_rate: float = 0.0
    """Share of AWS API calls the lab answers with a throttling or server error."""

    def part(self, service: str) -> Any:
        """Lab service ``service``'s part of the profile (e.g. ``part("dynamodb")``)."""
        return dict(self.parts)[service]

    def with_part(self, service: str, **changes: Any) -> "Profile":
        """This profile with fields of ``service``'s part changed."""
        parts = tuple((name, replace(part, **changes) if name == service else part)
                      for name, part in self.parts)
        return replace(self, parts=parts)

    def with_api_fault_rate(self, rate: float) -> "Profile":
        """This profile with ``rate`` of the API calls failing (see chaos_sre.lab.core.api_faults)."""
        return replace(self, api_fault_rate=rate)

    def with_option(self, option: str) -> "Profile":
        """This profile with a lab service's variant ``option`` switched on (``rds-proxy``:
        RDS Proxy in front of the Aurora cluster; ``lab up --rds-proxy``)."""
        from chaos_sre.lab.core.services import lab_services

        for service in lab_services():
            if option in service.options:
                return self.with_part(service.name, **{service.options[option]: True})
        known = sorted(o for s in lab_services() for o in s.options)
        raise ValidationError(f"unknown lab option {option!r} (known: {', '.join(known)})")

    def options(self) -> tuple[str, ...]:
        """The lab services' variant options switched on in this profile."""
        from chaos_sre.lab.core.services import lab_services

        parts = dict(self.parts)
        return tuple(sorted(option for s in lab_services() for option, name in s.options.items()
                            if getattr(parts.get(s.name), name, False)))


def profile_named(name: str) -> Profile:
    """Return the profile called ``name`` (its parts from every lab service's ``settings``
    module) or raise a one-line ValidationError."""
    if name not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ValidationError(f"unknown lab profile {name!r} (choose one of: {known})")
    from chaos_sre.lab.core.services import lab_services, service_modules  # they import this

    described = sorted((s for s in lab_services() if name in s.profile_descriptions),
                       key=lambda s: (s.order, s.name))
    return Profile(name=name, description="; ".join(s.profile_descriptions[name] for s in described),
                   parts=tuple((service, module.PROFILES[name])
                               for service, module in service_modules("settings")
                               if hasattr(module, "PROFILES")))


def parse_api_fault_rate(value: str | float) -> float:
    """Parse an ``--api-fault-rate`` value: a number in [0, 1)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"api fault rate must be a number, got {value!r}") from None
    if not 0 <= rate < 1:
        raise ValidationError(f"api fault rate must be at least 0 and below 1, got {value!r}")
    return rate


