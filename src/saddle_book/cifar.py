"""CIFAR-10-LT (JPEG copy), ResNet-32: the declared mechanism family (catalog.CIFAR_MECHANISM_IDS) judged from the
cifar10-headline records and the analyses the pipeline writes for them (`python -m saddle analyse
cifar10-headline`, grid.CIFAR_ANALYSES). Written before any of these runs finished, so that their verdicts come from
code committed before the data; until the records and analyses exist every claim reads 'not run here'."""
from __future__ import annotations

import numpy as np
import pandas as pd

from saddle import grid, optim
from saddle.analyse import STORED
from saddle.results import find_record, train_group_accuracy
from saddle.spectra import spectra_rows

from . import catalog, mechanism, rule
from .scorecard import metric_value, paper_value
from .spectra_claims import group_claims

BASELINE, SAM = grid.CIFAR_HEADLINE
RHO = grid.method_config(SAM, grid.CIFAR_SCALE).rho  # Table 5's, the headline's
FIT = grid.REGIME_RULE["sam_tail_fit"]
DRW_EPOCH = optim.phase_epochs(grid.method_config(BASELINE, grid.CIFAR_SCALE).epochs)[1]  # the first LR drop's
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


def _complete(runs: dict[int, dict]):
    """(seed, method, record) of every finished headline run."""
    return [(seed, method, record) for seed, pair in sorted(runs.items()) for method, record in pair.items()
            if record is not None and record.get("status") == "complete"]


def over_training(runs: dict[int, dict]) -> pd.DataFrame:
    """Fig. 3's classes over training (grid.CIFAR_ANALYSES: a head and a tail class at the declared epochs), one
    row per stored spectrum of a finished run (spectra_rows, with its seed); epochs not analysed yet are absent."""
    plan = grid.CIFAR_ANALYSES
    rows = []
    for seed, method, record in _complete(runs):
        for epoch in plan["fig3_epochs"]:
            found = STORED.spectra(record, epoch, list(plan["fig3_classes"]), iters=plan["iters"], seed=seed,
                                   max_per_class=plan["max_per_class"])
            rows += [dict(row, seed=seed) for row in spectra_rows(found, record, method)] if found else []
    return pd.DataFrame(rows)


def last_epoch(runs: dict[int, dict]) -> pd.DataFrame:
    """Every class's extremes at the last epoch of each finished run whose spectra of all classes are stored
    (spectra_rows, with its seed)."""
    rows = []
    for seed, method, record in _complete(runs):
        found = _spectra(record)
        if found:  # spectra_rows keeps the stored order of the classes, which at_point shares
            rows += [dict(row, seed=seed, **found["at_point"].get(key, {}))
                     for key, row in zip(found["spectra"], spectra_rows(found, record, method))]
    return pd.DataFrame(rows)


def class_table(last: pd.DataFrame) -> pd.DataFrame:
    """last_epoch() for the page: method, seed, class and group, the extremes and their ratio, the class gradient
    norm, training and test accuracy (%)."""
    columns = {"method": "method", "seed": "seed", "class": "class", "group": "group", "lambda_min": "λ_min",
               "lambda_max": "λ_max", "ratio": "|λ_min/λ_max|", "grad_norm": "‖g‖", "train acc": "train acc",
               "test acc": "test acc"}
    return last.reindex(columns=list(columns)).rename(columns=columns)


def _mean_ratio(frame: pd.DataFrame, **where) -> float:
    """The geometric mean of |lambda_min/lambda_max| over the rows matching `where` (the plots' group mean)."""
    part = frame.loc[(frame[list(where)] == pd.Series(where)).all(axis=1), "ratio"]
    return float(np.exp(np.log(part).mean()))


def _rho(method: str) -> float:
    """The headline method's radius: 0 for CE+DRW (SGD)."""
    return 0.0 if method == BASELINE else RHO


def _rows(frame: pd.DataFrame, column: str, value) -> pd.DataFrame:
    """The rows of `frame` whose `column` is `value` (an empty frame, without columns, as it is)."""
    return frame[frame[column] == value] if len(frame) else frame


def _compared(reference: float, value: float, up: str, down: str, decimals: int) -> str:
    """The word for how `value` compares with `reference` as printed to `decimals` (equal there: 'the same as')."""
    value, reference = (float(f"{x:.{decimals}f}") for x in (value, reference))  # as the page prints them
    if value == reference:
        return "the same as"
    return up if value > reference else down


