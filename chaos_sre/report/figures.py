"""The key numbers of a run, formatted the same way in every report format."""

from chaos_sre.report.model import RunReport

KEY_FIGURE_NAMES = ("time to detect", "time to recover", "RTO", "budget spent", "budget allowed",
                    "duration")


def seconds(value: float | None) -> str:
    """``1.23 s``, or ``-`` when there is no value."""
    return "-" if value is None else f"{value:.2f} s"


def percent(fraction: float | None) -> str:
    """A fraction as a percentage with 3 significant digits (``0.0147 %``), or ``-``."""
    return "-" if fraction is None else f"{fraction * 100:.3g} %"


def key_figures(run: RunReport) -> dict[str, str]:
    """Time to detect, time to recover, RTO, budget spent and allowed, duration: every time in
    AWS seconds (the lab's runs are played at its time scale; the duration is converted).

    A run whose SLI never dropped after the fault has nothing to recover from:
    its time to recover reads "not needed".
    """
    rto = run.number("recovery", "rto_seconds")
    detect = run.number("recovery", "detect_seconds")
    recover = run.number("recovery", "recover_seconds")
    return {
        "time to detect": seconds(detect),
        "time to recover": "not needed" if detect is None and recover is not None else seconds(recover),
        "RTO": "-" if rto is None else f"{rto:g} s",
        "budget spent": percent(run.number("budget", "consumed_fraction")),
        "budget allowed": percent(run.number("budget", "allowed_fraction")),
        "duration": seconds(run.aws_seconds(run.duration_seconds)),
    }
