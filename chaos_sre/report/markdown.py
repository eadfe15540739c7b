"""A short Markdown summary for a pull request or a chat: verdict, key numbers, one table."""

from chaos_sre.report import figures
from chaos_sre.report.model import RunReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(runs: list[RunReport], title: str | None = None, notes: list[str] | None = None) -> str:
    """The Markdown summary of ``runs`` (at least one), with ``notes`` under the heading."""
    passed = sum(run.passed for run in runs)
    failed = len(runs) - passed
    if len(runs) == 1:
        run = runs[0]
        heading = f"### {'✅ PASSED' if run.passed else '❌ FAILED'}: {_cell(title or run.title)}"
    else:
        heading = (f"### {'✅' if not failed else '❌'} {_cell(title or 'chaos-sre runs')}: "
                   f"{passed} of {len(runs)} passed")
    names = figures.KEY_FIGURE_NAMES
    lines = [heading, ""] + [f"**{_cell(note)}**  " for note in notes or []] + [
             "| experiment | verdict | " + " | ".join(names) + " |",
             "|---|---|" + "---:|" * len(names)]
    for run in runs:
        values = figures.key_figures(run)
        lines.append(f"| {_cell(run.title)} | {'PASSED' if run.passed else '**FAILED**'} | "
                     + " | ".join(values[name] for name in names) + " |")
    lines.append("")
    if len(runs) == 1:
        lines.extend(f"- {_cell(reason)}" for reason in runs[0].reasons)
    else:  # several runs: only why the failed ones failed
        lines.extend(f"- {_cell(run.title)}: {_cell(reason)}"
                     for run in runs if not run.passed for reason in run.reasons)
    return "\n".join(lines).rstrip("\n") + "\n"
