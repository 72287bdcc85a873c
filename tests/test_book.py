"""The book: every chapter runs at smoke scale, bad parameters fail in the first cells, the build is clean."""
import json
import re
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import yaml

from conftest import needs_fashion_mnist

from saddle import grid

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
        first = next(c for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code")
        assert "parameters" in first.metadata.get("tags", []), chapter.name
        assert "scale =" in first.source, chapter.name
        assert all(not c.get("outputs") for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code")


def test_notebooks_only_call():
    """Logic lives in src/saddle with unit tests: a chapter's code cells define no function or class."""
    for chapter in CHAPTERS:
        cells = nbformat.read(chapter, as_version=4).cells
        code = "\n".join(c.source for c in cells if c.cell_type == "code")
        assert not re.findall(r"^\s*(?:def|class) \w+", code, re.M), chapter.name


@pytest.mark.parametrize("kwargs,message", [
    (dict(scale="large"), "unknown scale 'large'; accepted: smoke, cpu, paper"),
    (dict(scale="smoke", rho=-1.0), "rho must be a finite number in [0, 100], got -1.0"),
    (dict(scale="smoke", seeds=[]), "seeds must be a non-empty list"),
    (dict(scale="smoke", seeds=[0.5]), "seed must be an integer in [0, 2147483647], got 0.5"),
    (dict(scale="smoke", tables=["table3"]), "unknown table 'table3'"),
    (dict(scale="smoke", dataset="imagenet"), "unknown dataset 'imagenet'"),
    (dict(scale="smoke", workers=0), "workers must be a whole number >= 1"),
    (dict(scale="smoke", workers=1.5), "workers must be a whole number >= 1"),
    (dict(scale="smoke", epoch_rule="last"), "unknown epoch_rule 'last'; accepted: final, best"),
    (dict(scale="smoke", epoch_rule="best_val"), "epoch_rule 'best_val' needs a validation split"),
    (dict(scale="smoke", epoch_rule="last", protocol="validated"), "unknown epoch_rule 'last'; accepted: final, best_val, best"),
    (dict(scale="smoke", imbalances=[10, 0.5]), "imbalance must be a finite number in [1, 1e+06], got 0.5"),
])
def test_chapter_parameters_are_checked_with_the_accepted_values(kwargs, message):
    """What every chapter's first cell calls; the notebook tests below check that each chapter does call it."""
    from saddle_book.notebook import check_parameters
    with pytest.raises(ValueError, match=re.escape(message)):
        check_parameters(**kwargs)
    check_parameters("smoke", rho=0.5, seeds=[0], tables=["table1"], dataset="cifar10", epoch_rule="best", imbalances=[10])


def test_a_long_table_folds_with_its_full_strings_and_a_csv_download():
    import base64
    import io

    import pandas as pd

    from saddle_book.page_tables import collapsed_table
    claim = "SAM raises the tail accuracy of CE+DRW (exp profile, imbalance 100), a string longer than fifty characters"
    frame = pd.DataFrame({"claim": [claim, "short"], "ours": [1.5, None]})
    page = collapsed_table(frame, "All 2 rows", "cells.csv")
    assert page.count("<details>") == 1 and "<summary>All 2 rows</summary>" in page
    assert "CE+DRW (exp profile, imbalance 100), a string longer than fifty characters" in page  # not cut at 50
    csv = re.search(r'href="data:text/csv;base64,([^"]+)"', page).group(1)
    assert pd.read_csv(io.StringIO(base64.b64decode(csv).decode())).equals(frame)


@pytest.mark.parametrize("chapter,parameters,message", [
    ("01_long_tail_primer", {"scale": "huge"}, "unknown scale 'huge'; accepted: smoke, cpu, paper"),
    ("02_saddle_points", {"scale": "smoke", "rho_sweep": [0.5, -0.1]}, r"rho must be a finite number in \[0, 100\], got -0.1"),
    ("02_saddle_points", {"scale": "smoke", "protocol": "fancy"}, "unknown protocol 'fancy'; accepted: validated, paper"),
    ("03_theorem2", {"scale": "smoke", "samples": 10}, "samples must be >= 100"),
    ("04_cifar_lt", {"scale": "smoke", "epoch_rule": "last"}, "unknown epoch_rule 'last'; accepted: final, best"),
    ("07_scorecard", {"scale": "smoke", "epoch_rule": "best_val"}, "epoch_rule 'best_val' needs a validation split"),
    ("04_cifar_lt", {"scale": "smoke", "methods": ["CE+FOCAL"]}, "unknown method 'CE\\+FOCAL'"),
    ("06_ablations", {"scale": "smoke", "rhos": [0.5, -1.0]}, r"rho must be a finite number in \[0, 100\], got -1.0"),
    ("07_scorecard", {"scale": "paper", "table2_seeds": [-1]}, r"seed must be an integer in \[0, 2147483647\], got -1"),
    ("06_ablations", {"scale": "smoke", "rho": 0.5}, r"unknown parameter\(s\) rho; this chapter's parameters are .*rhos"),
    ("02_saddle_points", {"scale": "smoke", "rhos": [0.5]}, r"unknown parameter\(s\) rhos; this chapter's parameters are .*rho,"),
    ("01_long_tail_primer", {"scale": "smoke", "rho": float("nan")}, r"rho must be a finite number in \[0, 100\], got nan"),
    ("04_cifar_lt", {"scale": "smoke", "seeds": "0"}, "seeds must be a non-empty list of non-negative integers, got '0'")])
@pytest.mark.slow  # each case starts a kernel and executes a notebook
def test_bad_parameters_fail_first(chapter, parameters, message, isolated_results):
    with pytest.raises(pm.PapermillExecutionError, match=message) as failure:
        pm.execute_notebook(str(ROOT / "book" / f"{chapter}.ipynb"), str(isolated_results / "out.ipynb"),
                            parameters=parameters,
                            kernel_name="python3", progress_bar=False, cwd=str(ROOT))
    assert failure.value.exec_count <= 3  # parameters, injected parameters, then the check fails
    assert not list((isolated_results / "results").rglob("*.json")) if (isolated_results / "results").exists() else True


@needs_fashion_mnist
@pytest.mark.slow  # executes chapter 4, which trains three smoke runs
def test_chapter_4_trains_and_shows_table_1_at_a_new_rho(isolated_results):
    """`papermill book/04_cifar_lt.ipynb out.ipynb -p scale smoke -p rho 0.3`: the SAM runs at 0.3 train and show."""
    out = isolated_results / "out.ipynb"
    pm.execute_notebook(str(ROOT / "book" / "04_cifar_lt.ipynb"), str(out), kernel_name="python3",
                        parameters={"scale": "smoke", "rho": 0.3, "tables": ["table1"],
                                    "methods": ["CE+DRW", "CE+DRW+SAM"]}, progress_bar=False, cwd=str(ROOT))
    records = [json.loads(p.read_text()) for p in (isolated_results / "results" / "smoke").glob("*.json")]
    assert sorted((r["config"]["optimizer"], r["config"]["rho"]) for r in records) == [
        ("sam", 0.3), ("sam", grid.table5_rho("CE+DRW+SAM", "fashion-mnist")), ("sgd", 0.0)]
    own = [c for c in nbformat.read(out, as_version=4).cells if "own_configs" in c.source][0]
    shown = " ".join(str(o) for o in own.outputs)
    assert "SAM at rho 0.3, final epoch" in shown and "not run here" not in shown
    assert re.search(r"SAM raises the tail accuracy of CE\+DRW .*SAM at (rho|ρ) 0\.3", shown), shown[:2000]


@pytest.mark.slow  # executes chapter 4, which trains four smoke runs
def test_cifar_chapter_runs_the_paper_grid_on_cifar_files(isolated_results):
    """`make book SCALE=paper` trains the CIFAR grid; here at smoke size on files in the genuine CIFAR pickle layout."""
    from conftest import write_fake_cifar
    write_fake_cifar(isolated_results / "data", "cifar10", per_class=100, test_per_class=10)
    out = isolated_results / "out.ipynb"
    pm.execute_notebook(str(ROOT / "book" / "04_cifar_lt.ipynb"), str(out), kernel_name="python3",
                        parameters={"scale": "smoke", "dataset_names": ["cifar10"], "tables": ["table1", "table2"],
                                    "methods": ["CE+DRW", "CE+DRW+SAM"], "data_root": str(isolated_results / "data")},
                        progress_bar=False, cwd=str(ROOT))
    records = list((isolated_results / "results" / "smoke").glob("cifar10-*.json"))
    assert len(records) == 4  # two methods, exponential and step profile
    # the chapter's own tables, not its CIFAR-10-LT (JPEG copy) and bf16 sections, which read other scales' records
    outputs = " ".join(str(o) for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])
                       if "cifar_" not in c.source and "bf16" not in c.source)
    assert "cifar10, final epoch" in outputs and "cifar10, step profile" in outputs and "not run here" not in outputs


