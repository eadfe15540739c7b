"""The chaos-sre control's arguments: their schema, checks and defaults (docs/slo.md).

Used by the control when a run starts and by ``chaos-sre validate`` before one;
neither imports the other.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from chaos_sre import timescale, values
from chaos_sre.errors import ValidationError
from chaos_sre.slo import math as slo_math
from chaos_sre.slo.definition import SLODefinition, load_slo
from chaos_sre.slo.verdict import RunSettings
from chaos_sre.validation import STRICT, Number, problem

MAX_RATE = 2000.0
MAX_WINDOW_SECONDS = 3600.0
"""The longest a widened window may sample (wall seconds)."""
MAX_SECONDS = 86400.0
"""The longest baseline, hold or window an experiment may state (AWS seconds)."""
FROM_CLOUDWATCH = "cloudwatch"


def located(path: str, experiment_file: Path | None) -> str:
    """A relative file path an experiment names (its SLO file): as given when it exists from the
    working directory, else from the experiment file's folder or the nearest folder above it
    where it exists - so a shipped experiment runs from any directory. Unfound, as given (the
    reader's error names it)."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists() or experiment_file is None:
        return path
    for folder in Path(experiment_file).resolve().parents:
        if (folder / candidate).exists():
            return str(folder / candidate)
    return path


Fraction = Annotated[Number, pydantic.Field(gt=0, le=1)]
Seconds = Annotated[Number, pydantic.Field(gt=0, le=MAX_SECONDS)]
"""AWS seconds of a baseline, hold or window."""
DaySeconds = Annotated[Number, pydantic.Field(gt=0, le=86400)]
Rate = Annotated[Number, pydantic.Field(gt=0, le=MAX_RATE)]
Positive = Annotated[Number, pydantic.Field(gt=0, le=1e9)]
TimeScale = Annotated[Number, pydantic.Field(gt=0, le=timescale.MAX_TIME_SCALE)]


class ControlArguments(pydantic.BaseModel):
    """The control's arguments as an experiment declares them (``${name}`` references resolved)."""

    model_config = STRICT
    slo: str
    target_url: str
    budget_allowance: Fraction
    rto_seconds: DaySeconds
    rate: Rate = 50.0
    baseline_seconds: Seconds = 3.0
    hold_seconds: Seconds = 3.0
    recovery_window_seconds: Seconds = 2.0
    burn_rate_stop: Positive | None = None
    burn_window_seconds: Seconds = 5.0
    samples_path: str | None = None
    budget_gate: bool = True
    restore_rto_seconds: DaySeconds | None = None
    window_traffic_rate: Positive | Literal["cloudwatch"] | None = None
    run_traffic_rate: Positive | None = None
    time_scale: TimeScale | None = None


@dataclass(frozen=True)
class ControlSettings:
    """The control's arguments, checked: the SLO, the run settings, where to sample."""

    slo: SLODefinition
    run: RunSettings
    target_url: str
    samples_path: str | None
    budget_gate: bool
    window_traffic_from_cloudwatch: bool = False
    """Read the window's average request rate from CloudWatch RequestCount at the gate."""


def _checked_settings(given: ControlArguments, experiment_file: Path | None) -> ControlSettings:
    definition = load_slo(located(given.slo, experiment_file))
    scale = timescale.time_scale() if given.time_scale is None else given.time_scale
    stop = given.burn_rate_stop
    recovery_window, recovery_note = expressive_window(
        "recovery_window_seconds", given.recovery_window_seconds, given.rate,
        slo_math.samples_to_express(definition.target),
        f"to express {definition.target * 100:g} % (one bad sample allowed)", scale)
    burn_window, burn_note = expressive_window(
        "burn_window_seconds", given.burn_window_seconds, given.rate,
        burn_samples(definition.target, stop),
        f"so that one bad sample alone never exceeds the {stop or 0:g}x burn-rate stop", scale)
    from_cloudwatch = given.window_traffic_rate == FROM_CLOUDWATCH
    run_settings = RunSettings(
        budget_allowance=given.budget_allowance, rto_seconds=given.rto_seconds, rate=given.rate,
        baseline_seconds=given.baseline_seconds, hold_seconds=given.hold_seconds,
        recovery_window_seconds=recovery_window, burn_rate_stop=stop,
        burn_window_seconds=burn_window, restore_rto_seconds=given.restore_rto_seconds,
        window_traffic_rate=None if isinstance(given.window_traffic_rate, str)
        else given.window_traffic_rate,
        run_traffic_rate=given.run_traffic_rate,
        adjustments=tuple(n for n in (recovery_note, burn_note) if n),
        time_scale=scale,
    )
    if from_cloudwatch and not definition.load_balancer:
        raise ValidationError("chaos-sre control: window_traffic_rate cloudwatch reads the SLO's "
                              f"load balancer, and SLO {definition.name} names none "
                              "(total.metricSource.spec.loadBalancer)")
    if not given.target_url.startswith(("http://", "https://")):
        raise ValidationError(f"chaos-sre control: target_url must be an http(s) URL, "
                              f"got {given.target_url!r}")
    return ControlSettings(definition, run_settings, given.target_url, given.samples_path,
                           given.budget_gate, from_cloudwatch)


def burn_samples(target: float, burn_rate_stop: float | None) -> int:
    """The fewest samples in which one bad sample's burn rate is at most ``burn_rate_stop``."""
    if burn_rate_stop is None:
        return 1
    return math.ceil(1.0 / ((1.0 - target) * burn_rate_stop) - 1e-9)


def expressive_window(name: str, asked: float, rate: float, samples: int,
                      purpose: str, scale: float = 1.0) -> tuple[float, str | None]:
    """The window ``name`` (AWS seconds, played in ``scale`` wall seconds each) widened until it
    holds ``samples`` samples at ``rate`` wall req/s (and a note saying so), or as asked when it
    does; a window that would need more than an hour of sampling is refused instead."""
    needed_wall = samples / rate
    if asked * scale >= needed_wall:
        return asked, None
    if needed_wall > MAX_WINDOW_SECONDS:
        raise ValidationError(
            f"chaos-sre control: at {rate:g} req/s, {name} would have to last {needed_wall:g} s "
            f"to hold the {samples} samples needed {purpose}: raise rate")
    needed = needed_wall / scale
    played = "" if scale == 1 else f" (played in {asked * scale:g} s at lab time scale {scale:g})"
    return needed, (f"{name} widened from {asked:g} s to {needed:g} s: at {rate:g} req/s "
                    f"{asked:g} s{played} holds {int(asked * scale * rate)} samples, and {samples} "
                    f"are needed {purpose}")


def control_settings(arguments: dict[str, Any], configuration: dict[str, Any] | None = None,
                     *, experiment_file: Path | None = None) -> ControlSettings:
    """Check the control's ``arguments`` as an experiment declares them (``${name}`` resolved;
    a relative SLO path found as :func:`located` says, from ``experiment_file``); a bad one is
    a one-line ValidationError ``chaos-sre control: argument NAME: ...``."""
    given_values = {key: values.resolved(value, configuration or {},
                                         f"chaos-sre control: argument {key}")
                    for key, value in arguments.items()}
    try:
        given = ControlArguments.model_validate(given_values)
    except pydantic.ValidationError as exc:
        raise ValidationError("chaos-sre control: " + problem(ControlArguments, exc, given_values,
                                                              label="argument")) from None
    return _checked_settings(given, experiment_file)
