"""The book as `make book` and `make pdf` build it from the committed records, checked as a reader meets it."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import needs_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
pytestmark = pytest.mark.slow  # the whole book built, Chromium and the PDF: `make test` runs them, `make unit` not


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The book as `make book` builds it: chapters at the cpu scale, from the committed records only
    (SADDLE_READ_ONLY: a missing record fails the build instead of starting a 5-minute run)."""
    tmp = tmp_path_factory.mktemp("book")
    env = dict(os.environ, SADDLE_READ_ONLY="1", SADDLE_CACHE=str(tmp / "cache"))
    env.pop("SADDLE_RESULTS", None)
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--scale", "cpu", "--build",
                          str(tmp / "_build")], capture_output=True, text=True, cwd=ROOT, env=env)
    return tmp / "_build", out


@needs_fashion_mnist
def test_book_builds_from_committed_records(built_book):
    build, out = built_book
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    html = build / "html"
    pages = list(html.rglob("*.html"))
    assert (html / "book" / "01_long_tail_primer.html").exists() and len(pages) > 10
    primer = (html / "book" / "01_long_tail_primer.html").read_text()
    assert "Traceback" not in primer and "12406" in primer  # a glued number reached the prose
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    for page in pages:  # offline: no script or stylesheet from another host
        text = page.read_text()
        # the one interactive figure inlines plotly.js, whose code names tile and font servers it never loads here
        text = re.sub(r"<script>/\*\*\n\* plotly\.js v.*?</script>", "", text, flags=re.S)
        assert 'src="http' not in text and "cdn.jsdelivr" not in text, page
    summary = out.stdout[out.stdout.index("records read"):]
    primer_reads = re.search(r"01_long_tail_primer\s+[\d.]+\s+0\s+0\s+(\d+)\n", summary)
    assert primer_reads and int(primer_reads.group(1)) >= 3, summary  # its 3 runs, then the class-order control's
    rows = re.findall(r"^(\d\d_\w+)\s+[\d.]+\s+(\d+)\s+(\d+)\s+(\d+)$", summary, re.M)
    assert len(rows) == len(CHAPTERS), summary
    assert all(trained == computed == "0" for _, trained, computed, read in rows), summary
    # every chapter reads records, but chapter 5 (large-scale records: none committed, it says "not run here") and
    # chapter 8 until its runs land (it says how many of its runs are recorded)
    assert all(int(read) > 0 for chapter, _, _, read in rows if chapter not in ("05_large_scale",
                                                                             "08_after_the_paper")), summary


def test_every_chapter_page_teaches_and_captions(built_book):
    """Each chapter page: learning objectives, a summary, two or more exercises with hidden solutions, a re-run box,
    a caption on every figure, and no parameter cell shown."""
    build, out = built_book
    assert out.returncode == 0
    for page in sorted((build / "html" / "book").glob("0*.html")):
        text = page.read_text()
        assert "Learning objectives" in text and re.search(r">Summary<", text), page.name
        assert len(re.findall(r"sd-dropdown", text)) >= 2 and text.count("Solution") >= 2, page.name
        assert "Re-run this chapter" in text, page.name
        figures = re.findall(r"<figure.*?</figure>", text, re.S)  # images and the interactive toy (chapter 3)
        assert all("<figcaption" in f for f in figures), page.name
        assert text.count("<img") == sum(f.count("<img") for f in figures), page.name
        # the parameters cell is shown with its comments: a reader sees what -p can change
        assert page.name.startswith("05") or "# smoke | cpu | paper" in text, page.name


@needs_fashion_mnist
@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium not installed (apt-get install chromium)")
def test_every_page_renders_in_chromium(built_book):
    build, out = built_book
    assert out.returncode == 0
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_book_in_browser.py"), str(build)],
                           capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(list((build / "screenshots").glob("*.png"))) >= 12


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdfunite") is None,
                    reason="make pdf needs Chromium and poppler's pdfunite (apt-get install chromium poppler-utils)")
def test_make_pdf_prints_every_page_of_the_book_into_one_file(built_book):
    build, out = built_book
    assert out.returncode == 0
    page = build / "html" / "book" / "run_yourself.html"
    if not (build / "html" / "saddle-book.pdf").exists():  # no dead link before the PDF is printed
        assert 'href="../saddle-book.pdf"' not in page.read_text() and "make pdf</code> prints it" in page.read_text()
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "book_pdf.py"), str(build)], capture_output=True,
                          text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    assert 'href="../saddle-book.pdf"' in page.read_text() and (build / "html" / "saddle-book.pdf").exists()
    info = subprocess.run(["pdfinfo", str(build / "saddle-book.pdf")], capture_output=True, text=True).stdout
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = 1 + sum(len(part["chapters"]) for part in toc["parts"])
    assert f"{chapters} pages of the book" in made.stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) > 2 * chapters  # each page printed in full
