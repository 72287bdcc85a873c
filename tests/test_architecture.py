"""The two packages' one rule, checked on the source: the library (saddle) never imports the book layer
(saddle_book), and the book layer never trains or computes spectra or curvature: it reads records. Neither has an
import cycle, and the store imports no trainer."""
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


def test_no_import_cycles_and_the_store_imports_no_trainer():
    graph = {name: imports(name, tree) for name, tree in {**modules(LIBRARY), **modules(BOOK)}.items()}
    assert not graph["saddle.results"] & {f"saddle.{m}" for m in ("train", "stacked", "distributed", "runs", "grid",
                                                                   "runner")}
    assert not graph["saddle.hessian"] & {f"saddle.{m}" for m in ("train", "results", "checkpoints", "runs")}
    assert "saddle_book.book" not in graph["saddle_book.scorecard"] | graph["saddle_book.plots"]

    def reach(start, seen=None):
        seen = set() if seen is None else seen
        for nxt in graph.get(start, ()):
            if nxt not in seen:
                seen.add(nxt)
                reach(nxt, seen)
        return seen
    cycles = sorted(m for m in graph if m in reach(m) and not m.endswith(("__init__", "__main__")))
    assert not cycles, {m: graph[m] for m in cycles}
