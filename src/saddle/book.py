"""What the chapter notebooks share: parameter checks, the paper's numbers, and tables of run records."""
from __future__ import annotations

import json

from .data import DATASETS, check_choice
from .grid import GRIDS
from .results import ROOT

BOOK_SCALES = ("smoke", "cpu", "paper")  # "large" runs are torchrun jobs of their own (chapter 5)

PAPER_RESULTS = ROOT / "book" / "data" / "paper_results.json"


def check_parameters(scale: str, rho: float | None = None, seeds=None, dataset: str | None = None,
                     which: str | None = None, imbalances=None, tables=None) -> None:
    """Fail in a chapter's first cell, with the accepted values, before any work is done. The book builds at
    smoke, cpu or paper scale; the large scale's runs are separate torchrun jobs (chapter 5)."""
    check_choice("scale", scale, BOOK_SCALES)
    if which is not None:
        check_choice("which", which, ("final", "best_val", "best"))
    for b in imbalances or ():
        if b < 1:
            raise ValueError(f"imbalance must be >= 1 (n_max / n_min), got {b}")
    for table in tables or ():
        check_choice("table", table, tuple(GRIDS))
    if rho is not None and rho < 0:
        raise ValueError(f"rho must be >= 0, got {rho}")
    if seeds is not None and (not list(seeds) or any(int(s) != s or s < 0 for s in seeds)):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    if dataset is not None:
        check_choice("dataset", dataset, DATASETS)


def paper_results(**match) -> list[dict]:
    """Rows of the paper's tables (book/data/paper_results.json) whose fields equal `match`."""
    rows = json.loads(PAPER_RESULTS.read_text())["results"]
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def metrics_table(records: list[dict], which: str = "final", groups=("head", "mid", "tail")):
    """One row per record: method, seed, overall and group test accuracy (%), train accuracy, wall time."""
    import pandas as pd
    rows = []
    for r in records:
        if r["status"] != "complete":
            rows.append({"method": r["label"], "seed": r["config"]["seed"], "status": r["status"]})
            continue
        m = r["metrics"][which]
        rows.append({"method": r["label"], "seed": r["config"]["seed"], "acc": m["acc"],
                     **{g: m[g] for g in groups}, "train acc": r["metrics"]["train_final"]["acc"],
                     "min class train acc": min(r["metrics"]["train_final"]["per_class"]),
                     "minutes": r["provenance"]["wall_time_s"] / 60})
    return pd.DataFrame(rows).round(1)


def train_group_accuracy(record: dict, group: str) -> float | None:
    """Mean training accuracy (no augmentation, end of training) over a group's classes, in %: did the run fit
    its tail at all? None for a group the profile does not have (the step profile has no mid)."""
    members = record["groups"].get(group)
    if not members:
        return None
    return sum(record["metrics"]["train_final"]["per_class"][c] for c in members) / len(members)


def seeds_phrase(counts) -> str:
    """How many seeds each setting ran on, for prose: '3 seeds', or '1 to 3 seeds' when settings differ."""
    low, high = int(min(counts)), int(max(counts))
    return f"{low if low == high else f'{low} to {high}'} seed{'s' * (high > 1)}"
