"""The chaos-sre control's arguments: their schema, checks and defaults (docs/slo.md).

Used by the control when a run starts and by ``chaos-sre validate`` before one;
neither imports the other.
"""

import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos_sre import timescale, values
from chaos_sre.errors import ValidationError
from chaos_sre.slo import math as slo_math
from chaos_sre.slo.definition import SLODefinition, load_slo
from chaos_sre.slo.verdict import RunSettings

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


def _number(name: str, value: Any, *, low: float, high: float) -> float:
    number = values.number(f"chaos-sre control: {name}", value)
    if not math.isfinite(number) or not low < number <= high:
        raise ValidationError(f"chaos-sre control: {name} must be in ({low:g}, {high:g}], got {value!r}")
    return number


def _optional_number(name: str, value: Any, *, low: float, high: float) -> float | None:
    return None if value is None else _number(name, value, low=low, high=high)


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


def _checked_settings(
    slo: str,
    target_url: str,
    budget_allowance: float,
    rto_seconds: float,
    rate: float = 50.0,
    baseline_seconds: float = 3.0,
    hold_seconds: float = 3.0,
    recovery_window_seconds: float = 2.0,
    burn_rate_stop: float | None = None,
    burn_window_seconds: float = 5.0,
    samples_path: str | None = None,
    budget_gate: bool = True,
    restore_rto_seconds: float | None = None,
    window_traffic_rate: float | str | None = None,
    run_traffic_rate: float | None = None,
    time_scale: float | None = None,
    *,
    configuration: dict[str, Any] | None = None,
    experiment_file: Path | None = None,
) -> ControlSettings:
    sub = lambda value: substitute_reference(value, configuration)  # noqa: E731
    definition = load_slo(located(str(sub(slo)), experiment_file))
    checked_rate = _number("rate", sub(rate), low=0, high=MAX_RATE)
    scale = timescale.time_scale() if time_scale is None \
        else _number("time_scale", sub(time_scale), low=0, high=timescale.MAX_TIME_SCALE)
    stop = _optional_number("burn_rate_stop", sub(burn_rate_stop), low=0, high=1e9)
    recovery_window, recovery_note = expressive_window(
        "recovery_window_seconds",
        _number("recovery_window_seconds", sub(recovery_window_seconds), low=0, high=MAX_SECONDS),
        checked_rate, slo_math.samples_to_express(definition.target),
        f"to express {definition.target * 100:g} % (one bad sample allowed)", scale)
    burn_window, burn_note = expressive_window(
        "burn_window_seconds",
        _number("burn_window_seconds", sub(burn_window_seconds), low=0, high=MAX_SECONDS),
        checked_rate, burn_samples(definition.target, stop),
        f"so that one bad sample alone never exceeds the {stop or 0:g}x burn-rate stop", scale)
    traffic = sub(window_traffic_rate)
    from_cloudwatch = traffic == FROM_CLOUDWATCH
    run_settings = RunSettings(
        budget_allowance=_number("budget_allowance", sub(budget_allowance), low=0, high=1),
        rto_seconds=_number("rto_seconds", sub(rto_seconds), low=0, high=86400),
        rate=checked_rate,
        baseline_seconds=_number("baseline_seconds", sub(baseline_seconds), low=0,
                                 high=MAX_SECONDS),
        hold_seconds=_number("hold_seconds", sub(hold_seconds), low=0, high=MAX_SECONDS),
        recovery_window_seconds=recovery_window,
        burn_rate_stop=stop,
        burn_window_seconds=burn_window,
        restore_rto_seconds=_optional_number("restore_rto_seconds", sub(restore_rto_seconds),
                                             low=0, high=86400),
        window_traffic_rate=None if from_cloudwatch else _optional_number(
            "window_traffic_rate", traffic, low=0, high=1e9),
        run_traffic_rate=_optional_number("run_traffic_rate", sub(run_traffic_rate),
                                          low=0, high=1e9),
        adjustments=tuple(n for n in (recovery_note, burn_note) if n),
        time_scale=scale,
    )
    if from_cloudwatch and not definition.load_balancer:
        raise ValidationError("chaos-sre control: window_traffic_rate cloudwatch reads the SLO's "
                              f"load balancer, and SLO {definition.name} names none "
                              "(total.metricSource.spec.loadBalancer)")
    url = str(sub(target_url))
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"chaos-sre control: target_url must be an http(s) URL, got {url!r}")
    return ControlSettings(definition, run_settings, url,
                           str(sub(samples_path)) if samples_path else None,
                           bool(sub(budget_gate)), from_cloudwatch)


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
    a relative SLO path found as :func:`located` says, from ``experiment_file``)."""
    parameters = inspect.signature(_checked_settings).parameters
    known = [name for name in parameters if name not in ("configuration", "experiment_file")]
    unknown = sorted(str(key) for key in set(arguments) - set(known))
    if unknown:
        raise ValidationError(f"chaos-sre control: unknown argument {unknown[0]!r} "
                              f"(it takes: {', '.join(known)})")
    missing = [name for name in known if parameters[name].default is inspect.Parameter.empty
               and name not in arguments]
    if missing:
        raise ValidationError(f"chaos-sre control: argument {missing[0]} is required")
    return _checked_settings(**arguments, configuration=configuration,
                             experiment_file=experiment_file)


def substitute_reference(value: Any, configuration: dict[str, Any] | None) -> Any:
    """Resolve a ``${name}`` configuration reference (configure_control gets raw arguments)."""
    name = values.reference_name(value)
    if name is not None and configuration and configuration.get(name) is not None:
        return configuration[name]
    return value
