"""The declared analyses of a grid, run in the pipeline (`python -m saddle analyse <grid>`), never by a chapter.

For every recorded run of the grid, the analyses its declaration names, in order of priority, each written as an
analysis record (spectra.run_spectra, curvature.split_record) that chapters then read. An analysis whose snapshot is
not in the cache or the committed checkpoints yet is listed as waiting, with the reason. CIFAR-10-LT's plan is
grid.CIFAR_ANALYSES (declared with its grid, before any run)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import grid, runner
from .checkpoints import checkpoint_path
from .config import RunConfig
from .curvature import split_record
from .spectra import ESTIMATOR_ITERS, ESTIMATOR_PROBES, estimator_check, run_spectra, sweep_rows


@dataclass(frozen=True)
class Source:
    """Where a chapter's analyses come from, chosen by whoever runs the chapter: the stored records alone (STORED: a
    missing one reads as None and nothing is computed), or computed where missing (Source(compute=True), made in
    one visible line of a notebook, as the pipeline does). The book layer reads through the source it is handed and
    names no computing function itself (tests/test_architecture.py)."""
    compute: bool = False

    def spectra(self, record: dict, epoch: int, classes="all", **settings) -> dict | None:
        return run_spectra(record, epoch, classes, compute=self.compute, **settings)

    def sweep_rows(self, runs: dict, **settings) -> list[dict]:
        return sweep_rows(runs, compute=self.compute, **settings)

    def estimator_rows(self, records: dict, classes, **settings) -> list[dict]:
        return estimator_check(records, classes, compute=self.compute, **settings)

    def split(self, record: dict, **settings) -> dict | None:
        return split_record(record, compute=self.compute, **settings)


STORED = Source()


@dataclass(frozen=True)
class Analysis:
    """One analysis of one run: what (spectra of `classes`, or the G/R split of the tail), at which epoch, how."""
    kind: str  # "spectra" or "split"
    run: dict  # the run's record
    epoch: int
    classes: object  # "all", a list of class indices, or None (the split: the tail)
    iters: int
    seed: int  # the Lanczos probe's
    max_per_class: int | None = None

    @property
    def name(self) -> str:
        what = "G/R split of the tail" if self.kind == "split" else f"spectra of classes {self.classes}"
        return f"{self.run['id']} epoch {self.epoch}: {what} ({self.iters} steps, probe {self.seed})"

    def compute(self, compute: bool = True) -> dict | None:
        """The analysis record: read, or computed and written (compute=False: None where missing)."""
        if self.kind == "split":
            return split_record(self.run, self.epoch, iters=self.iters, seed=self.seed, compute=compute)
        return run_spectra(self.run, self.epoch, self.classes, iters=self.iters, seed=self.seed,
                           max_per_class=self.max_per_class, compute=compute, progress=False)


def cifar_plan(records: dict[str, dict | None], plan: dict = grid.CIFAR_ANALYSES) -> list[Analysis]:
    """grid.CIFAR_ANALYSES for the recorded runs of cifar10-headline, in order: every run's spectra of all classes
    and G/R split at the last epoch, Fig. 3's classes over training on its seeds, then the estimator check."""
    runs = [r for r in records.values() if r is not None and r["status"] == "complete"]
    settings = dict(iters=plan["iters"], max_per_class=plan["max_per_class"])
    out = [Analysis("spectra", r, r["config"]["epochs"], "all", seed=r["config"]["seed"], **settings) for r in runs]
    out += [Analysis("split", r, r["config"]["epochs"], None, plan["iters"], r["config"]["seed"]) for r in runs]
    out += [Analysis("spectra", r, e, list(plan["fig3_classes"]), seed=r["config"]["seed"], **settings)
            for r in runs if r["config"]["seed"] in plan["fig3_seeds"] for e in plan["fig3_epochs"]]
    method, seed = plan["estimator_run"]
    for r in runs:
        if r["label"] == method and r["config"]["seed"] == seed:
            out += [Analysis("spectra", r, r["config"]["epochs"], [plan["estimator_class"]], steps, probe,
                             plan["max_per_class"]) for steps in ESTIMATOR_ITERS for probe in ESTIMATOR_PROBES]
    return out


PLANS = {"cifar10-headline": cifar_plan}


def snapshot_ready(analysis: Analysis, cache=None) -> bool:
    """Whether the snapshot the analysis reads exists (the cache's, or the committed one)."""
    try:
        return checkpoint_path(RunConfig.from_dict(analysis.run["config"]).run_id, analysis.epoch, cache).exists()
    except FileNotFoundError:
        return False


def run(table: str, *, list_only: bool = False, cache=None, log=print) -> dict:
    """Compute every missing analysis of `table`'s plan whose snapshot exists; returns counts of 'present',
    'computed', 'waiting' (no snapshot yet). list_only: say what exists and what is missing, compute nothing."""
    if table not in PLANS:
        raise ValueError(f"no declared analyses for grid {table!r}; accepted: {', '.join(PLANS)}")
    plan = PLANS[table](runner.records(grid.GRIDS[table]()))
    counts = {"present": 0, "computed": 0, "waiting": 0}
    for analysis in plan:
        if analysis.compute(compute=False) is not None:
            counts["present"] += 1
            log(f"done     {analysis.name}")
        elif not snapshot_ready(analysis, cache):
            counts["waiting"] += 1
            log(f"waiting  {analysis.name}: no snapshot at epoch {analysis.epoch} yet")
        elif list_only:
            log(f"missing  {analysis.name}")
        else:
            started = time.time()
            analysis.compute()
            counts["computed"] += 1
            log(f"computed {analysis.name} in {time.time() - started:.0f} s")
    log(f"{len(plan)} analyses: {counts['present']} recorded, {counts['computed']} computed now, "
        f"{counts['waiting']} waiting for their snapshot")
    return counts
