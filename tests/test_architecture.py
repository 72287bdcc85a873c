"""The two packages' one rule, checked on the source: the library (saddle) never imports the book layer
(saddle_book), and the book layer never trains or computes spectra or curvature: it reads records. Neither has an
import cycle, and the store imports no trainer. The chapters' code cells compute no analysis either: the pipeline
does (`python -m saddle analyse`), and the read-only property is this check on the code, not an environment
variable."""
import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIBRARY, BOOK = "saddle", "saddle_book"
# What trains a run or computes a spectrum, a curvature split or a Theorem-2 check (the library's; the book layer
# names none of them, not even to pass one on). Reading is results.find_record, spectra.stored_spectra,
# analyse.STORED (a Source that only reads) and what a notebook hands it: a book module never builds a
# Source itself.
COMPUTES = {"get_or_run", "get_or_run_many", "read_or_train", "train_missing", "run_missing", "train_pool",
            "run_on_workers", "class_spectra", "run_spectra", "spectral_density", "class_split", "split_record",
            "trained_network_check", "get_or_check_trained", "estimator_check", "snapshot_model"}


@functools.cache
def modules(package: str) -> dict[str, ast.Module]:
    return {f"{package}.{p.stem}": ast.parse(p.read_text()) for p in sorted((SRC / package).glob("*.py"))}


def imports(name: str, tree: ast.Module) -> set[str]:
    """The modules of either package that `name` imports, at the top or inside functions, as dotted names."""
    package = name.split(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package if node.level == 1 else node.module or ""
            if node.level == 1 and node.module:
                base = f"{package}.{node.module}"
            if base in (LIBRARY, BOOK):
                found |= {f"{base}.{a.name}" for a in node.names}
            elif base.split(".")[0] in (LIBRARY, BOOK):
                found.add(".".join(base.split(".")[:2]))
        elif isinstance(node, ast.Import):
            found |= {".".join(a.name.split(".")[:2]) for a in node.names if a.name.split(".")[0] in (LIBRARY, BOOK)}
    every = set(modules(LIBRARY)) | set(modules(BOOK))
    return {m for m in found if m in every} - {name}


def names_used(tree: ast.Module) -> set[str]:
    """Every identifier a module reads, bare or as an attribute (`spectra.run_spectra` gives both parts), and
    every name it imports."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            used |= {a.name for a in node.names}
    return used


def test_the_library_never_imports_the_book_layer():
    offenders = {name: sorted(m for m in imports(name, tree) if m.startswith(BOOK + "."))
                 for name, tree in modules(LIBRARY).items()}
    assert not {k: v for k, v in offenders.items() if v}


def sources_built(tree: ast.Module) -> int:
    """How many times a module calls Source(...): only a notebook chooses to compute."""
    return sum(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "Source"
               for n in ast.walk(tree))


def test_the_book_layer_never_trains_or_computes():
    offenders = {name: sorted(names_used(tree) & COMPUTES) for name, tree in modules(BOOK).items()}
    assert not {k: v for k, v in offenders.items() if v}
    assert not {name: n for name, tree in modules(BOOK).items() if (n := sources_built(tree))}


def test_the_checks_can_fail():
    """A library module importing the book, and a book module naming get_or_run, are caught."""
    assert imports("saddle.grid", ast.parse("from saddle_book import scorecard")) == {"saddle_book.scorecard"}
    assert names_used(ast.parse("from saddle import runs\nruns.get_or_run(c)")) & COMPUTES == {"get_or_run"}
    assert sources_built(ast.parse("from saddle import analyse\nanalyse.Source(compute=True)")) == 1


# ---- The notebooks: a chapter reads analyses, the pipeline computes them (issue 49, item 2). ----
BOOK_DIR = SRC.parent / "book"
# Chapters still computing in a cell, each with why: none since chapter 2 reads through analyse.STORED too.
KNOWN_COMPUTING_CHAPTERS: dict[str, str] = {}


@functools.cache
def computing_by_default() -> frozenset[str]:
    """The library's functions with a `compute` argument that defaults to True (spectra.sweep_rows,
    theorem2.check3, ...): called without compute=False, they compute what is missing."""
    found = set()
    for tree in modules(LIBRARY).values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + \
                    node.args.kw_defaults
                found |= {node.name for a, d in zip(args, defaults)
                          if a.arg == "compute" and isinstance(d, ast.Constant) and d.value is True}
    return frozenset(found)


def notebook_code(path: Path) -> ast.Module:
    """A notebook's code cells as one module (IPython's % and ! lines left out)."""
    import json
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return ast.parse("\n".join("\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))
                               for cell in cells))


def through_stored(func: ast.expr) -> bool:
    """Whether a call goes through analyse.STORED (a Source that only reads)."""
    value = getattr(func, "value", None)
    return isinstance(func, ast.Attribute) and (getattr(value, "id", None) == "STORED" or
                                                 getattr(value, "attr", None) == "STORED")


def computing_calls(tree: ast.Module) -> list[str]:
    """What a notebook's code does that computes: a call to a computing function (COMPUTES, or one whose compute
    defaults to True) not through STORED and not given compute=False, any call given compute= other than False, a
    Source(...) built, analyse.run, or a computing function imported by name."""
    names = COMPUTES | computing_by_default()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"imports {a.name}" for a in node.names if a.name in names]
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        compute = next((k.value for k in node.keywords if k.arg == "compute"), None)
        reads = isinstance(compute, ast.Constant) and compute.value is False
        if name == "Source":
            found.append(f"line {node.lineno}: builds Source(...)")
        elif compute is not None and not reads:
            found.append(f"line {node.lineno}: {name}(compute={ast.unparse(compute)})")
        elif name in names and not reads and not through_stored(node.func):
            found.append(f"line {node.lineno}: calls {name}")
        elif name == "run" and getattr(node.func, "value", None) is not None and \
                getattr(node.func.value, "id", None) == "analyse":
            found.append(f"line {node.lineno}: calls analyse.run")
    return found


def test_no_chapter_computes_an_analysis():
    """Every chapter's code cells read analyses (analyse.STORED, compute=False) and never compute one: the pipeline
    does (`python -m saddle analyse <plan>`), and a missing one stops the chapter with that command. Training a
    chapter's missing runs in one explicit call (runner.records(..., train=...)) is allowed."""
    chapters = {p.stem: p for p in sorted(BOOK_DIR.glob("*.ipynb"))}
    assert len(chapters) >= 8 and set(KNOWN_COMPUTING_CHAPTERS) <= set(chapters)
    offenders = {name: found for name, path in chapters.items() if (found := computing_calls(notebook_code(path)))}
    assert set(offenders) - set(KNOWN_COMPUTING_CHAPTERS) == set(), offenders
    assert set(KNOWN_COMPUTING_CHAPTERS) <= set(offenders), "an exception no longer needed: remove it"


