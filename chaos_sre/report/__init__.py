"""Reports of chaos-sre runs: a journal (or several) as HTML, Markdown or JUnit XML.

``chaos-sre report JOURNAL... [--format html|md|junit] [-o OUT]`` and
:func:`render_journals` for programs (game days, the pytest plugin).
"""

from pathlib import Path

from chaos_sre.errors import ValidationError
from chaos_sre.report import html, junit, markdown
from chaos_sre.report.model import RunReport, load_run

FORMATS = {"html": html.render, "md": markdown.render, "junit": junit.render}
SUFFIXES = {"html": ".html", "md": ".md", "junit": ".junit.xml"}


def render(runs: list[RunReport], fmt: str, title: str | None = None,
           notes: list[str] | None = None, skipped: list[tuple[str, str]] | None = None) -> str:
    """``runs`` in format ``fmt`` (html, md or junit); ``notes`` are shown under the title,
    ``skipped`` (name, reason) are the planned runs that did not happen."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown report format {fmt!r} (use html, md or junit)")
    if not runs:
        raise ValidationError("a report needs at least one journal")
    return FORMATS[fmt](runs, title, notes or [], skipped or [])


def render_journals(paths: list[str | Path], fmt: str, title: str | None = None) -> str:
    """Load each journal and render them together."""
    return render([load_run(path) for path in paths], fmt, title)


def default_output(first_journal: Path, fmt: str) -> Path | None:
    """Where a report goes without ``-o``: HTML beside the first journal, others to stdout (None)."""
    return first_journal.with_suffix(SUFFIXES[fmt]) if fmt == "html" else None


def write(path: Path, text: str) -> None:
    """Write a report file (creating its folder), or a one-line ValidationError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot write the report to {path}: {exc.strerror}") from None


__all__ = ["FORMATS", "SUFFIXES", "RunReport", "default_output", "load_run", "render",
           "render_journals", "write"]
