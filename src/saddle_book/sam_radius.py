"""The radius SAM is given, as chapters 4, 6 and 8 read it: the paper's recipe for rho off Fig. 4's runs, Table 5's
radius beside the one tuned on validation (and the tuning runs behind it), and whether each method fits its tail at
either."""
from __future__ import annotations

import pandas as pd

from saddle import runner
from saddle.grid import SAM_METHODS, TUNE_GRID, table5_rho, tuned_rho, tuning_plan, tuning_sweep, tuning_table
from saddle.results import train_group_accuracy

from .page_tables import and_list
from .rule import seeds_phrase


def recipe_texts(guidance) -> dict:
    """The numbers chapter 6 quotes from recipe_guidance's first data set: the radius the recipe picks, how much
    accuracy it leaves to the best radius in hindsight, and that radius."""
    if not len(guidance):
        return {key: "not run here" for key in ("recipe_rho", "recipe_gap", "best_rho")}
    g = guidance.iloc[0]
    return {"recipe_rho": f"{g['recipe picks']:g}", "recipe_gap": f"{g['best acc'] - g['its acc']:.1f}",
            "best_rho": f"{g['best rho']:g}"}


def recipe_guidance(ours):
    """The paper's recipe for rho read off Fig. 4's runs (rows with data, rho, acc, tail): walk up the radii from
    0.05 and stop before the first one whose mean accuracy drops; beside it the best radius in hindsight (chosen
    on test numbers, so a reference only, never a choice) and SGD's accuracy."""
    import pandas as pd
    rows = []
    for name, group in ours.groupby("data") if len(ours) else []:
        mean = group.groupby("rho")[["acc", "tail"]].mean()
        radii = [r for r in sorted(mean.index) if r >= 0.05]
        if not radii:
            continue
        drops = [previous for previous, current in zip(radii, radii[1:])
                 if mean.loc[current, "acc"] < mean.loc[previous, "acc"]]
        chosen = drops[0] if drops else radii[-1]
        best = mean["acc"].idxmax()
        rows.append({"data": name, "radii tried": ", ".join(f"{r:g}" for r in radii), "recipe picks": chosen,
                     "its acc": mean.loc[chosen, "acc"], "its tail": mean.loc[chosen, "tail"],
                     "best rho": best, "best acc": mean.loc[best, "acc"], "best tail": mean.loc[best, "tail"],
                     "SGD acc": mean.loc[0.0, "acc"] if 0.0 in mean.index else None})
    return pd.DataFrame(rows)


def tail_fit(records, dataset: str):
    """Mean tail training accuracy (no augmentation, end of training) and seed count per method on `dataset`:
    did the method fit its tail?"""
    import pandas as pd
    rows = [(r["label"], train_group_accuracy(r, "tail")) for r in records
            if r is not None and r["status"] == "complete" and r["config"]["dataset"] == dataset]
    return pd.DataFrame(rows, columns=["method", "fit"]).groupby("method")["fit"].agg(["mean", "count"])


def fit_text(fits, method: str) -> str:
    """'55% (3 seeds)' from tail_fit(), or 'no runs yet' ('not run here' names a verdict)."""
    if method not in fits.index:
        return "no runs yet"
    return f"{fits.loc[method, 'mean']:.0f}% ({seeds_phrase([fits.loc[method, 'count']])})"


def fit_percent(fits, method: str) -> str:
    """'55%' from tail_fit(), or 'not run here' when `method` has no complete run."""
    return f"{fits.loc[method, 'mean']:.0f}%" if method in fits.index else "not run here"


def fit_texts(fits, prefix: str, methods=("CE+DRW", "CE+DRW+SAM")) -> dict:
    """fit_percent of each of `methods`, glued as `prefix` + the method in lower case ('fit_ce_drw_sam')."""
    return {prefix + m.lower().replace("+", "_"): fit_percent(fits, m) for m in methods}


def tuned_radii(methods, scale: str, dataset: str) -> dict:
    """The radius tuned on validation for each SAM method among `methods` (None: tuning incomplete)."""
    return {m: tuned_rho(m, scale, dataset=dataset) for m in SAM_METHODS if m in methods}


def fit_table(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit):
    """Per SAM method: Table 5's radius and the tail it fits there, beside the radius tuned on validation (None:
    tuning incomplete) and the tail it fits there: where the two protocols part."""
    import pandas as pd
    return pd.DataFrame([{"method": m, "Table 5 rho": table5_rho(m, dataset),
                          "tail fitted (Table 5 rho)": fit_text(paper_fit, m),
                          "tuned rho (validation)": "tuning incomplete" if r is None else r,
                          "tail fitted (tuned rho)": fit_text(tuned_fit, m)} for m, r in tuned_rhos.items()]
                        ).set_index("method")


