"""JUnit XML for CI dashboards: one test case per run, failed unless its verdict PASSED, and one
skipped test case per planned run that did not happen (a game day that stopped early)."""

import re
import xml.etree.ElementTree as ET

from chaos_sre.report import figures
from chaos_sre.report.model import RunReport


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"


def render(runs: list[RunReport], title: str | None = None, notes: list[str] | None = None,
           skipped: list[tuple[str, str]] | None = None) -> str:
    """A ``<testsuites>`` document with one ``<testsuite>``: a test case per run, failed (type
    ``VerdictFailed``, ``VerdictInconclusive`` or ``VerdictDryRun``) unless it PASSED, and a
    skipped test case per ``skipped`` (name, reason). ``notes`` (a game day's stop reason, say)
    become the suite's ``system-out``."""
    skipped = skipped or []
    failures = sum(not run.passed for run in runs)
    total_time = sum(run.duration_seconds or 0.0 for run in runs)
    tests = str(len(runs) + len(skipped))
    suites = ET.Element("testsuites", name=title or "chaos-sre", tests=tests,
                        failures=str(failures), errors="0", skipped=str(len(skipped)),
                        time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=title or "chaos-sre", tests=tests,
                          failures=str(failures), errors="0", skipped=str(len(skipped)),
                          time=f"{total_time:.3f}")
    for run in runs:
        case = ET.SubElement(suite, "testcase", classname=f"chaos-sre.{_slug(run.title)}",
                             name=run.title, time=f"{run.duration_seconds or 0.0:.3f}")
        numbers = "\n".join(f"{name}: {value}" for name, value in figures.key_figures(run).items())
        details = (f"verdict: {run.label}\n" + "\n".join(run.reasons) + "\n\n" + numbers
                   + f"\njournal: {run.journal_path}")
        if not run.passed:
            kind = "Verdict" + "".join(word.title() for word in run.verdict.status.value.split("-"))
            failure = ET.SubElement(case, "failure", message=f"{run.label}: " + "; ".join(run.reasons),
                                    type=kind)
            failure.text = details
        ET.SubElement(case, "system-out").text = details
    for name, reason in skipped:
        case = ET.SubElement(suite, "testcase", classname=f"chaos-sre.{_slug(name)}", name=name,
                             time="0.000")
        ET.SubElement(case, "skipped", message=reason)
    if notes:
        ET.SubElement(suite, "system-out").text = "\n".join(notes)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
