"""The mechanism on trial: is the tail at a saddle, and does SAM at the paper's radius move it off?

For the validated protocol's CE+DRW and CE+DRW+SAM at each radius (the tuned one and Table 5's 0.5), every seed,
each tail class's loss, gradient norm and the extremes of H = G + R (saddle.curvature) at the last epoch, stored
as analysis records (results/<scale>/curvature/) so the chapter reads them. The claims are paired per seed and
judged by the book's one rule (rule.claim_row):

- sam_tail_min / sam_large_rho_tail_min: SAM at the tuned / at the paper's radius raises the tail group's mean
  lambda_min over CE+DRW's;
- lmin_tracks_tail_acc: within each run (arm: CE+DRW, SAM at the tuned radius, SAM at the paper's), over its tail
  classes, the rank correlation of lambda_min with the class's test accuracy; per seed the mean over its arms, which
  is positive (less negative curvature, better tail);
- negative_in_residual: the book's own hypothesis, not the paper's (catalog.OWN_HYPOTHESES): within each arm the
  rank correlation of |lambda_min(R)| with the class's training loss, per seed the mean over its arms, is positive:
  the negative curvature (which only R can carry, G being positive semi-definite) grows with what the class has not
  fitted, i.e. it is the mark of an unfitted loss, not of a stationary point.

Both correlations are computed within each arm since 2026-12-06 (issue 48), after their data: before, each seed's
correlation pooled the tail classes of the three runs, mixing SAM's effect (an intervention) with the difference
between classes (rank_correlations keeps the pooled one beside, for the text).

AFTER_DATA_IDS, judged after their data (2026-12-06) as a family of their own per scale, never added to the declared
mechanism family (after_data_claims): SAM at the paper's radius against CE+DRW, paired by seed, on the tail group's
|lambda_min/lambda_max| of H (the split's extremes; the paper's Fig. 3B says SAM lowers it) and on the tail and the
overall test accuracy at the last epoch (the paper's Table 1 says SAM raises them)."""
from __future__ import annotations

import pandas as pd

from saddle import grid

from . import catalog, rule, scorecard
from saddle.analyse import STORED, Source
from saddle.results import find_record, train_group_accuracy

BASELINE = "CE+DRW"
SAM = "CE+DRW+SAM"


def runs(scale: str, seeds, rhos, root=None) -> dict:
    """{(rho, seed): record or None} of the validated protocol: rho 0 is CE+DRW, the others CE+DRW+SAM."""
    return {(rho, s): find_record(grid.protocol_config(SAM, scale, seed=s, rho=rho) if rho
                                  else grid.protocol_config(BASELINE, scale, seed=s), root)
            for s in seeds for rho in (0.0, *rhos)}


def split_rows(found: dict, source: Source = STORED, **kwargs) -> pd.DataFrame:
    """One row per tail class of each recorded run: rho, seed, class, images, loss, gradient norm, the extremes of
    H, G and R, lambda_min / ||g||, and the run's final train and test accuracy on that class; the splits read
    through `source` (STORED: the recorded ones, runs without one left out)."""
    rows = []
    for (rho, seed), record in found.items():
        if record is None:
            continue
        result = source.split(record, seed=seed, **kwargs)
        if result is None:
            continue
        for key, values in result["classes"].items():
            c = int(key)
            rows.append({"rho": rho, "seed": seed, "class": f"{c} {result['class_names'][c]}", **values,
                         "train acc": record["metrics"]["train_final"]["per_class"][c],
                         "test acc": record["metrics"]["final"]["per_class"][c]})
    return pd.DataFrame(rows)


def per_seed(rows: pd.DataFrame, fn) -> dict:
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


def _spearman(group: pd.DataFrame, x: str, y: str, transform=None) -> float:
    """The rank correlation of `x` (|x| with transform 'abs') with `y` over the rows of `group`; NaN with fewer than
    three rows or a constant column."""
    if len(group) < 3:
        return float("nan")
    left = group[x].abs() if transform == "abs" else group[x]
    return float(left.rank().corr(group[y].rank()))