def test_the_notebook_check_can_fail():
    """What chapters 3, 6 and 8 did before issue 49 is caught; their reads are not."""
    assert {"sweep_rows", "check3", "run_spectra", "estimator_check"} <= computing_by_default() | COMPUTES
    caught = computing_calls(ast.parse(
        "check3 = theorem2.check3(scale, rhos, 0, **effort)\n"
        "rows = sweep_rows(runs, iters=iters, compute=train_missing)\n"
        "from saddle.spectra import run_spectra\n"
        "run_spectra(record, 200, [9])\n"
        "source = analyse.Source(compute=True)\n"
        "analyse.run('chapter6')\n"))
    assert [c.split(": ", 1)[-1] for c in caught] == [
        "imports run_spectra", "calls check3", "sweep_rows(compute=train_missing)", "calls run_spectra",
        "builds Source(...)", "calls analyse.run"], caught
    assert computing_calls(ast.parse(
        "analyse.STORED.sweep_rows(runs, iters=100)\n"
        "analyse.STORED.check3(scale, rhos, 0)\n"
        "theorem2.check3(scale, rhos, 0, compute=False)\n"
        "runner.records(configs, train=train_missing)\n"
        "analyse.require('chapter6', scale=scale)\n")) == []


def test_no_import_cycles_and_the_store_imports_no_trainer():
    graph = {name: imports(name, tree) for name, tree in {**modules(LIBRARY), **modules(BOOK)}.items()}
    assert not graph["saddle.results"] & {f"saddle.{m}" for m in ("train", "stacked", "distributed", "runs", "grid",
                                                                   "runner")}
    assert not graph["saddle.hessian"] & {f"saddle.{m}" for m in ("train", "results", "checkpoints", "runs")}
    # the scorecard and the figures read no notebook helper (parameters, glue, typeset tables, the chapters' tables)
    helpers = {f"{BOOK}.{m}" for m in ("notebook", "page_tables", "sam_radius", "run_tables")}
    figures = ("figure_style", "accuracy_figures", "theorem_figures", "spectra_figures")
    assert helpers <= set(graph) and {f"{BOOK}.{m}" for m in figures} <= set(graph)
    assert not helpers & (graph[f"{BOOK}.scorecard"] | set().union(*(graph[f"{BOOK}.{m}"] for m in figures)))

    def reach(start, seen=None):
        seen = set() if seen is None else seen
        for nxt in graph.get(start, ()):
            if nxt not in seen:
                seen.add(nxt)
                reach(nxt, seen)
        return seen
    cycles = sorted(m for m in graph if m in reach(m) and not m.endswith(("__init__", "__main__")))
    assert not cycles, {m: graph[m] for m in cycles}