def fit_pair(method: str, tuned: float, table5: float, paper_fit, tuned_fit) -> str:
    """A SAM method's tail fit at Table 5's radius and at its tuned one, in a phrase."""
    where = "the same radius on the validated protocol" if tuned == table5 else f"the tuned {tuned:g}"
    return f"{method} {fit_text(paper_fit, method)} at Table 5's {table5:g}, {fit_text(tuned_fit, method)} at {where}"


def fit_pairs(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit) -> str:
    """fit_pair for every SAM method with a tuned radius and runs on both protocols, joined; or why there is none."""
    pairs = [fit_pair(m, r, table5_rho(m, dataset), paper_fit, tuned_fit) for m, r in tuned_rhos.items()
             if r is not None and m in tuned_fit.index and m in paper_fit.index]
    return "; ".join(pairs) or "no SAM method has runs on both protocols yet"


def fit_answer(tuned_fit, methods, bar: float = 90) -> str:
    """Which of `methods` fit their tail at the tuned radius, with `bar`% of the tail's training images as the bar."""
    have = [m for m in methods if m in tuned_fit.index]
    if not have:
        return "no SAM method has runs on the validated protocol yet"
    fitting = [m for m in have if tuned_fit.loc[m, "mean"] >= bar]
    short = [m for m in have if tuned_fit.loc[m, "mean"] < bar]
    parts = (f"{and_list(fitting)} {'fit their' if len(fitting) > 1 else 'fits its'} tail at the tuned radius"
             if fitting else "", f"{and_list(short)} still {'fall' if len(short) > 1 else 'falls'} short of it"
             if short else "")
    return f"at {bar:g}% of the tail's training images as the bar, " + "; ".join(p for p in parts if p)


def edge_sentence(tuned: dict) -> str:
    """A sentence on tuned radii (method -> rho or None) that sit at the smallest value their grid tried: there the
    best radius may lie below the grid, which a reader of the tuned table should know."""
    at_edge = [m for m, rho in tuned.items() if rho is not None and rho == min(TUNE_GRID[m])]
    if not at_edge:
        return "No tuned radius lies at the lower edge of its grid."
    return (f"{', '.join(at_edge)} chose the smallest radius tried ({', '.join(f'{tuned[m]:g}' for m in at_edge)}): "
            "a smaller one was not tried, so the best radius may lie below the grid.")


def tuning_runs(scale: str, dataset: str, methods=("CE+DRW", "CE+DRW+SAM")) -> dict:
    """{(rho, seed): record or None} of the tuning grid's `methods` on `dataset` (rho 0 for SGD), read only: the
    tuning runs are trained by `grid tune`, never by a chapter."""
    configs = tuning_sweep(scale, dataset, methods)
    found = runner.records(list(configs.values()))
    return {key: found[c.run_id] for key, c in configs.items()}


def tuning_rows(methods, scale: str, dataset: str | None = None, root=None, mean: bool = False) -> list[dict]:
    """Each tuning run's final validation accuracy, a row per (method, rho) with a column per tuning seed (`mean`:
    one column, their mean, 'not run yet' until every seed has run; chapter 8's) and an arrow at the radius
    select_rho chose (chapter 6's tuning table)."""
    rows = []
    for method in methods:
        chosen = tuned_rho(method, scale, root=root, dataset=dataset)
        seeds = tuning_plan(method, scale)[1]
        for rho, accs in tuning_table(method, scale, root=root, dataset=dataset).items():
            values = {"mean val acc": "not run yet" if None in accs else f"{sum(accs) / len(accs):.2f}"} if mean \
                else {f"val acc, seed {s}": a for s, a in zip(seeds, accs)}
            rows.append({"method": method, "rho": rho, **values, "chosen": "<- tuned" if rho == chosen else ""})
    return rows


def radii_table(methods, scale: str, dataset: str):
    """Each SAM method's radius: Table 5's (CIFAR-10; 'none' for the methods after the paper) beside the one tuned
    on validation here ('tuning incomplete' until its tuning grid is recorded)."""
    return pd.DataFrame([{"method": m, "Table 5 (CIFAR-10)": table5_rho(m, "cifar10") if m in SAM_METHODS else "none",
                          "tuned here": tuned_rho(m, scale, dataset=dataset) or "tuning incomplete"}
                         for m in methods]).set_index("method")