def rank_correlations(rows: pd.DataFrame, x: str, y: str, transform=None) -> pd.DataFrame:
    """Per seed (index) the rank correlation of `x` with `y` over the tail classes within each arm (a column per
    radius, 0.0 being CE+DRW), their mean over the arms that have one ('within arms': what the claims judge) and the
    correlation pooled over every arm's classes ('pooled': how the book read it until 2026-12-06)."""
    table = {}
    for seed, group in rows.groupby("seed"):
        arms = {float(rho): _spearman(arm, x, y, transform) for rho, arm in group.groupby("rho")}
        defined = [v for v in arms.values() if v == v]
        table[int(seed)] = {**arms, "within arms": sum(defined) / len(defined) if defined else float("nan"),
                            "pooled": _spearman(group, x, y, transform) if len(arms) > 1 else float("nan")}
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("seed")


def rank_correlation(x: str, y: str, transform=None):
    """fn(one seed's rows) for per_seed: the mean over the seed's arms of the within-arm rank correlation."""
    def fn(group):
        return rank_correlations(group, x, y, transform)["within arms"].iloc[0]
    return fn


def claims(rows: pd.DataFrame, tuned_rho: float, large_rho: float = grid.MECHANISM_RHO) -> pd.DataFrame:
    """The mechanism claims this module measures, one verdict row each (ids from catalog.MECHANISM_IDS)."""
    if rows.empty:
        rows = pd.DataFrame(columns=["seed", "rho", "H_min", "R_min", "loss", "test acc"])
    specs = [
        ("sam_tail_min", f"SAM at the tuned rho {tuned_rho:g} raises the tail group's lambda_min over CE+DRW's",
         _raise_over_sgd(tuned_rho)),
        ("sam_large_rho_tail_min", f"SAM at the paper's rho {large_rho:g} raises the tail group's lambda_min over "
         "CE+DRW's", _raise_over_sgd(large_rho)),
        ("lmin_tracks_tail_acc", "over the tail classes within each run, lambda_min rises with test accuracy "
         "(rank correlation per run, the runs of a seed averaged)", rank_correlation("H_min", "test acc")),
        ("negative_in_residual", "the book's own hypothesis, not the paper's: the negative curvature (R's) grows with "
         "the class's unfitted training loss (rank correlation of |lambda_min(R)| with the loss within each run, the "
         "runs of a seed averaged)", rank_correlation("R_min", "loss", "abs")),
    ]
    return pd.DataFrame([{"key": key, **rule.claim_row(text, per_seed(rows, fn), "raises")}
                         for key, text, fn in specs]).set_index("key")


AFTER_DATA_IDS = catalog.AFTER_DATA_IDS


def after_data_family(scale: str) -> str:
    """The name of a scale's family of AFTER_DATA_IDS (Holm within its three claims)."""
    return f"the paper's radius, {scale} (added after its data)"


