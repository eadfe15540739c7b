"""A short Markdown summary for a pull request or a chat: verdict, key numbers, one table.

The headline is PASSED only when every run passed and every planned run ran (a game day's
exit code); each run's row shows its own verdict.
"""

from chaos_sre.report import figures
from chaos_sre.report.model import RunReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(runs: list[RunReport], title: str | None = None, notes: list[str] | None = None,
           skipped: list[tuple[str, str]] | None = None) -> str:
    """The Markdown summary of ``runs`` (at least one), with ``notes`` under the heading and a
    NOT RUN row per ``skipped`` (name, reason)."""
    skipped = skipped or []
    passed = sum(run.passed for run in runs)
    all_passed = passed == len(runs) and not skipped
    mark = "✅" if all_passed else "❌"
    if len(runs) == 1 and not skipped:
        run = runs[0]
        heading = f"### {mark} {run.label}: {_cell(title or run.title)}"
    else:
        heading = (f"### {mark} {'PASSED' if all_passed else 'FAILED'}: "
                   f"{_cell(title or 'chaos-sre runs')}: {passed} of {len(runs) + len(skipped)} "
                   "planned run(s) passed")
    names = figures.KEY_FIGURE_NAMES
    lines = [heading, ""] + [f"**{_cell(note)}**  " for note in notes or []] + [
             "| experiment | verdict | " + " | ".join(names) + " |",
             "|---|---|" + "---:|" * len(names)]
    for run in runs:
        values = figures.key_figures(run)
        shown = run.label if run.passed else f"**{run.label}**"
        lines.append(f"| {_cell(run.title)} | {shown} | "
                     + " | ".join(values[name] for name in names) + " |")
    for name, _ in skipped:
        lines.append(f"| {_cell(name)} | NOT RUN | " + " | ".join("-" for _ in names) + " |")
    lines.append("")
    if len(runs) == 1 and not skipped:
        lines.extend(f"- {_cell(reason)}" for reason in runs[0].reasons)
        lines.extend(f"- left changed: {_cell(change)}" for change in runs[0].left_changed)
    else:  # several runs: only why the others did not pass
        lines.extend(f"- {_cell(run.title)}: {_cell(reason)}"
                     for run in runs if not run.passed for reason in run.reasons)
        lines.extend(f"- {_cell(name)}: not run: {_cell(reason)}" for name, reason in skipped)
    return "\n".join(lines).rstrip("\n") + "\n"
