"""What several chapters read from class spectra records (spectra.run_spectra's dicts): a spectral statistic of a
class or a group, per seed; the paired claims on whole groups (chapter 2, and chapter 4's CIFAR mechanism) as
(key, text, {seed: difference}, kind) for rule.Verdicts to judge, each averaging over the whole group on every seed
that has its spectra; and tail lambda_min against tail accuracy (chapters 6 and 8)."""
from __future__ import annotations

import pandas as pd

from saddle.hessian import Spectrum


def stat(result: dict, c, key: str) -> float:
    """One spectral statistic (lambda_min, lambda_max or ratio) of class `c` (or AVERAGE) in a spectra record."""
    return getattr(Spectrum.from_dict(result["spectra"][str(c)]), key)


def group_stat(result: dict, members, key: str) -> float:
    """Mean of a spectral statistic over a group's classes."""
    return sum(stat(result, c, key) for c in members) / len(members)


def per_seed(spectra_by_seed: dict, fn) -> dict:
    """seed -> fn(that seed's spectra), for the seeds where fn has what it needs (a missing record is None)."""
    out = {}
    for s, got in spectra_by_seed.items():
        try:
            out[s] = fn(got)
        except (TypeError, KeyError):  # spectra missing for this seed
            pass
    return out


def group_claims(spectra_by_seed: dict, groups: dict, n_classes: int) -> list[tuple]:
    """The paired claims on whole groups, every seed with spectra: spectra_by_seed[seed][method] holds 'all'
    (every class) and 'tail' (tail classes only) spectra records, None where missing."""
    tail, head, every = groups["tail"], groups["head"], list(range(n_classes))

    def change(which, members, key):
        return per_seed(spectra_by_seed, lambda g: group_stat(g["CE+DRW+SAM"][which], members, key)
                        - group_stat(g["CE+DRW"][which], members, key))

    def gradient(result, members):
        return sum(result["at_point"][str(c)]["grad_norm"] for c in members) / len(members)

    return [
        ("tail_saddle", "tail classes end at larger |lambda_min/lambda_max| than head classes (CE+DRW)",
         per_seed(spectra_by_seed, lambda g: group_stat(g["CE+DRW"]["all"], tail, "ratio")
                  - group_stat(g["CE+DRW"]["all"], head, "ratio")), "raises"),
        ("tail_stationary", "the tail classes end with a smaller class gradient norm than the head classes (CE+DRW; "
         "the paper reads a low gradient there as a stationary saddle)",
         per_seed(spectra_by_seed, lambda g: gradient(g["CE+DRW"]["all"], tail) - gradient(g["CE+DRW"]["all"], head)),
         "lowers"),
        ("sam_ratio", "SAM lowers the tail group's |lambda_min/lambda_max|", change("tail", tail, "ratio"), "lowers"),
        ("sam_flatter", "SAM lowers the head group's lambda_max", change("all", head, "lambda_max"), "lowers"),
        ("sam_tail_max", "SAM lowers the tail group's lambda_max", change("tail", tail, "lambda_max"), "lowers"),
        ("sam_tail_min", "SAM raises the tail group's lambda_min (less negative curvature)",
         change("tail", tail, "lambda_min"), "raises"),
        ("sam_shrinks_all", "SAM raises lambda_min toward zero, shrinking |lambda_min| (mean over all classes)",
         change("all", every, "lambda_min"), "raises"),
    ]


def curvature_points(curvature: pd.DataFrame, runs: dict, epoch_rule: str = "final") -> tuple[pd.DataFrame, float]:
    """One point per run (radius, seed): the tail group's mean lambda_min beside the run's tail test accuracy at
    epoch rule `epoch_rule` (runs: (rho, seed) -> record); and the rank (Spearman) correlation of the two, computed
    without scipy."""
    per_run = curvature.groupby(["rho", "seed"]).agg(lambda_min=("lambda_min", "mean")).reset_index()
    per_run["tail acc"] = [runs[(r, s)]["metrics"][epoch_rule]["tail"] for r, s in zip(per_run["rho"], per_run["seed"])]
    return per_run, per_run["lambda_min"].rank().corr(per_run["tail acc"].rank())


def correlation_words(correlation: float) -> tuple[str, str]:
    """The rank correlation as the text says it, and what it reads as (undefined with fewer than two runs)."""
    if pd.isna(correlation):
        return "not defined", "too few runs to rank"
    return f"{correlation:+.2f}", ("less negative curvature goes with lower tail accuracy" if correlation < 0
                                   else "less negative curvature goes with higher tail accuracy")


def curvature_reading(curvature: pd.DataFrame, runs: dict, epoch_rule: str, key: str,
                      within_seed: bool = False) -> tuple[pd.DataFrame | None, dict]:
    """Chapter 6's reading of tail lambda_min against tail accuracy: the points (None without spectra) and the texts
    `key`_rank, `key`_runs, `key`_reading (and `key`_within_seed: the correlation over each seed's radii)."""
    if not len(curvature):
        return None, {f"{key}_rank": "not computed", f"{key}_runs": 0, f"{key}_reading": "no spectra to compare"} | (
            {f"{key}_within_seed": "not computed"} if within_seed else {})
    points, correlation = curvature_points(curvature, runs, epoch_rule)
    rank, reading = correlation_words(correlation)
    texts = {f"{key}_rank": rank, f"{key}_runs": len(points), f"{key}_reading": reading}
    if within_seed:
        texts[f"{key}_within_seed"] = "; ".join(
            f"seed {s}: {correlation_words(curvature_points(group, runs, epoch_rule)[1])[0]}"
            for s, group in curvature.groupby("seed"))
    return points, texts


def tail_lambda_min_by_seed(curvature: pd.DataFrame, method: str) -> dict:
    """seed -> the tail group's mean lambda_min for one method (seeds with spectra only)."""
    rows = curvature[curvature["method"] == method] if len(curvature) else curvature
    return rows.groupby("seed")["lambda_min"].mean().to_dict() if len(rows) else {}
