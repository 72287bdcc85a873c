"""What every chapter notebook does with its parameters and its glue: a papermill parameter the chapter lacks
refused, the parameters checked and their defaults resolved for the scale (the one place they live), the scale
named in words for a caption, and texts glued for the prose."""
from __future__ import annotations

import ast

from saddle import grid
from saddle.checks import check_choice
from saddle.config import check_field
from saddle.data import DATASETS
from saddle.grid import GRIDS, method_config


LT_NAMES = {"fashion-mnist": "Fashion-MNIST-LT", "cifar10": "CIFAR-10-LT", "cifar100": "CIFAR-100-LT"}


def scale_words(scale: str) -> str:
    """The data and scale a chapter-2 caption names, e.g. 'Fashion-MNIST-LT, cpu scale'; the regime scale says
    what it is (its network and head size)."""
    from saddle.config import SCALES
    settings = SCALES[scale]
    data = LT_NAMES.get(settings["dataset"], settings["dataset"])
    if scale == grid.REGIME_SCALE:
        return f"{data}, {scale} scale (ResNet-8, {settings['n_max']:,}-image head)"
    return f"{data}, {scale} scale"


BOOK_SCALES = ("smoke", "cpu", "paper")  # "large" runs are torchrun jobs of their own (chapter 5)


def assigned_names(source: str) -> list[str]:
    """The names a cell's source assigns at its top level, in order (tuple targets included)."""
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def check_parameter_names(history) -> None:
    """Refuse a papermill parameter the chapter does not have (papermill itself only warns and runs the chapter
    with its defaults). `history`: IPython's `In`, the sources of the cells run so far: the chapter's `parameters`
    cell is the first, papermill's injected cell the one that starts with '# Parameters'."""
    cells = [c for c in history if c and c.strip()]
    if not cells:
        return
    declared = set(assigned_names(cells[0]))
    injected = [c for c in cells[1:] if c.lstrip().startswith("# Parameters")]
    unknown = [n for c in injected for n in assigned_names(c) if n not in declared]
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; this chapter's parameters are "
                         f"{', '.join(sorted(declared))}")


def chapter_precision(precision) -> str:
    """A chapter's `precision` parameter checked, 'fast' resolved to this machine's choice (train.fast_precision,
    said in the cell's output)."""
    from saddle.train import fast_precision
    check_choice("precision", precision, ("fp32", "bf16", "fast"))
    if precision != "fast":
        return precision
    chosen, why = fast_precision()
    print(f"precision fast: {why}")
    return chosen


def check_parameters(scale: str, rho: float | None = None, seeds=None, dataset: str | None = None,
                     epoch_rule: str | None = None, imbalances=None, tables=None, protocol: str = "paper",
                     workers: int | None = None, datasets=None, methods=None, rhos=None,
                     scales=BOOK_SCALES) -> None:
    """Fail in a chapter's first cell, with the accepted values, before any work is done. The book builds at
    smoke, cpu or paper scale; the large scale's runs are separate torchrun jobs (chapter 5). `protocol`: whose
    runs `epoch_rule` reads; the paper protocol's hold out no validation images, so they have no 'best_val' epoch.
    datasets and methods: lists of names, each checked as `dataset` is and as grid.method_config reads it; rhos:
    radii, each checked as `rho` is; scales: those the chapter accepts (chapter 2 also reads the regime scale).
    Numbers are held to a run config's ranges (config.check_field), as the CLI's are."""
    if not isinstance(scale, str):
        raise ValueError(f"scale must be a string, one of {', '.join(scales)}; got {scale!r}")
    check_choice("scale", scale, scales)
    if epoch_rule is not None:
        rules = ("final", "best_val", "best") if protocol == "validated" else ("final", "best")
        if epoch_rule == "best_val" and protocol != "validated":
            raise ValueError("epoch_rule 'best_val' needs a validation split, which the paper protocol's runs (this "
                             f"chapter's tables) do not hold out; accepted: {', '.join(rules)}")
        check_choice("epoch_rule", epoch_rule, rules)
    if imbalances is not None and not isinstance(imbalances, (list, tuple)):
        raise ValueError(f"imbalances must be a list of numbers >= 1, got {imbalances!r}")
    for b in imbalances or ():
        check_field("imbalance", b)
    for table in tables or ():
        check_choice("table", table, tuple(GRIDS))
    for value in [rho, *(rhos or ())]:
        check_field("rho", value)
    if seeds is not None and (not isinstance(seeds, (list, tuple)) or not seeds):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    for seed in seeds or ():
        check_field("seed", seed)
    for name in ([dataset] if dataset is not None else []) + list(datasets or ()):
        check_choice("dataset", name, DATASETS)
    if methods is not None:
        for method in methods:
            method_config(method, scale)  # an unknown method fails here, with the accepted form
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 (processes of one thread each), got {workers!r}")


def chapter_settings(scale: str, **given) -> tuple:
    """A chapter's parameters with None resolved for `scale`, in the order given (one name: its value): the one
    place the chapters' defaults live. smoke takes the least that runs every code path; the cpu book reads the
    committed records, so it trains nothing unless train_missing=True. Names: seeds (the paper protocol's, 0-2),
    validated_seeds (the validated protocol's, 0-4), iters (Lanczos steps), max_per_class (images per class in a
    spectrum), train_missing, dataset_names, imbalances (Tables 7-8), rhos (Fig. 4), tables (chapter 4's; smoke
    leaves out Table 2), methods (Table 1's eight)."""
    from saddle.grid import chapter_defaults
    from saddle.results import read_only
    defaults = chapter_defaults(scale)
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"unknown chapter setting(s) {', '.join(sorted(unknown))}; known: {', '.join(defaults)}")
    for name in ("iters", "max_per_class"):
        value = given.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    resolved = {name: defaults[name] if value is None else value for name, value in given.items()}
    if "train_missing" in resolved:
        resolved["train_missing"] = bool(resolved["train_missing"]) and not read_only()
    return tuple(resolved.values()) if len(resolved) > 1 else next(iter(resolved.values()))


def glue_texts(texts: dict) -> None:
    """Glue each value under its key for the chapter's prose ({glue:text}`key`), showing nothing in the cell."""
    from myst_nb import glue
    for key, text in texts.items():
        glue(key, text, display=False)


def glue_tables(**tables: str) -> None:
    """Glue each typeset table (HTML text) under its name, for a {glue} directive in the prose."""
    from IPython.display import HTML
    from myst_nb import glue
    for name, html in tables.items():
        glue(name, HTML(html), display=False)