def after_data_claims(rows: pd.DataFrame, found: dict, large_rho: float = grid.MECHANISM_RHO,
                      scale: str | None = None) -> pd.DataFrame:
    """AFTER_DATA_IDS judged by the one rule, each paired by seed (SAM at `large_rho` minus CE+DRW), with Holm's
    correction within them (rule.holm_within over `scale`'s family after_data_family, where it is declared): the
    tail group's mean |lambda_min/lambda_max| of H from the split `rows` (lowers, Fig. 3B)
    and the tail and overall test accuracy at the last epoch of the runs `found` ((rho, seed) -> record; raises,
    Table 1)."""
    ratio = {}
    if not rows.empty:
        per_run = rows.assign(ratio=(rows["H_min"] / rows["H_max"]).abs()).groupby(["seed", "rho"])["ratio"].mean()
        ratio = {int(s): float(per_run[(s, large_rho)] - per_run[(s, 0.0)]) for s in sorted(set(rows["seed"]))
                 if {(s, large_rho), (s, 0.0)} <= set(per_run.index)}

    def accuracy(metric: str) -> dict:
        out = {}
        for (rho, seed), record in found.items():
            sides = (scorecard.metric_value(record, metric), scorecard.metric_value(found.get((0.0, seed)), metric))
            if rho == large_rho and None not in sides:
                out[int(seed)] = sides[0] - sides[1]
        return out
    specs = [("sam_large_rho_ratio", f"SAM at the paper's rho {large_rho:g} lowers the tail group's "
              "|lambda_min/lambda_max| under CE+DRW's (Fig. 3B; H's extremes from the split)", ratio, "lowers"),
             ("large_rho_tail_acc", f"SAM at rho {large_rho:g} raises CE+DRW's tail test accuracy (last epoch)",
              accuracy("tail"), "raises"),
             ("large_rho_acc", f"SAM at rho {large_rho:g} raises CE+DRW's overall test accuracy (last epoch)",
              accuracy("acc"), "raises")]
    frame = pd.DataFrame([{"key": key, **rule.claim_row(text, diffs, kind)}
                          for key, text, diffs, kind in specs]).set_index("key")
    family = after_data_family(scale) if scale is not None else None
    return rule.holm_within(family, frame) if family in catalog.FAMILIES else rule.holm_verdicts(frame)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds and tail classes per radius: what the chapter's table shows (empty without rows: a scale
    whose split is not recorded)."""
    if rows.empty:
        return pd.DataFrame()
    columns = ["images", "train acc", "test acc", "loss", "grad_norm", "H_min", "G_min", "R_min", "H_max",
               "lambda_min_over_grad"]
    table = rows.groupby("rho")[columns].mean()
    table.insert(0, "runs", rows.groupby("rho")["seed"].nunique())
    return table


def regime_calibration(root=None) -> list[dict]:
    """Every regime candidate's pilot as recorded: its scale, CE+DRW's and CE+DRW+SAM's (rho 0.5) tail training
    accuracy at the last epoch, and the pair's one-thread minutes (the records' wall times); None where a run is
    not recorded yet."""
    rows = []
    for candidate in grid.REGIME_CANDIDATES:
        found = {m: find_record(grid.protocol_config(m, candidate, seed=grid.REGIME_RULE["seed"],
                                                rho=grid.sam_rho(m, grid.REGIME_RULE["rho"])), root) for m in grid.CONTROL_METHODS}
        fit = {m: None if r is None else round(train_group_accuracy(r, "tail"), 1) for m, r in found.items()}
        minutes = {m: None if r is None else round(r["provenance"]["wall_time_s"] / 60, 1) for m, r in found.items()}
        rows.append({"scale": candidate, "CE+DRW tail fit": fit["CE+DRW"], "CE+DRW+SAM tail fit": fit["CE+DRW+SAM"],
                     "CE+DRW minutes": minutes["CE+DRW"], "CE+DRW+SAM minutes": minutes["CE+DRW+SAM"]})
    return rows


def regime_choice(rows: list[dict]) -> tuple[str | None, bool]:
    """The rule (grid.select_regime_scale) on the candidates whose pilot pair is recorded, once it is decided: a
    qualifying candidate cheaper than every unrecorded one's expected cost is not known here, so the choice waits
    until either the cheapest recorded candidate qualifies and no other is cheaper, or every pilot is recorded.
    Returns (candidate or None while undecided, whether it qualified)."""
    done = [r for r in rows if None not in (r["CE+DRW tail fit"], r["CE+DRW+SAM tail fit"])]
    if not done:
        return None, False
    fit = {r["scale"]: (r["CE+DRW tail fit"], r["CE+DRW+SAM tail fit"]) for r in done}
    minutes = {r["scale"]: r["CE+DRW minutes"] + r["CE+DRW+SAM minutes"] for r in done}
    choice, qualified = grid.select_regime_scale(fit, minutes)
    cheaper_first = grid.REGIME_CANDIDATES.index(choice) == 0  # candidates are declared in order of expected cost
    return (choice, qualified) if len(done) == len(rows) or (qualified and cheaper_first) else (None, False)


def regime_text(rows: list[dict]) -> str:
    """The calibration in a sentence: each candidate's pilot, then what the rule decides."""
    def one(r):
        if r["CE+DRW tail fit"] is None and r["CE+DRW+SAM tail fit"] is None:
            return f"{r['scale']}: not trained"
        parts = [f"CE+DRW fits {r['CE+DRW tail fit']}% of the tail" if r["CE+DRW tail fit"] is not None
                 else "CE+DRW not trained",
                 f"CE+DRW+SAM at rho {grid.REGIME_RULE['rho']:g} {r['CE+DRW+SAM tail fit']}%"
                 if r["CE+DRW+SAM tail fit"] is not None else "CE+DRW+SAM not trained yet"]
        cost = [m for m in (r["CE+DRW minutes"], r["CE+DRW+SAM minutes"]) if m is not None]
        return f"{r['scale']}: " + ", ".join(parts) + f" ({' + '.join(f'{m:g}' for m in cost)} min on one thread)"
    choice, qualified = regime_choice(rows)
    regime_rule = grid.REGIME_RULE
    verdict = ("the rule is not decided yet (a pilot is missing)" if choice is None else
               f"the rule chooses {choice}" if qualified else
               f"no candidate reaches {regime_rule['sgd_tail_fit']:g}% / {regime_rule['sam_tail_fit']:g}%: the rule falls back to "
               f"{choice}, the highest SAM tail fit, and the paper's regime is not reached")
    return "; ".join(one(r) for r in rows) + f". So {verdict}."


