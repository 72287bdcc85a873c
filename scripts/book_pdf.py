"""The built book as one PDF: every page of _build/html in the table of contents' order, printed by headless
Chromium (the same renderer as the page check) and joined with poppler's pdfunite.

    python scripts/book_pdf.py _build      # writes _build/saddle-book.pdf, and a copy in _build/html for its link
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from check_book_in_browser import chromium, render  # noqa: E402 (one way to start Chromium)

ROOT = Path(__file__).resolve().parents[1]
# Paper has no clicks: every dropdown (sphinx-design's details.sd-dropdown: detail tables, solutions, collapsed
# figures) prints open; hidden code (hide-input's details) stays hidden.
OPEN_DROPDOWNS = ('<script>document.querySelectorAll("details.sd-dropdown").forEach(d => d.open = true);'
                  '</script>')


PDF_LINK = '<a href="../saddle-book.pdf">the whole book as one PDF</a>'  # as book/run_yourself.md writes it
NO_PDF = "the whole book as one PDF (not in this build: <code>make pdf</code> prints it)"


def link_pdf(build: Path, built: bool) -> None:
    """run_yourself's link to the PDF where the build has one, else words saying how to make it: never a dead link."""
    page = build / "html" / "book" / "run_yourself.html"
    text = page.read_text()
    page.write_text(text.replace(NO_PDF, PDF_LINK) if built else text.replace(PDF_LINK, NO_PDF))


def printable(page: Path) -> Path:
    """A copy of the page beside it (same relative links) with every dropdown open."""
    copy = page.with_name(page.stem + ".__print.html")
    copy.write_text(page.read_text().replace("</body>", OPEN_DROPDOWNS + "</body>"))
    return copy


def page_order(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """The book's pages, root first, as paths without suffix (book/intro, book/01_long_tail_primer, ...)."""
    spec = yaml.safe_load(toc.read_text())
    return [spec["root"]] + [c["file"] for part in spec.get("parts", []) for c in part["chapters"]]


def main(build: Path) -> int:
    browser, unite = chromium(), shutil.which("pdfunite")
    if browser is None or unite is None:
        print("make pdf needs Chromium and poppler's pdfunite (apt-get install chromium poppler-utils)", file=sys.stderr)
        return 2
    pages = [build / "html" / f"{name}.html" for name in page_order()]
    missing = [str(p) for p in pages if not p.exists()]
    if missing:
        print(f"not built: {', '.join(missing)}; run make book first", file=sys.stderr)
        return 2
    target = build / "saddle-book.pdf"
    with tempfile.TemporaryDirectory() as folder:
        parts = []
        for i, page in enumerate(pages):
            part = Path(folder) / f"{i:02d}.pdf"
            copy = printable(page)
            try:
                render(browser, copy, f"--print-to-pdf={part}", "--no-pdf-header-footer")
            finally:
                copy.unlink()
            if not part.exists():
                print(f"Chromium printed no PDF for {page}", file=sys.stderr)
                return 1
            parts.append(str(part))
        partial = target.with_suffix(".pdf.tmp")
        subprocess.run([unite, *parts, str(partial)], check=True)
        partial.replace(target)  # never a half-written PDF under the final name
    shutil.copyfile(target, build / "html" / target.name)  # where the HTML links it (book/run_yourself.md)
    link_pdf(build, built=True)
    print(f"{target} ({len(pages)} pages of the book, {target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build")))
