"""CIFAR-10-LT (JPEG copy), ResNet-32: the declared mechanism family (catalog.CIFAR_MECHANISM_IDS) judged from the
cifar10-headline records and the analyses the pipeline writes for them (`python -m saddle analyse
cifar10-headline`, grid.CIFAR_ANALYSES). Written before any of these runs finished, so that their verdicts come from
code committed before the data; until the records and analyses exist every claim reads 'not run here'."""
from __future__ import annotations

import pandas as pd

from saddle import grid
from saddle.analyse import STORED
from saddle.results import find_record, train_group_accuracy

from . import catalog, mechanism, rule
from .scorecard import metric_value, paper_value
from .spectra_claims import group_claims

BASELINE, SAM = grid.CIFAR_HEADLINE
RHO = grid.method_config(SAM, grid.CIFAR_SCALE).rho  # Table 5's, the headline's
FIT = grid.REGIME_RULE["sam_tail_fit"]
TEXTS = {  # each claim of the family as the chapter words it (catalog.CIFAR_MECHANISM_IDS declares what it measures)
    "tail_saddle": "tail classes end at larger |lambda_min/lambda_max| than head classes (CE+DRW)",
    "tail_stationary": "the tail classes end with a smaller class gradient norm than the head classes (CE+DRW)",
    "sam_large_rho_tail_min": f"SAM at rho {RHO:g} raises the tail group's lambda_min",
    "sam_ratio": f"SAM at rho {RHO:g} lowers the tail group's |lambda_min/lambda_max|",
    "regime_fit": f"SAM at rho {RHO:g} fits more than {FIT:g}% of the tail's training images",
    "negative_in_residual": "the book's own hypothesis, not the paper's: the tail's negative curvature (R's) grows "
                            "with the class's unfitted training loss",
}
KINDS = {"tail_saddle": "raises", "tail_stationary": "lowers", "sam_large_rho_tail_min": "raises",
         "sam_ratio": "lowers", "regime_fit": "raises", "negative_in_residual": "raises"}


def headline_runs(seeds=grid.PROTOCOL_SEEDS) -> dict[int, dict]:
    """seed -> {'CE+DRW': record or None, 'CE+DRW+SAM': record or None} of the headline grid."""
    by_seed: dict[int, dict] = {}
    for config in grid.cifar_headline(seeds=seeds):
        by_seed.setdefault(config.seed, {})[config.label] = find_record(config)
    return by_seed


def recorded_line(runs: dict[int, dict]) -> str:
    """The headline's finished runs in one line for the landing page: each run's overall and tail accuracy at the
    final epoch beside the paper's Table 1 mean for its method (one seed is no verdict); until a run finishes, says
    so."""
    done = [(seed, method, record) for seed, pair in sorted(runs.items()) for method, record in pair.items()
            if metric_value(record, "acc") is not None]
    if not done:
        return "no run has finished yet, so no CIFAR-10-LT number exists"
    parts = []
    for seed, method, record in done:
        ours = {m: metric_value(record, m) for m in ("acc", "tail")}
        paper = {m: paper_value(method, 1, "cifar10-jpeg", m) for m in ("acc", "tail")}
        parts.append(f"{method} seed {seed}: {ours['acc']:.1f}% overall, {ours['tail']:.1f}% tail (paper, mean of 3 "
                     f"seeds: {paper['acc']:.1f}% and {paper['tail']:.1f}%)")
    return "; ".join(parts) + " (single runs: no verdict yet)"


def _spectra(record: dict | None) -> dict | None:
    """A run's stored spectra of all classes at its last epoch, with the declared settings (probe = its seed)."""
    if record is None or record.get("status") != "complete":
        return None
    plan = grid.CIFAR_ANALYSES
    return STORED.spectra(record, record["config"]["epochs"], "all", iters=plan["iters"],
                          seed=record["config"]["seed"], max_per_class=plan["max_per_class"])


def mechanism_claims(runs: dict[int, dict]) -> pd.DataFrame:
    """The family's six claims, each paired by seed on the seeds that have what it reads, judged by the one rule
    with Holm's correction within the family (indexed by id, in the declared order)."""
    by_seed = {s: {m: {"all": got, "tail": got} for m in (BASELINE, SAM) for got in [_spectra(pair.get(m))]}
               for s, pair in runs.items()}
    example = next((r for pair in runs.values() for r in pair.values() if r is not None), None)
    diffs = dict.fromkeys(catalog.CIFAR_MECHANISM_IDS, {})
    if example is not None:
        groups, n_classes = example["groups"], len(example["class_names"])
        found = {key: d for key, _, d, _ in group_claims(by_seed, groups, n_classes)}
        diffs.update(tail_saddle=found["tail_saddle"], tail_stationary=found["tail_stationary"],
                     sam_ratio=found["sam_ratio"], sam_large_rho_tail_min=found["sam_tail_min"])
        done = {s: pair for s, pair in runs.items() if all(r and r.get("status") == "complete" for r in pair.values())}
        diffs["regime_fit"] = {s: train_group_accuracy(pair[SAM], "tail") - FIT for s, pair in done.items()}
        split = mechanism.split_rows({(0.0 if m == BASELINE else RHO, s): r for s, pair in done.items()
                                      for m, r in pair.items()}, iters=grid.CIFAR_ANALYSES["iters"])
        if len(split):
            residual = mechanism.rank_correlation("R_min", "loss", "abs")
            diffs["negative_in_residual"] = mechanism.per_seed(split, residual)
    rows = [{"key": key, **rule.claim_row(TEXTS[key], diffs[key], KINDS[key])} for key in catalog.CIFAR_MECHANISM_IDS]
    return rule.holm_within(f"mechanism, {grid.CIFAR_SCALE}", pd.DataFrame(rows).set_index("key"))
