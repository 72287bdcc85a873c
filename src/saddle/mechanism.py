"""The mechanism on trial: is the tail at a saddle, and does SAM at the paper's radius move it off?

For the validated protocol's CE+DRW and CE+DRW+SAM at each radius (the tuned one and Table 5's 0.5), every seed,
each tail class's loss, gradient norm and the extremes of H = G + R (saddle.curvature) at the last epoch, stored
as analysis records (results/<scale>/curvature/) so the chapter reads them. The claims are paired per seed and
judged by the book's one rule (scorecard.claim_row):

- sam_tail_min / sam_large_rho_tail_min: SAM at the tuned / at the paper's radius raises the tail group's mean
  lambda_min over CE+DRW's;
- lmin_tracks_tail_acc: within a seed, over the tail classes of the three runs, the rank correlation of lambda_min
  with the class's test accuracy is positive (less negative curvature, better tail);
- negative_in_residual: within a seed, the rank correlation of |lambda_min(R)| with the class's training loss is
  positive: the negative curvature (which only R can carry, G being positive semi-definite) grows with what the
  class has not fitted, i.e. it is the mark of an unfitted loss, not of a stationary point."""
from __future__ import annotations

import pandas as pd

from . import grid, scorecard
from .config import RunConfig
from .curvature import class_split
from .results import analysis_path, find_record
from .results import get_or_compute as get_or_compute_record

KIND = "curvature"
BASELINE = "CE+DRW"
SAM = "CE+DRW+SAM"


def split_record(record: dict, epoch: int | None = None, classes=None, iters: int = 100, seed: int = 0,
                 data_root=None, root=None, cache=None, compute: bool = True) -> dict | None:
    """The Gauss-Newton split of a run's classes (default: its tail) at `epoch` (default: the last), read from or
    written to its analysis record; compute=False: None where no record exists yet."""
    from .hessian import checkpoint_path
    from .train import build_model, load_checkpoint, load_data

    config = RunConfig.from_dict(record["config"])
    epoch = epoch or config.epochs
    classes = list(record["groups"]["tail"] if classes is None else classes)
    settings = dict(epoch=epoch, classes=classes, iters=iters, seed=seed)
    path = analysis_path(config.scale, KIND, config.run_id, epoch, settings, root)
    if not compute and not path.exists():
        return None

    def compute_split():
        data = load_data(config, data_root)
        model = build_model(config, data)
        load_checkpoint(checkpoint_path(config.run_id, epoch, cache), config, model)
        return {"run_id": config.run_id, "label": config.label, "settings": settings,
                "class_names": data.class_names, "classes": class_split(model, data, classes, iters=iters,
                                                                      seed=seed, config=config)}
    how = f"saddle.mechanism.split_record for run {config.run_id} at epoch {epoch}"
    return get_or_compute_record(path, compute_split, how)


def runs(scale: str, seeds, rhos, root=None) -> dict:
    """{(rho, seed): record or None} of the validated protocol: rho 0 is CE+DRW, the others CE+DRW+SAM."""
    return {(rho, s): find_record(grid.protocol_config(SAM, scale, seed=s, rho=rho) if rho
                                  else grid.protocol_config(BASELINE, scale, seed=s), root)
            for s in seeds for rho in (0.0, *rhos)}


def split_rows(found: dict, compute: bool = True, **kwargs) -> pd.DataFrame:
    """One row per tail class of each recorded run: rho, seed, class, images, loss, gradient norm, the extremes of
    H, G and R, lambda_min / ||g||, and the run's final train and test accuracy on that class."""
    rows = []
    for (rho, seed), record in found.items():
        if record is None:
            continue
        result = split_record(record, seed=seed, compute=compute, **kwargs)
        if result is None:
            continue
        for key, values in result["classes"].items():
            c = int(key)
            rows.append({"rho": rho, "seed": seed, "class": f"{c} {result['class_names'][c]}", **values,
                         "train acc": record["metrics"]["train_final"]["per_class"][c],
                         "test acc": record["metrics"]["final"]["per_class"][c]})
    return pd.DataFrame(rows)


def _per_seed(rows: pd.DataFrame, fn) -> dict:
    """seed -> fn(that seed's rows), for the seeds whose rows fn can use (None or NaN: left out)."""
    out = {}
    for seed, group in rows.groupby("seed"):
        value = fn(group)
        if value is not None and value == value:
            out[int(seed)] = float(value)
    return out


def _raise_over_sgd(rho: float):
    def fn(group):
        by_rho = group.groupby("rho")["H_min"].mean()
        return by_rho[rho] - by_rho[0.0] if {0.0, rho} <= set(by_rho.index) else None
    return fn


def _rank_correlation(x: str, y: str, transform=None):
    def fn(group):
        if group["rho"].nunique() < 2 or len(group) < 4:
            return None
        left = group[x].abs() if transform == "abs" else group[x]
        return left.rank().corr(group[y].rank())
    return fn


def claims(rows: pd.DataFrame, tuned_rho: float, large_rho: float = grid.MECHANISM_RHO) -> pd.DataFrame:
    """The mechanism claims this module measures, one verdict row each (ids from scorecard.MECHANISM_IDS)."""
    if rows.empty:
        rows = pd.DataFrame(columns=["seed", "rho", "H_min", "R_min", "loss", "test acc"])
    specs = [
        ("sam_tail_min", f"SAM at the tuned rho {tuned_rho:g} raises the tail group's lambda_min over CE+DRW's",
         _raise_over_sgd(tuned_rho)),
        ("sam_large_rho_tail_min", f"SAM at the paper's rho {large_rho:g} raises the tail group's lambda_min over "
         "CE+DRW's", _raise_over_sgd(large_rho)),
        ("lmin_tracks_tail_acc", "over the tail classes of the three runs, lambda_min rises with test accuracy "
         "(rank correlation per seed)", _rank_correlation("H_min", "test acc")),
        ("negative_in_residual", "the negative curvature (R's) grows with the class's unfitted training loss (rank "
         "correlation of |lambda_min(R)| with the loss per seed)", _rank_correlation("R_min", "loss", "abs")),
    ]
    return pd.DataFrame([{"key": key, **scorecard.claim_row(text, _per_seed(rows, fn), "raises")}
                         for key, text, fn in specs]).set_index("key")


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds and tail classes per radius: what the chapter's table shows."""
    columns = ["images", "train acc", "test acc", "loss", "grad_norm", "H_min", "G_min", "R_min", "H_max",
               "lambda_min_over_grad"]
    table = rows.groupby("rho")[columns].mean()
    table.insert(0, "runs", rows.groupby("rho")["seed"].nunique())
    return table
