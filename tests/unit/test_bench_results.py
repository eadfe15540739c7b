"""The benchmarks are a package whose modules write result files, and docs/performance.md holds a
current copy of each (bench/__init__.py, bench/publish.py)."""

import sys
from pathlib import Path

import pytest

from bench import common, publish

ROOT = Path(__file__).resolve().parents[2]


def test_every_result_file_is_in_the_performance_document_as_it_is() -> None:
    text = publish.DOCUMENT.read_text(encoding="utf-8")
    updated, stale = publish.included(text)
    assert stale == [] and updated == text
    named = {match.group(2) for match in publish.BLOCK.finditer(text)}
    files = {f"bench/results/{p.name}" for p in (ROOT / "bench" / "results").glob("*.md")}
    assert files and named == files
    for name in files:
        module = Path(name).stem
        assert (ROOT / "bench" / f"{module}.py").is_file(), f"{name} has no benchmark module"


def test_the_pages_quoting_a_result_hold_it_as_it_is() -> None:
    for document in publish.DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        assert publish.included(text) == (text, []), document


def test_a_stale_or_missing_copy_is_named(tmp_path: Path) -> None:
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "a.md").write_text("| new |\n")
    text = ("x\n<!-- include bench/results/a.md -->\n| old |\n<!-- end include -->\n"
            "<!-- include bench/results/b.md -->\n<!-- end include -->\n")
    updated, stale = publish.included(text, tmp_path)
    assert stale == ["bench/results/a.md", "bench/results/b.md (missing)"]
    assert "| new |\n<!-- end include -->" in updated and "| old |" not in updated


def test_a_benchmark_writes_what_it_prints_and_a_failed_one_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", ["x", "--runs", "2"])
    monkeypatch.delenv("CHAOS_SRE_BENCH_RESULTS", raising=False)

    def main() -> int:
        print("| a | b |\n|---|---|\n| 1 | 2 |")
        print("progress", file=sys.stderr)
        return 0

    assert common.published("bench.example", main) == 0
    written = (tmp_path / "example.md").read_text()
    assert written.startswith("<!-- python -m bench.example --runs 2; ")
    assert written.endswith("| a | b |\n|---|---|\n| 1 | 2 |\n") and "progress" not in written
    assert "| 1 | 2 |" in capsys.readouterr().out
    assert common.published("bench.failing", lambda: 1) == 1
    assert not (tmp_path / "failing.md").exists()
