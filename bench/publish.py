"""Put every benchmark result file into docs/performance.md (and the results other pages quote,
such as docs/safety.md's calls per run): each include block
``<!-- include bench/results/NAME.md -->`` ... ``<!-- end include -->`` gets the file's text.

    .venv/bin/python -m bench.publish          # refresh the copies
    .venv/bin/python -m bench.publish --check  # exit 1 naming a block that differs from its file
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "performance.md"
"""Holds a copy of every result file."""
DOCUMENTS = (DOCUMENT, ROOT / "docs" / "safety.md")
"""Every page with include blocks."""
BLOCK = re.compile(r"(<!-- include (bench/results/[a-z_0-9]+\.md) -->\n)(.*?)(<!-- end include -->)", re.S)


def included(text: str, root: Path = ROOT) -> tuple[str, list[str]]:
    """``text`` with every include block holding its file, and the files whose block differed
    (or that are missing)."""
    stale: list[str] = []

    def fill(match: re.Match[str]) -> str:
        path = root / match.group(2)
        if not path.is_file():
            stale.append(f"{match.group(2)} (missing)")
            return match.group(0)
        body = path.read_text(encoding="utf-8")
        if body != match.group(3):
            stale.append(match.group(2))
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(fill, text), stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a copy is stale")
    args = parser.parse_args()
    failed = False
    for document in DOCUMENTS:
        where = document.relative_to(ROOT)
        text = document.read_text(encoding="utf-8")
        updated, stale = included(text)
        if args.check:
            for name in stale:
                print(f"{where}: the copy of {name} is stale (python -m bench.publish)",
                      file=sys.stderr)
            failed = failed or bool(stale)
            continue
        document.write_text(updated, encoding="utf-8")
        print(f"{where}: {len(stale)} result(s) refreshed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
