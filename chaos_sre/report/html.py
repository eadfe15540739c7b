"""One self-contained HTML page for one or several runs (opens offline: no scripts, no CDN).

Each run gets a verdict banner with its reasons, the key numbers, the SLI
timeline plot (inline SVG), its activities, the targets it touched and its
configuration with secrets blanked. Several runs start with a table that
compares them.
"""

import json
from datetime import UTC, datetime
from html import escape

from chaos_sre.errors import MissingExtra
from chaos_sre.report import figures
from chaos_sre.report.model import RunReport
from chaos_sre.report.plots import timeline_svg

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 72rem; color: #1d1d1f; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; } h3 { font-size: 1.05rem; }
.banner { border-radius: 6px; padding: 0.8rem 1rem; color: #fff; }
.banner.passed { background: #1a7f37; } .banner.failed { background: #cf222e; }
.banner.inconclusive { background: #9a6700; } .banner.dry-run { background: #57606a; }
.banner strong { font-size: 1.2rem; } .banner ul { margin: 0.4rem 0 0 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
figure { margin: 1rem 0; } figure svg { width: 100%; height: auto; }
.note { color: #57606a; font-style: italic; }
"""


def _comparison(runs: list[RunReport]) -> str:
    rows = []
    for index, run in enumerate(runs):
        cells = "".join(f'<td class="num">{escape(value)}</td>'
                        for value in figures.key_figures(run).values())
        verdict_class = "ok" if run.passed else "bad"
        rows.append(f'<tr><td><a href="#run-{index}">{escape(run.title)}</a></td>'
                    f'<td class="{verdict_class}">{run.label}</td>{cells}</tr>')
    header = "".join(f"<th>{escape(name)}</th>" for name in figures.KEY_FIGURE_NAMES)
    return (f"<h2>Comparison</h2><table><tr><th>experiment</th><th>verdict</th>{header}</tr>"
            + "".join(rows) + "</table>")


def _activities(run: RunReport) -> str:
    """The activities, their start (from the first) and duration in AWS seconds."""
    if not run.activities:
        return '<p class="note">no activity was recorded</p>'
    origin = min((a.started_at for a in run.activities if a.started_at is not None), default=None)
    rows = []
    for activity in run.activities:
        start = "-" if activity.started_at is None or origin is None \
            else f"+{run.aws_seconds(activity.started_at - origin):.2f} s"
        duration = figures.seconds(run.aws_seconds(activity.duration_seconds))
        outcome_class = "ok" if activity.status == "succeeded" else "bad"
        outcome = escape(activity.status) + (f": {escape(activity.error)}" if activity.error else "")
        rows.append(f"<tr><td>{escape(activity.phase)}</td><td>{escape(activity.name)}</td>"
                    f"<td>{escape(activity.kind)}</td><td class=\"num\">{start}</td>"
                    f"<td class=\"num\">{duration}</td><td class=\"{outcome_class}\">{outcome}</td></tr>")
    return ("<table><tr><th>phase</th><th>activity</th><th>type</th><th>start</th>"
            "<th>duration</th><th>outcome</th></tr>" + "".join(rows) + "</table>")


def _time_scale_row(run: RunReport) -> str:
    """Where the lab's wall clock helps: the time scale, and how long the run took on it."""
    if run.time_scale == 1:
        return ""
    wall = "" if run.duration_seconds is None else \
        f"; the run took {run.duration_seconds:.1f} s of wall-clock time"
    return (f"<tr><th>time scale</th><td>{run.time_scale:g} (the lab's): every time on this page "
            f"is in AWS seconds{wall}</td></tr>")


def _run_section(run: RunReport, index: int, heading: bool = True) -> str:
    status = run.verdict.status.value
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in run.reasons)
    numbers = "".join(f"<tr><th>{escape(name)}</th><td class=\"num\">{escape(value)}</td></tr>"
                      for name, value in figures.key_figures(run).items())
    try:
        svg = timeline_svg(run, f"run{index}")
        missing = ""
    except MissingExtra as exc:
        svg, missing = None, f"SLI timeline not drawn: {exc}"
    plot = (f'<figure class="timeline">{svg}<figcaption>SLI timeline in AWS seconds: availability '
            "and p99 latency with the SLO, error budget spent against the allowance; vertical "
            "lines mark the fault injection, stop, rollback and recovery.</figcaption></figure>"
            if svg else f'<p class="note">{escape(missing or run.samples_note or "no SLI samples")}</p>')
    targets = ("<ul>" + "".join(f"<li><code>{escape(t)}</code></li>" for t in run.targets) + "</ul>"
               if run.targets else '<p class="note">no chaos-sre fault recorded a target</p>')
    left = ("<h3>Left changed</h3><ul>" + "".join(f"<li>{escape(line)}</li>" for line in run.left_changed)
            + "</ul>" if run.left_changed else "")
    configuration = escape(json.dumps(run.configuration, indent=2, sort_keys=True, default=str))
    return f"""
<section id="run-{index}">
{f"<h2>{escape(run.title)}</h2>" if heading else ""}
<div class="banner {status}"><strong>{run.label}</strong>
<ul>{reasons}</ul></div>
<h3>Key numbers</h3>
<table>{numbers}
<tr><th>started</th><td>{escape(run.started)}</td></tr>{_time_scale_row(run)}
<tr><th>journal</th><td><code>{escape(str(run.journal_path))}</code></td></tr></table>
<h3>Timeline</h3>
{plot}
<h3>Activities</h3>
{_activities(run)}
<h3>Targets touched</h3>
{targets}
{left}
<h3>Configuration (secrets redacted)</h3>
<pre>{configuration}</pre>
</section>"""


def render(runs: list[RunReport], title: str | None = None, notes: list[str] | None = None,
           skipped: list[tuple[str, str]] | None = None) -> str:
    """The whole HTML page for ``runs`` (at least one), with ``notes`` under the title and a
    line per ``skipped`` (name, reason) planned run that did not happen."""
    passed = sum(run.passed for run in runs)
    notes = [*(notes or []), *(f"not run: {name}: {reason}" for name, reason in skipped or [])]
    heading = title or (runs[0].title if len(runs) == 1 else f"{len(runs)} chaos-sre runs")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    summary = (f"<p>{passed} of {len(runs)} runs passed · generated {generated} by chaos-sre</p>"
               if len(runs) > 1 else f"<p>generated {generated} by chaos-sre</p>")
    single = len(runs) == 1 and heading == runs[0].title  # the page's title already names it
    sections = "".join(_run_section(run, index, not single) for index, run in enumerate(runs))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(heading)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(heading)}</h1>
{summary}
{"".join(f'<p class="bad">{escape(note)}</p>' for note in notes or [])}
{_comparison(runs) if len(runs) > 1 else ""}
{sections}
</body>
</html>
"""
