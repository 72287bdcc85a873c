"""The book: every chapter runs at smoke scale, bad parameters fail in the first cells, the build is clean."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import yaml

from conftest import needs_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.fixture
def isolated_results(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_every_toc_entry_exists_and_notebooks_have_parameters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for p in toc["parts"] for c in p["chapters"]]
    for entry in entries:
        assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.ipynb").exists(), entry
    assert CHAPTERS
    for chapter in CHAPTERS:
        first = nbformat.read(chapter, as_version=4).cells[0]
        assert "parameters" in first.metadata.get("tags", []), chapter.name
        assert "scale =" in first.source, chapter.name
        assert all(not c.get("outputs") for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code")


@pytest.mark.parametrize("parameters,message", [({"scale": "huge"}, "unknown scale 'huge'; accepted: smoke, cpu, paper"),
                                                ({"scale": "smoke", "rho": -1.0}, "rho must be >= 0, got -1.0")])
def test_bad_parameters_fail_first(parameters, message, isolated_results):
    with pytest.raises(pm.PapermillExecutionError, match=message) as failure:
        pm.execute_notebook(str(CHAPTERS[0]), str(isolated_results / "out.ipynb"), parameters=parameters,
                            kernel_name="python3", progress_bar=False, cwd=str(ROOT))
    assert failure.value.exec_count <= 3  # the parameters, the injected parameters, the check
    assert not list((isolated_results / "results").rglob("*.json")) if (isolated_results / "results").exists() else True


@needs_fashion_mnist
def test_book_builds_at_smoke_scale(isolated_results):
    build = isolated_results / "_build"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--scale", "smoke", "--build",
                          str(build)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    html = build / "html"
    pages = list(html.rglob("*.html"))
    assert (html / "book" / "01_long_tail_primer.html").exists() and len(pages) > 10
    primer = (html / "book" / "01_long_tail_primer.html").read_text()
    assert "Traceback" not in primer and "12406" in primer  # a glued number reached the prose
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    for page in pages:  # offline: no script or stylesheet from another host
        text = page.read_text()
        assert 'src="http' not in text and "cdn.jsdelivr" not in text, page
    assert "01_long_tail_primer" in out.stdout and "runs trained" in out.stdout
