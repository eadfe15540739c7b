"""The report's plots, drawn with matplotlib and inlined as SVG (no scripts, no fonts to fetch).

One figure per run, three panels sharing the time axis (AWS seconds from the
fault injection: a lab run's wall-clock samples divided by its time scale):
availability per bin with the SLO objective, p99 latency per bin (with the
SLO's latency threshold when it has one), and the error budget spent so far
against the experiment's allowance. Vertical lines mark
the fault injection, the stop, the rollback and the recovery on every panel.
The series and markers carry SVG ids (``run0-marker-fault-injected-0``,
``run0-availability`` ...) so a page can be checked by script.
"""

import io
from typing import TYPE_CHECKING

from chaos_sre import extras
from chaos_sre.report.model import RunReport
from chaos_sre.report.timeline import Timeline, build

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARKER_STYLES = {
    "fault injected": ("#d62728", "-"),
    "stopped": ("#9467bd", "--"),
    "rollback": ("#ff7f0e", "-."),
    "recovered": ("#2ca02c", ":"),
}


def timeline_of(run: RunReport) -> Timeline | None:
    """The run's binned timeline, or None when it has no samples."""
    if not run.samples:
        return None
    extension = run.extension or {}
    rate = (extension.get("sampling") or {}).get("rate") or 1.0
    return build(run.samples, fault_at=run.fault_started_at, rate=float(rate),
                 target=run.target if run.target is not None else 1.0,
                 window_seconds=(run.number("slo", "window_seconds") or 30 * 86400.0)
                 * run.time_scale,
                 latency_threshold=run.number("slo", "latency_threshold_seconds"),
                 time_scale=run.time_scale)


def timeline_svg(run: RunReport, figure_id: str) -> str | None:
    """The run's SLI timeline as an ``<svg>`` element, or None when it has no samples.

    Raises :class:`~chaos_sre.errors.MissingExtra` when matplotlib (the ``report`` extra)
    is not installed.
    """
    timeline = timeline_of(run)
    if timeline is None:
        return None
    extras.require("report")
    # Imported here: matplotlib takes a while to load and only reports need it.
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": figure_id, "svg.fonttype": "path",
                                "font.size": 9}):
        figure = timeline_figure(run, timeline, figure_id)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "chaos-sre"})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def timeline_figure(run: RunReport, timeline: Timeline, figure_id: str) -> "Figure":
    """The matplotlib figure of :func:`timeline_svg` (every time in AWS seconds)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 7.2), layout="constrained")
    availability, latency, budget = figure.subplots(3, 1, sharex=True)
    starts = timeline.starts  # AWS seconds
    per_bin = f"per {timeline.bin_seconds:.3g} s"
    percent = [None if v is None else v * 100 for v in timeline.availability]
    availability.step(starts, percent, where="post", color="#1f77b4",
                      gid=f"{figure_id}-availability", label=f"good requests {per_bin}")
    if run.target is not None:
        availability.axhline(run.target * 100, color="#444", linestyle="--", linewidth=1,
                             gid=f"{figure_id}-slo",
                             label=f"SLO {run.target * 100:g} %")
    availability.set_ylabel("availability (%)")
    availability.set_ylim(min([v for v in percent if v is not None] + [95.0]) - 2, 100.5)

    millis = [None if v is None else v * 1000 for v in timeline.p99_latency_seconds]
    latency.step(starts, millis, where="post", color="#8c564b",
                 gid=f"{figure_id}-p99-latency", label=f"p99 latency {per_bin}")
    threshold = run.number("slo", "latency_threshold_seconds")
    if threshold is not None:
        latency.axhline(threshold * 1000, color="#444", linestyle="--", linewidth=1,
                        label=f"latency threshold {threshold * 1000:g} ms")
    latency.set_ylabel("p99 latency (ms)")

    allowed = run.number("budget", "allowed_fraction")
    budget.plot(timeline.budget_times, [v * 100 for v in timeline.budget_spent],
                color="#d62728", label="error budget spent", gid=f"{figure_id}-budget")
    if allowed is not None:
        budget.axhline(allowed * 100, color="#444", linestyle="--", linewidth=1,
                       label=f"allowance {allowed * 100:g} %")
    budget.set_ylabel("budget spent (% of window)")
    origin_label = "fault injection" if run.fault_started_at is not None else "first sample"
    scaled = "" if run.time_scale == 1 else \
        f" (played in the lab at time scale {run.time_scale:g})"
    budget.set_xlabel(f"AWS seconds from the {origin_label}{scaled}")

    for marker in run.markers():
        color, style = MARKER_STYLES.get(marker.label, ("#7f7f7f", "-"))
        slug = marker.label.replace(" ", "-")
        for panel, axis in enumerate((availability, latency, budget)):
            axis.axvline(timeline.position(marker.at), color=color, linestyle=style,
                         linewidth=1.3, label=marker.label if axis is availability else None,
                         gid=f"{figure_id}-marker-{slug}-{panel}")
    for axis in (availability, latency, budget):
        axis.grid(True, alpha=0.3)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return figure