def split_texts(rows: pd.DataFrame, large_rho: float = grid.MECHANISM_RHO) -> dict:
    """The numbers chapter 2 quotes from the split, per radius ('sgd', 'tuned', 'large'): lambda_min of H and R,
    the gradient norm, the tail's training fit and test accuracy; 'n/a' where a radius has no records."""
    texts = {f"split_{key}_{name}": "n/a" for key in ("sgd", "tuned", "large")
             for name in ("hmin", "rmin", "grad", "fit", "test")}
    texts.update(split_g_min="n/a", split_runs="0")
    if rows.empty:
        return texts
    table = summary(rows)
    for r, values in table.iterrows():
        key = "sgd" if r == 0 else "large" if r == large_rho else "tuned"
        for column, name in (("H_min", "hmin"), ("R_min", "rmin"), ("grad_norm", "grad"), ("train acc", "fit"),
                             ("test acc", "test")):
            texts[f"split_{key}_{name}"] = f"{values[column]:.3g}"
    runs = table["runs"].to_dict()
    texts.update(split_g_min=f"{rows['G_min'].min():.1g}",
                 split_runs=", ".join(f"{n} seed{'s' * (n != 1)} " + ("of CE+DRW" if r == 0 else f"of SAM at rho {r:g}")
                                      for r, n in runs.items()))
    return texts


def recorded_runs_and_rows(scale: str) -> tuple[dict, pd.DataFrame, float | None]:
    """The validated runs found at the tuned radius and the paper's, their split_rows from the analysis records that
    exist (nothing trained or computed), and the tuned radius (None, no runs and no rows, while it is not tuned)."""
    from .notebook import chapter_settings
    seeds, iters = chapter_settings(scale, validated_seeds=None, iters=None)
    rho = grid.protocol_rho(SAM, scale, "validated")
    if rho is None:
        return {}, pd.DataFrame(), None
    found = runs(scale, seeds, sorted({rho, grid.MECHANISM_RHO}))
    return found, split_rows(found, iters=iters), rho


def recorded_rows(scale: str) -> tuple[pd.DataFrame, float | None]:
    """split_rows from the analysis records that exist (nothing trained or computed), on the validated seeds at
    the tuned radius and the paper's, and the tuned radius (None, and no rows, while it is not tuned)."""
    _, rows, rho = recorded_runs_and_rows(scale)
    return rows, rho


def recorded_claims(scale: str) -> pd.DataFrame:
    """Chapter 2's curvature-split claims from the analysis records that exist (saddle_story.recorded_mechanism adds
    the spectra's)."""
    rows, rho = recorded_rows(scale)
    return claims(rows, grid.MECHANISM_RHO if rho is None else rho)


def summary_across_scales(scales) -> pd.DataFrame:
    """summary() of each scale's recorded rows, one block of radii per scale (scales without records left out)."""
    tables = {scale: summary(rows) for scale in scales for rows in [recorded_rows(scale)[0]] if not rows.empty}
    return pd.concat(tables, names=["scale"]) if tables else pd.DataFrame()