def story_texts(over: pd.DataFrame, last: pd.DataFrame, split: pd.DataFrame, method: str = BASELINE) -> dict:
    """Chapter 2's numbers on CIFAR-10-LT (JPEG copy) for `method`, means over its analysed seeds, each direction
    word picked from the numbers it describes; 'not analysed yet' where a frame lacks the method."""
    missing = "not analysed yet"
    analysed = {(m, int(s)) for f in (over, last) if len(f) for m, s in zip(f["method"], f["seed"])}
    analysed |= {(BASELINE if r == 0 else SAM, int(s)) for r, s in zip(split.get("rho", []), split.get("seed", []))}
    texts = {"cifar_mech_have": "; ".join(f"{m} seed {s}" for m, s in sorted(analysed)) or "no run yet"}
    ours = _rows(over, "method", method)
    if len(ours) and {DRW_EPOCH, ours["epoch"].max()} <= set(ours["epoch"]):
        end = int(ours["epoch"].max())
        for group in ("head", "tail"):
            before, after = (_mean_ratio(ours, group=group, epoch=e) for e in (DRW_EPOCH, end))
            texts |= {f"cifar_{group}class_drw": f"{before:.3f}", f"cifar_{group}class_end": f"{after:.3f}",
                      f"cifar_{group}class_moves": _compared(before, after, "rises", "falls", 3)}
        texts["cifar_drw_epoch"], texts["cifar_end_epoch"] = str(DRW_EPOCH), str(end)
    ours = _rows(last, "method", method)
    if len(ours):
        head, tail = (_mean_ratio(ours, group=g) for g in ("head", "tail"))
        grads = ours.groupby("group")["grad_norm"].mean()
        texts |= {"cifar_head_ratio": f"{head:.4f}", "cifar_tail_ratio": f"{tail:.4f}",
                  "cifar_tail_vs_head": _compared(head, tail, "above", "below", 4),
                  "cifar_head_grad": f"{grads['head']:.2f}", "cifar_tail_grad": f"{grads['tail']:.2f}",
                  "cifar_grad_vs_head": _compared(grads["head"], grads["tail"], "larger", "smaller", 2)}
    ours = _rows(split, "rho", _rho(method))
    if len(ours):
        texts |= {f"cifar_split_{k}": f"{ours[k].min():.2f} to {ours[k].max():.2f}"
                  for k in ("H_min", "R_min", "H_max")}
        texts |= {"cifar_split_g_min": f"{ours['G_min'].min():.0e}",
                  "cifar_split_fit": f"{ours['train acc'].min():.0f}%",
                  "cifar_split_loss": f"{ours['loss'].min():.4f} to {ours['loss'].max():.4f}"}
    return {k: texts.get(k, missing) for k in STORY_KEYS}


def sam_texts(last: pd.DataFrame) -> dict:
    """Chapter 2's SAM-against-CE+DRW numbers on CIFAR-10-LT (JPEG copy), on the seeds where both methods' last
    epoch is analysed: the tail group's lambda_min and |lambda_min/lambda_max| of each, means over its classes and
    those seeds as the family's claims take them, the direction words picked from the printed numbers."""
    texts = dict.fromkeys(SAM_KEYS, "not analysed yet") | {"cifar_pair_rho": f"{RHO:g}", "cifar_pair_seeds": "no seed"}
    tail = last[last["group"] == "tail"] if len(last) else last
    seeds = sorted(set(_rows(tail, "method", BASELINE).get("seed", []))
                   & set(_rows(tail, "method", SAM).get("seed", [])))
    if not seeds:
        return texts
    paired = tail[tail["seed"].isin(seeds)]
    means = paired.groupby("method")[["lambda_min", "ratio"]].mean()
    (ce_min, ce_ratio), (sam_min, sam_ratio) = means.loc[BASELINE], means.loc[SAM]
    named = ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(int(s)) for s in seeds)
    return texts | {"cifar_pair_seeds": named,
                    "cifar_pair_ce_min": f"{ce_min:.3f}", "cifar_pair_sam_min": f"{sam_min:.3f}",
                    "cifar_pair_min_moves": _compared(ce_min, sam_min, "higher than", "lower than", 3),
                    "cifar_pair_ce_ratio": f"{ce_ratio:.4f}", "cifar_pair_sam_ratio": f"{sam_ratio:.4f}",
                    "cifar_pair_ratio_moves": _compared(ce_ratio, sam_ratio, "higher than", "lower than", 4)}


SAM_KEYS = ("cifar_pair_rho", "cifar_pair_seeds", "cifar_pair_ce_min", "cifar_pair_sam_min", "cifar_pair_min_moves",
            "cifar_pair_ce_ratio", "cifar_pair_sam_ratio", "cifar_pair_ratio_moves")
STORY_KEYS = ("cifar_mech_have", "cifar_drw_epoch", "cifar_end_epoch",
              *(f"cifar_{g}class_{k}" for g in ("head", "tail") for k in ("drw", "end", "moves")),
              "cifar_head_ratio", "cifar_tail_ratio", "cifar_tail_vs_head", "cifar_head_grad", "cifar_tail_grad",
              "cifar_grad_vs_head", "cifar_split_H_min", "cifar_split_R_min", "cifar_split_H_max",
              "cifar_split_g_min", "cifar_split_fit", "cifar_split_loss")


def tail_split(runs: dict[int, dict]) -> pd.DataFrame:
    """The tail classes' G/R split at the last epoch of each finished run that has it (mechanism.split_rows, with
    the run's rho: 0 for CE+DRW)."""
    return mechanism.split_rows({(_rho(method), seed): record
                                 for seed, method, record in _complete(runs)}, iters=grid.CIFAR_ANALYSES["iters"])


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
        split = tail_split(done)
        if len(split):
            residual = mechanism.rank_correlation("R_min", "loss", "abs")
            diffs["negative_in_residual"] = mechanism.per_seed(split, residual)
    rows = [{"key": key, **rule.claim_row(TEXTS[key], diffs[key], KINDS[key])} for key in catalog.CIFAR_MECHANISM_IDS]
    return rule.holm_within(f"mechanism, {grid.CIFAR_SCALE}", pd.DataFrame(rows).set_index("key"))