@pytest.mark.slow  # executes a notebook in a kernel
def test_a_failing_chapter_is_named_with_its_cell(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import execute
    broken = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("scale = 'cpu'")
    parameters.metadata["tags"] = ["parameters"]
    broken.cells = [parameters, nbformat.v4.new_code_cell("1 / 0")]
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(broken, tmp_path / "broken.ipynb")
    monkeypatch.setenv("SADDLE_RUN_LOG", "")
    with pytest.raises(SystemExit, match=r"chapter broken.ipynb failed at cell 3 \(ZeroDivisionError"):
        execute(tmp_path / "broken.ipynb", tmp_path / "out.ipynb", "smoke")


def test_browser_check_catches_raw_math_and_missing_images(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from check_book_in_browser import problems_of
    page = tmp_path / "p.html"
    good = '<title>T</title><p>fine <mjx-container>x</mjx-container></p><img src="a.png">'
    (tmp_path / "a.png").write_bytes(b"png")
    assert problems_of(page, good) == []
    bad = '<title>T</title><p class="math">$$x$$</p><img src="missing.png"><div class="output traceback">x</div>'
    found = " ".join(problems_of(page, bad))
    assert "raw LaTeX" in found and "missing.png" in found and "traceback" in found
    caption_as_link = good + r'<a href="#f">|\lambda_{\min}/\lambda_{\max}| over training</a><b id="f"></b>'
    assert re.search(r"raw LaTeX left in the text: .*lambda_\{", " ".join(problems_of(page, caption_as_link)))
    assert problems_of(page, good + r'<pre>re.sub(r"\lambda", x)</pre>') == []  # code is not prose
    (tmp_path / "other.html").write_text('<p id="there">x</p>')
    links = good + '<a href="other.html#there">ok</a><a href="#top">self</a><a href="https://x.org">out</a>'
    assert problems_of(page, links + '<b id="top"></b>') == []
    broken = " ".join(problems_of(page, good + '<a href="gone.html">a</a><a href="other.html#nowhere">b</a>'))
    assert "gone.html leads nowhere" in broken and "no #nowhere in other.html" in broken
    cut = " ".join(problems_of(page, good + "<table><tr><td>SAM raises the tail accuracy of...</td></tr></table>"))
    assert "cut short: 'SAM raises the tail accuracy of'" in cut


def test_browser_check_refuses_figures_below_200_dpi_or_wider_than_the_column(tmp_path):
    from PIL import Image
    sys.path.insert(0, str(ROOT / "scripts"))
    from check_book_in_browser import figure_problems
    Image.new("RGB", (1300, 600)).save(tmp_path / "ok.png", dpi=(200, 200))
    Image.new("RGB", (923, 400)).save(tmp_path / "low.png", dpi=(100, 100))
    Image.new("RGB", (1800, 400)).save(tmp_path / "wide.png", dpi=(200, 200))
    assert figure_problems(tmp_path / "ok.png", 1300) == []
    assert "100 dpi" in " ".join(figure_problems(tmp_path / "low.png", 923))
    assert "drawn 9.0 in wide" in " ".join(figure_problems(tmp_path / "wide.png", 1800))


def test_and_list_joins_names_for_prose():
    from saddle_book.page_tables import and_list
    assert [and_list([]), and_list(["A"]), and_list(["A", "B"]), and_list(["A", "B", "C"])] == \
        ["", "A", "A and B", "A, B and C"]


def test_chapter_8_words_sams_curvature_by_the_sign_of_its_difference():
    from saddle_book.chapter8 import curvature_sentence
    assert curvature_sentence({"ours": None}, 0.1) == "SAM and CE+DRW have no tail spectra to compare yet"
    up = curvature_sentence({"ours": 0.123, "seeds": 5, "verdict": "reproduced"}, 0.1)
    assert up == ("At the tuned radius (0.1) SAM's tail lambda_min is higher (less negative) than CE+DRW's by 0.12 on "
                  "average over 5 seeds (reproduced by the one rule): the direction the paper's mechanism predicts.")
    down = curvature_sentence({"ours": -0.5, "seeds": 1, "verdict": "inconclusive"}, 0.05)
    assert down.startswith("At the tuned radius (0.05) SAM's tail lambda_min is lower (more negative) than CE+DRW's "
                           "by 0.50 on average over 1 seed (inconclusive by the one rule): against the paper's")
    assert "equals" in curvature_sentence({"ours": 0.0, "seeds": 5, "verdict": "inconclusive"}, 0.1)


FIGURE_BLOCK = re.compile(r"^```\{glue:figure\}[ \t]*(\S+)[ \t]*\n((?:[ \t]*:[^\n]*\n)*)(.*?)^```", re.M | re.S)


def test_every_figure_caption_is_short():
    """A caption says what is shown and the one thing to look at; the prose around the figure explains the rest."""
    captions = []
    for chapter in CHAPTERS:
        for cell in json.loads(chapter.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                source = "".join(cell["source"])
                captions += [(chapter.name, m.group(1), m.group(3)) for m in FIGURE_BLOCK.finditer(source)]
    blocks = sum("".join(c["source"]).count("{glue:figure}") for chapter in CHAPTERS
                 for c in json.loads(chapter.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown")
    assert len(captions) == blocks >= 25, (len(captions), blocks)  # the pattern finds every block there is
    long = [f"{name} {key}: {len(text.split())} words" for name, key, text in captions if len(text.split()) > 50]
    assert not long, "captions over 50 words: " + "; ".join(long)


def test_a_pages_figure_is_exported_from_its_chapters_glue(tmp_path):
    import base64
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import PAGE_FIGURES, export_figure
    png = b"\x89PNG\r\n\x1a\nfake"
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/papermill.record/image/png": base64.b64encode(png).decode()},
        metadata={"scrapbook": {"name": "fig_07_overview"}})]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    nbformat.write(notebook, tmp_path / "07.ipynb")
    export_figure(tmp_path / "07.ipynb", "fig_07_overview", tmp_path / "out" / "overview.png")
    assert (tmp_path / "out" / "overview.png").read_bytes() == png
    with pytest.raises(SystemExit, match="glued no figure 'fig_missing'"):
        export_figure(tmp_path / "07.ipynb", "fig_missing", tmp_path / "x.png")
    pages = " ".join(page.read_text() for page in (ROOT / "book").glob("*.md"))
    assert all(image.removeprefix("book/") in pages for image in PAGE_FIGURES.values())  # each one a page shows


def test_the_api_appendix_names_only_what_exists():
    """A renamed function left in the API appendix's :members: fails the book build (a warning); catch it here."""
    import importlib
    text = (ROOT / "book" / "appendix_api.md").read_text()
    listed = re.findall(r"\.\. automodule:: (\S+)\n\s+:members: ([^\n]+)", text)
    assert len(listed) >= 10
    missing = {module: [name for name in (n.strip() for n in members.split(","))
                        if not hasattr(importlib.import_module(module), name)] for module, members in listed}
    assert not any(missing.values()), missing


def test_the_citation_names_the_version_the_commit_and_the_date(tmp_path):
    import datetime
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import write_citation
    write_citation(ROOT, tmp_path / "citation.md", datetime.date(2027, 1, 2))
    text = (tmp_path / "citation.md").read_text()
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert f"version {version}" in text and "built 2027-01-02" in text and "year    = {2027}" in text
    assert re.search(r"commit [0-9a-f]{40}", text) and text.count("```") == 2
    (tmp_path / "bare").mkdir()
    for name in ("_config.yml", "pyproject.toml"):  # outside a git checkout: the command that gives the commit
        (tmp_path / "bare" / name).write_text((ROOT / name).read_text())
    write_citation(tmp_path / "bare", tmp_path / "bare.md")
    assert "the commit of your checkout (git rev-parse HEAD)" in (tmp_path / "bare.md").read_text()



def test_typeset_tables_show_two_or_three_significant_digits_and_no_index():
    import pandas as pd

    from saddle_book.page_tables import figures, symbols, typeset, typeset_by, verdict_first
    assert [figures(v) for v in (-0.0651, 356.142, 98.4375, 9.996, 0.05, 100.0, -1e-05, 1.16e-05, -0.0, None,
                                 float("nan"))] == \
        ["-0.0651", "356", "98.4", "10", "0.05", "100", "-1e-05", "1.16e-05", "0", "", ""]
    assert figures(0.5, 2, sign=True) == "+0.5" and figures(-47.1, 3, sign=True) == "-47.1"
    assert symbols("SAM at rho 0.5 raises lambda_min, not lambda_max; rhombus") == \
        "SAM at ρ 0.5 raises λmin, not λmax; rhombus"
    pivot = pd.DataFrame({("lambda_min", "CE+DRW"): [-8.1755], ("gradient norm", "CE+DRW"): [4.6307]},
                         index=pd.Index(["8 Pullover"], name="class"))
    page = typeset(pivot, index=True)
    assert re.search(r"<th[^>]*>class</th><th[^>]*>λmin, CE\+DRW</th><th[^>]*>‖g‖, CE\+DRW</th>", page)
    assert ">-8.18<" in page and ">4.63<" in page and "<th></th>" not in page and 'class="dataframe"' in page
    both = typeset_by(pd.DataFrame({"method": ["A", "B", "A"], "lambda_min": [-1.0, -2.0, -3.0]}), "method")
    assert both.count("<table") == 2 and both.index("<b>A</b>") < both.index("<b>B</b>") and "method" not in both
    family = pd.DataFrame({"claim": ["SAM raises the tail's lambda_min", "one seed"], "ours": [-2.2031, 0.08],
                           "low": [-3.81, None], "high": [-0.58, None], "seeds": [5, 1],
                           "verdict": ["contradicted", "not tested"], "p (Holm)": [0.1812, float("nan")],
                           "verdict (Holm)": ["inconclusive", "not tested"]})
    first = verdict_first(family)
    assert first.index(">verdict</th>") < first.index(">claim</th>")  # the verdict first, on a phone
    assert "inconclusive after Holm (contradicted before)" in first and ">not tested<" in first
    assert "-2.2 [-3.81,\xa0-0.58]" in first and ">0.18<" in first and "raises the tail&#x27;s λmin" in first


def test_typeset_levels_turns_a_wide_frame_into_one_narrow_table_per_scale():
    import pandas as pd

    from saddle_book.page_tables import typeset_levels
    index = pd.MultiIndex.from_tuples([("cpu", 0.0), ("cpu", 0.05), ("r8-n5000", 0.0)], names=["scale", "rho"])
    frame = pd.DataFrame({"runs": [5, 5, 4], "H_min": [-6.779, -8.975, -12.43]}, index=index)
    page = typeset_levels(frame, "scale")
    assert page.count("<table") == 2 and page.index("<b>cpu</b>") < page.index("<b>r8-n5000</b>")
    assert re.search(r">quantity</th><th[^>]*>ρ = 0</th><th[^>]*>ρ = 0.05</th>", page)
    assert ">λmin(H)<" in page and ">-8.97<" in page


def test_verdict_groups_put_every_list_of_claims_in_one_table_verdict_first():
    import pandas as pd

    from saddle_book.page_tables import verdict_first, verdict_groups, verdict_rows
    family = pd.DataFrame({"claim": ["SAM raises the tail", "SAM keeps the head"], "ours": [3.8312, -0.28],
                           "low": [-2.43, -1.44], "high": [10.1, 0.89], "seeds": [3, 3], "paper": [11.7, -0.2],
                           "verdict": ["inconclusive", "reproduced"], "p": [0.119, 0.0347],
                           "p (Holm)": [1.0, 0.832], "verdict (Holm)": ["inconclusive", "inconclusive"]})
    averages = pd.DataFrame({"claim": ["SAM raises the tail, averaged"], "ours": [-2.11], "low": [-3.19],
                             "high": [-1.03], "seeds": [3], "paper": [8.59], "verdict": ["contradicted"],
                             "p": [0.0138]})  # in no declared family: no Holm columns
    rows = verdict_rows(averages, paper=True)
    assert list(rows.columns) == ["verdict", "claim", "ours [95% interval]", "paper", "seeds", "p (Holm)"]
    flipped = verdict_rows(family.assign(**{"p (sign-flip)": [0.0625, float("nan")]}))
    assert list(flipped["p (sign-flip)"]) == ["0.0625", ""] and flipped.columns[-1] == "p (sign-flip)"
    assert rows.iloc[0].tolist() == ["contradicted", "SAM raises the tail, averaged", "-2.11 [-3.19,\xa0-1.03]",
                                     "+8.59", "3", "0.014 raw"]
    page = verdict_groups({"Paper protocol (cpu scale, final epoch)": family, "Empty": family.iloc[:0],
                           "The paper's averages: not counted, raw p": averages})
    assert page.count("<table") == 1 and "Empty" not in page  # one table; an empty group is left out
    assert page.index(">verdict</th>") < page.index(">claim</th>") < page.index(">paper</th>")
    assert page.index("Paper protocol (cpu scale") < page.index("SAM raises the tail<") < page.index("averages")
    assert re.search(r'<tr><td colspan="6"[^>]*><b>Paper protocol', page)  # a group's name across the table
    assert not re.search(r"<tbody>\s*<tr>\s*<th", page)  # no index column
    assert "inconclusive after Holm (reproduced before)" in page and ">+11.7<" in page and ">0.83<" in page
    assert verdict_groups({"none": family.iloc[:0]}).startswith("<p>")
    assert "paper" not in verdict_first(family) and ">paper</th>" in verdict_first(family, paper=True)


def test_a_paper_table_sets_ours_over_the_papers_number_in_one_column_per_metric():
    import pandas as pd

    from saddle_book.page_tables import paper_table
    frame = pd.DataFrame({("acc", "ours"): ["73.1 ± 0.8", "not run here"], ("acc", "paper"): ["71.7", "73.1"],
                          ("tail", "ours"): ["33.1 ± 2.0", "not run here"], ("tail", "paper"): ["52.3", ""]},
                         index=pd.Index(["CE", "CE+SAM"], name="method"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    page = paper_table(frame)
    assert re.search(r">method</th><th[^>]*>acc</th><th[^>]*>tail</th></tr>", page)
    assert "73.1 ± 0.8<br>paper 71.7" in page and ">not run here</td>" in page  # no paper number: ours alone
    assert "white-space: nowrap" in page and not re.search(r"<tbody>\s*<tr><th", page)


def test_show_displays_a_typeset_table_as_html_and_a_csv_link_carries_the_whole_frame(monkeypatch):
    import base64
    import io

    import IPython.display
    import pandas as pd

    from saddle_book.page_tables import csv_link, show
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    show("Table 1", "<table></table>")
    assert [type(o).__name__ for o in shown] == ["Markdown", "HTML"] and shown[1].data == "<table></table>"
    frame = pd.DataFrame({"table": [1, 2], "ours": [73.0833, None]})
    link = csv_link(frame, "cells.csv")
    assert 'download="cells.csv"' in link and "(cells.csv, 2 rows)" in link
    csv = re.search(r'href="data:text/csv;base64,([^"]+)"', link).group(1)
    assert pd.read_csv(io.StringIO(base64.b64decode(csv).decode())).equals(frame)


@pytest.mark.parametrize("args, message", [(["--build", "elsewhere"], "--build must be a folder named _build"),
                                           (["--scale", "cifar11"], "invalid choice: 'cifar11'"),
                                           (["--scale", "large"], "invalid choice: 'large'"),  # a torchrun job
                                           (["--jobs", "0"], "--jobs must be an integer >= 1, got 0")])
def test_build_book_refuses_bad_arguments_before_writing(tmp_path, monkeypatch, capsys, args, message):
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import main
    args = [a.replace("elsewhere", str(tmp_path / "elsewhere")) for a in args]
    if "--build" not in args:
        args += ["--build", str(tmp_path / "_build")]
    monkeypatch.setattr(sys, "argv", ["build_book.py", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
