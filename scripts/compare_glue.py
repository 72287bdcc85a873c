"""Compare the glue of two builds of the book: every value a chapter glues (text, tables, figures), chapter by
chapter, from the executed notebooks under <build>/source/book/. Text and table values must be identical; a
figure counts as regenerated when both builds glue one under its name (its bytes carry the build's metadata).

Usage: python scripts/compare_glue.py BEFORE_BUILD AFTER_BUILD   (exit 1 if any value differs or is missing)"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def glued(notebook: Path) -> dict[str, tuple[str, str]]:
    """name -> (kind, value) of every glue output of an executed notebook; kind is 'figure' for images."""
    out = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = {k.rsplit("papermill.record/", 1)[-1]: v for k, v in output.get("data", {}).items()}
            image = next((k for k in data if k.startswith("image/")), None)
            if image:
                out[name] = ("figure", image)
            else:
                value = data.get("text/html") or data.get("text/markdown") or data.get("text/plain") or ""
                out[name] = ("text", "".join(value) if isinstance(value, list) else str(value))
    return out


def compare(before: Path, after: Path) -> tuple[int, int, list[str]]:
    """(text values compared, figures compared, differences) over the chapters both builds executed."""
    texts = figures = 0
    problems = []
    for old in sorted((before / "source" / "book").glob("*.ipynb")):
        new = after / "source" / "book" / old.name
        if not new.exists():
            problems.append(f"{old.name}: not executed in {after}")
            continue
        a, b = glued(old), glued(new)
        for name in sorted(set(a) | set(b)):
            if name not in b or name not in a:
                problems.append(f"{old.stem}::{name}: only in {'before' if name in a else 'after'}")
            elif a[name][0] == "figure":
                figures += 1
                if b[name][0] != "figure":
                    problems.append(f"{old.stem}::{name}: a figure before, text after")
            else:
                texts += 1
                if a[name] != b[name]:
                    problems.append(f"{old.stem}::{name}: {a[name][1][:120]!r} -> {b[name][1][:120]!r}")
    return texts, figures, problems


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not all((Path(a) / "source" / "book").is_dir() for a in args):
        print(__doc__, file=sys.stderr)
        return 2
    texts, figures, problems = compare(Path(args[0]), Path(args[1]))
    print(f"{texts} text and table values and {figures} figures compared; {len(problems)} differ")
    for line in problems:
        print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
