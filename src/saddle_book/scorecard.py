"""The paper's claims about accuracy judged at a scale, and its tables side by side with ours.

A claim compares a method with its baseline on one metric of one table ('SAM raises CE+DRW's tail accuracy',
Table 1). The paper's side comes from its tables (book/data/paper_results.json), ours from the run records, and
the verdict from the one rule (saddle_book.rule). At the cpu scale the data set is Fashion-MNIST-LT, not
CIFAR: only differences between methods are compared, never the absolute accuracies."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from saddle import grid, runner
from saddle.checks import check_choice
from saddle.results import load_records, train_group_accuracy
from .catalog import (Average, CLAIMS, Claim, FAMILIES, HEADLINE_ID, PAPER_DATASET, accuracy_family, claim_margin,
                      family_claims, paper_results, sam_claim)
from .rule import UNTESTED, claim_row, holm_within, interval_text, judge, seeds_phrase, verdict


# Fig. 4 as the paper's text gives it (Sec. 5.2, CIFAR-10-LT, CE+DRW+SAM): tail accuracy about 63 % at rho 0.05 and
# 73 % at rho 0.8; the other points of the figure are not printed. Rho 0 and 0.5 are Table 1's CE+DRW(+SAM).
FIGURE4_PAPER = {0.05: {"tail": 63.0}, 0.8: {"tail": 73.0}}


def assess_average(average: Average, scale: str, dataset: str, seeds: dict, records: dict,
                   epoch_rule: str = "final") -> dict:
    """A verdict row for an Average: per seed, the mean of that seed's paired gains over the cells (a seed counts
    only where every cell has both runs), judged by the one rule; the paper's side is the same mean over its
    own cells (Table 8's for CIFAR-100). seeds: table number -> seeds, as for `assess`."""
    by_cell = []
    paper = []
    for table, method, profile, imbalance in average.cells:
        gains = [seed_values(m, scale, dataset, seeds[table], records, average.metric, epoch_rule, profile, imbalance)
                 for m in (f"{method}+SAM", method)]
        by_cell.append({s: gains[0][s] - gains[1][s] for s in set(gains[0]) & set(gains[1])})
        sides = [paper_value(m, table, dataset, average.metric, profile, imbalance) for m in (f"{method}+SAM", method)]
        paper.append(None if None in sides else sides[0] - sides[1])
    seeds_all = set.intersection(*(set(c) for c in by_cell))
    row = claim_row(average.text, {s: sum(c[s] for c in by_cell) / len(by_cell) for s in seeds_all}, "raises",
                    None if None in paper else round(sum(paper) / len(paper), 2))
    return {**row, "table": average.source, "metric": average.metric}


# Table 5's rho on the fixed subset; rho tuned on validation, subsets resampled; and the class-order control: the
# tuned protocol with Fashion-MNIST's classes in their natural order (CE+DRW and CE+DRW+SAM only, grid.order_control)
PROTOCOLS = ("paper", "validated", "control")


def run_config(method: str, scale: str, dataset: str, seed: int, profile: str = "exp", imbalance: float = 100.0,
               rho: float | None = None, protocol: str = "paper", records_root=None, precision: str = "fp32"):
    """The RunConfig a claim reads for one seed: the paper's protocol (grid.method_config), the validated one
    (grid.protocol_config at the tuned rho; None while that rho's tuning is incomplete) or its class-order control
    (the same in the natural class order); `precision`'s runs (bf16 runs are runs of their own)."""
    if protocol == "paper":
        return grid.method_config(method, scale, dataset=dataset, profile=profile, imbalance=imbalance, seed=seed,
                                  rho=rho, precision=precision)
    check_choice("protocol", protocol, PROTOCOLS)
    if profile != "exp" or imbalance != 100.0 or rho is not None:
        return None  # the validated protocol runs Table 1 only
    if "SAM" in method:
        rho = grid.tuned_rho(method, scale, root=records_root, dataset=dataset)
        if rho is None:
            return None
    order = {"class_order": "natural"} if protocol == "control" else {}
    return grid.protocol_config(method, scale, seed=seed, rho=rho, dataset=dataset, precision=precision, **order)


def complete_runs(methods, scale: str, dataset: str, seeds, records: dict, protocol: str = "validated"):
    """(method, seed, record) of every complete run of `methods` on `seeds` among `records` (run id -> record)."""
    for method in methods:
        for seed in seeds:
            config = run_config(method, scale, dataset, seed, protocol=protocol)
            record = records.get(config.run_id) if config else None
            if record and record["status"] == "complete":
                yield method, seed, record


def metric_value(record: dict | None, metric: str, epoch_rule: str = "final") -> float | None:
    """A completed record's test `metric` at the epoch rule `epoch_rule`, or None (missing, diverged, or no such
    epoch: best_val needs a validation split)."""
    if record is None or record.get("status") != "complete":
        return None
    picked = (record.get("metrics") or {}).get(epoch_rule)
    return None if picked is None else picked.get(metric)


def seed_values(method: str, scale: str, dataset: str, seeds, records: dict, metric: str, epoch_rule: str = "final",
                profile: str = "exp", imbalance: float = 100.0, rho: float | None = None,
                protocol: str = "paper", precision: str = "fp32") -> dict[int, float]:
    """seed -> the method's metric, for the seeds that have a completed record (of `precision`'s runs)."""
    values = {}
    for seed in seeds:
        config = run_config(method, scale, dataset, seed, profile, imbalance, rho, protocol, precision=precision)
        value = metric_value(records.get(config.run_id) if config else None, metric, epoch_rule)
        if value is not None:
            values[seed] = value
    return values


def mean_std(values) -> tuple[float, float, int]:
    values = list(values)
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return mean, std, len(values)


def paper_table(table, dataset: str):
    """The paper's table for a data set: the imbalance tables are 7 for CIFAR-10 (and the cpu scale), 8 for
    CIFAR-100."""
    return 8 if table == 7 and grid.RHO_COLUMN[dataset] == "cifar100" else table


def paper_value(method: str, table, dataset: str, metric: str, profile: str = "exp",
                imbalance: float = 100.0, rho: float | None = None) -> float | None:
    """A number of the paper's tables (the CIFAR-10 column stands in for the 10-class cpu scale), or of Fig. 4
    (table 'fig4', by rho)."""
    if table == "fig4":
        if rho is None or "SAM" not in method or rho == grid.table5_rho(method, dataset):
            return paper_value(method, 1, dataset, metric, profile, imbalance)
        return FIGURE4_PAPER.get(rho, {}).get(metric) if grid.RHO_COLUMN[dataset] == "cifar10" else None
    if table == "beyond":
        return None  # the paper has no such method
    rows = paper_results(table=paper_table(table, dataset), dataset=PAPER_DATASET[grid.RHO_COLUMN[dataset]],
                              imbalance="LT" if profile == "exp" else "step", beta=int(imbalance),
                              method=method.replace("+", " + "))
    return rows[0]["metrics"].get(metric) if rows else None


def assess(claim: Claim, scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final",
           protocol: str = "paper", precision: str = "fp32") -> dict:
    """One row of the scorecard: the paper's difference, ours paired by seed (mean, 95% interval, seeds that
    agree), and the verdict of the one rule. `seeds`: a list, or a dict from table number to list."""
    table = paper_table(claim.table, dataset)
    if isinstance(seeds, dict):
        seeds = seeds[claim.table]
    sides = ((claim.method, claim.rho), (claim.baseline, claim.baseline_rho))
    paper = [paper_value(m, table, dataset, claim.metric, claim.profile, claim.imbalance, rho) for m, rho in sides]
    paper = None if None in paper else round(paper[0] - paper[1], 2)
    row = {"id": claim.id, "claim": claim.text, "table": table, "metric": claim.metric, "kind": claim.kind,
           "paper": paper}
    a, b = (seed_values(m, scale, dataset, seeds, records, claim.metric, epoch_rule, claim.profile, claim.imbalance, rho,
                        protocol, precision) for m, rho in sides)
    paired = sorted(set(a) & set(b))
    if not paired:
        return {**row, "ours": None, "low": None, "high": None, "seeds": 0, "agree": 0, "ratio": None,
                "size": None, "margin": None, "p": math.nan, "p (sign-flip)": math.nan, "verdict": "not run here",
                "seeds needed": None}
    return {**row, **judge([a[s] - b[s] for s in paired], claim.kind, paper, claim_margin(claim))}


def assess_all(claims, scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final",
               protocol: str = "paper", precision: str = "fp32") -> pd.DataFrame:
    """The claims' verdict rows, raw: no Holm's correction, which runs within a declared family only
    (assess_family). For claims of no declared family (chapter 4's radius of one's own) and for the raw verdicts a
    page compares. Both sides of every claim are `precision`'s runs."""
    return pd.DataFrame([assess(c, scale, dataset, seeds, records, epoch_rule, protocol, precision) for c in claims])


def family_runs(claims, scale: str, dataset: str, seeds, protocol: str = "paper", precision: str = "fp32") -> list:
    """The RunConfigs the claims read on `seeds` (a list, or table -> list), both sides, as `assess` finds them."""
    configs = []
    for claim in claims:
        on = seeds[claim.table] if isinstance(seeds, dict) else seeds
        for method, rho in ((claim.method, claim.rho), (claim.baseline, claim.baseline_rho)):
            for seed in on:
                config = run_config(method, scale, dataset, seed, claim.profile, claim.imbalance, rho, protocol,
                                    precision=precision)
                if config is not None:
                    configs.append(config)
    return configs


def _stored(config) -> dict | None:
    """A run's record as the store holds it, never trained; a damaged one counts as missing, with a warning (as the
    chapters' own reading does)."""
    import warnings

    from saddle.results import RecordError, find_record
    try:
        return find_record(config)
    except RecordError as exc:
        warnings.warn(f"skipped: {exc}", stacklevel=3)
        return None


def assess_family(claims, scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final",
                  protocol: str = "paper", precision: str = "fp32") -> pd.DataFrame:
    """The rows of `claims`, in their order, each with its Holm-adjusted p and verdict within its declared family
    (catalog.accuracy_family; every claim given must share one): the whole family is assessed and corrected
    (rule.holm_within), whichever part of it a page shows, so that a claim's adjusted p is the same on every page.
    `seeds`: a list, or table -> list (summary.paper_seeds), covering every table of the family. `records`: the
    runs a page has read (run id -> record or None); the family's runs it lacks are read here from the store,
    never trained (results.find_record), so a page that loaded its own tables only still corrects over the whole
    family."""
    claims = list(claims)
    families = {accuracy_family(c.id, scale, protocol) for c in claims}
    if len(families) != 1:
        raise ValueError(f"the claims belong to {len(families)} declared families ({', '.join(sorted(families))}); "
                         "assess each family on its own")
    family = families.pop()
    every = family_claims(family)
    lacking = sorted({str(c.table) for c in every if isinstance(seeds, dict) and c.table not in seeds})
    if lacking:
        raise ValueError(f"the family {family!r} has claims of table(s) {', '.join(lacking)}, for which `seeds` names "
                         "none: pass the seeds of every table of the family (summary.paper_seeds)")
    missing = [c for c in family_runs(every, scale, dataset, seeds, protocol, precision) if c.run_id not in records]
    if missing:
        records = {**records, **{c.run_id: _stored(c) for c in missing}}
    frame = holm_within(family, assess_all(every, scale, dataset, seeds, records, epoch_rule, protocol, precision))
    position = {i: n for n, i in enumerate(frame["id"])}
    return frame.iloc[[position[c.id] for c in claims]].reset_index(drop=True)


def headline_variants(family: pd.DataFrame, scale: str, dataset: str, tuned_rho: float, root=None) -> pd.DataFrame:
    """The headline (SAM raises CE+DRW's tail, validated protocol) at each radius (the tuned one, then
    grid.HEADLINE_RHOS), epoch rule (final, best_val) and seed count (the 5 protocol seeds; 10 where seeds 5-9 are
    recorded), each with its raw verdict and its Holm verdict within its declared family, `accuracy, validated
    protocol` (`family`: that family's rows at the final epoch as assess_family gives them, every claim of it; the
    headline's p replaced by the variant's, rule.holm_within): how far the headline depends on choices a reader
    could have made otherwise."""
    from saddle.results import find_record

    declared = "accuracy, validated protocol"
    if sorted(family["id"]) != sorted(FAMILIES[declared]):
        raise ValueError(f"headline_variants corrects within the whole family {declared!r}; got the claims "
                         f"{list(family['id'])}")
    position = list(family["id"]).index(HEADLINE_ID)
    paper = family["paper"].iloc[position]
    rows = []
    for rho in dict.fromkeys((tuned_rho, *grid.HEADLINE_RHOS)):
        for seeds in (grid.PROTOCOL_SEEDS, grid.PROTOCOL_SEEDS + grid.EXTRA_SEEDS):
            pairs = {s: (find_record(grid.protocol_config("CE+DRW+SAM", scale, seed=s, rho=rho, dataset=dataset), root),
                         find_record(grid.protocol_config("CE+DRW", scale, seed=s, dataset=dataset), root))
                     for s in seeds}
            if len(seeds) > len(grid.PROTOCOL_SEEDS) and not all(a and b for a, b in pairs.values()):
                continue  # ten seeds only where all ten are recorded
            for epoch_rule in ("final", "best_val"):
                diffs = {s: metric_value(a, "tail", epoch_rule) - metric_value(b, "tail", epoch_rule)
                         for s, (a, b) in pairs.items()
                         if metric_value(a, "tail", epoch_rule) is not None and metric_value(b, "tail", epoch_rule) is not None}
                row = claim_row("SAM raises CE+DRW's tail accuracy", diffs, "raises", paper)
                variant = family[["id", "p", "verdict"]].reset_index(drop=True)
                variant.loc[position, ["p", "verdict"]] = [row["p"], row["verdict"]]
                adjusted = holm_within(declared, variant).iloc[position]
                rows.append({"rho": rho, "epoch": epoch_rule, "seeds": row["seeds"], "ours": row["ours"],
                             "low": row["low"], "high": row["high"], "p": row["p"], "verdict": row["verdict"],
                             "p (Holm)": adjusted["p (Holm)"], "verdict (Holm)": adjusted["verdict (Holm)"],
                             "validated": rho == tuned_rho})
    return pd.DataFrame(rows)


def side_by_side(methods, scale: str, dataset: str, seeds, records: dict, table: int, metrics=("acc", "head",
                 "mid", "tail"), profile: str = "exp", imbalance: float = 100.0, epoch_rule: str = "final",
                 protocol: str = "paper", rho: float | None = None, precision: str = "fp32") -> pd.DataFrame:
    """A table as the paper prints it, ours (mean +- std over seeds) next to the paper's, one row per method.
    rho: read every SAM method at this radius (paper protocol) instead of Table 5's; the paper column stays its
    own (Table 5's radius). precision: whose runs (one precision per table, never mixed)."""
    rows = []
    for method in methods:
        row = {"method": method}
        for metric in metrics:
            values = seed_values(method, scale, dataset, seeds, records, metric, epoch_rule, profile, imbalance,
                                 grid.sam_rho(method, rho), protocol, precision)
            if not values:
                ours = "not run here"
            else:
                mean, std, n = mean_std(values.values())
                ours = f"{mean:.1f}" + (f" ± {std:.1f}" if n > 1 else "")
            paper = paper_value(method, table, dataset, metric, profile, imbalance)
            row[(metric, "ours")] = ours
            row[(metric, "paper")] = "" if paper is None else f"{paper:.1f}"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("method")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


# Each table's cells: (table, methods, metrics, profile, imbalances) and the row every other row is read against.
TABLE_LAYOUT = (
    (1, grid.METHODS, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (2, grid.METHODS, ("acc", "head", "tail"), "step", (100,)),
    (4, grid.BASELINES, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (7, ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM"), ("acc", "head", "mid", "tail"), "exp", grid.IMBALANCES),
)


REFERENCE = {1: "CE", 2: "CE", 4: "CE+DRW", 7: "CE+DRW"}


NOT_RUN_TABLES = {3: "ImageNet-LT and iNaturalist 2018 (chapter 5: no large-scale run here)",
                  9: "IB loss and PaCo (not implemented here)"}


# The data file keeps the main text's Table 3 (iNaturalist 2018 and ImageNet-LT side by side); the book numbers
# ImageNet-LT's rows as the appendix's Table 6, as chapter 5 does.
APPENDIX_TABLE = {"ImageNet-LT": 6}


def cell_kind(paper_difference: float, keep_below: float = 0.5) -> str:
    """What a table cell claims about its row against the reference row: raises, lowers, or (a paper difference
    under half a point) keeps."""
    return "keeps" if abs(paper_difference) < keep_below else "raises" if paper_difference > 0 else "lowers"


def cells(scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final", protocol: str = "paper"
          ) -> pd.DataFrame:
    """Every cell of the paper's CIFAR tables beside ours, each judged by the one rule. Off the paper's data (the
    cpu scale) a cell is its row's difference from the table's reference row (CE, or CE+DRW), paired by seed, and
    claims the paper's sign (cell_kind); on the paper's own data a cell claims to stay within 1 point of the
    paper's number. `seeds`: a list, or a dict from table number to list."""
    same_data = dataset in PAPER_DATASET
    rows = []
    for table, methods, metrics, profile, imbalances in TABLE_LAYOUT:
        table_seeds = seeds[table] if isinstance(seeds, dict) else seeds
        for b in imbalances:
            for method in methods:
                for metric in metrics:
                    rows.append(_cell(table, method, metric, profile, b, scale, dataset, table_seeds, records, epoch_rule,
                                      protocol, same_data))
    for table, why in NOT_RUN_TABLES.items():
        for r in paper_results(table=table):
            for metric, value in r["metrics"].items():
                rows.append({"table": APPENDIX_TABLE.get(r["dataset"], table), "data": r["dataset"],
                             "method": r["method"].replace(" + ", "+"), "profile": r["imbalance"],
                             "imbalance": r["beta"], "metric": metric, "paper": value, "ours": None, "std": None,
                             "seeds": 0, "verdict": "not run here"})
    return pd.DataFrame(rows)


def _cell(table, method, metric, profile, b, scale, dataset, seeds, records, epoch_rule, protocol, same_data) -> dict:
    paper = paper_value(method, table, dataset, metric, profile, b)
    paper_ref = paper_value(REFERENCE[table], table, dataset, metric, profile, b)
    values = seed_values(method, scale, dataset, seeds, records, metric, epoch_rule, profile, b, protocol=protocol)
    row = {"table": paper_table(table, dataset), "data": dataset, "method": method, "profile": profile, "imbalance": b,
           "metric": metric, "paper": paper, "ours": None, "std": None, "seeds": 0, "verdict": "not run here"}
    if not values:
        return row
    mean, std, n = mean_std(values.values())
    row.update(ours=round(mean, 2), std=None if n < 2 else round(std, 2), seeds=n)
    if same_data and paper is not None:
        row["verdict"] = verdict([v - paper for v in values.values()], "keeps", tolerance=1.0)
        return row
    if method == REFERENCE[table]:
        row["verdict"] = "reference"
        return row
    claim = _stated_claim(table, method, REFERENCE[table], metric, profile, b)
    if claim is not None:  # one verdict per comparison: the claim's hypothesis, on the same paired seeds
        row["verdict"] = assess(claim, scale, dataset, seeds, records, epoch_rule, protocol)["verdict"]
        return row
    reference = seed_values(REFERENCE[table], scale, dataset, seeds, records, metric, epoch_rule, profile, b,
                            protocol=protocol)
    paired = sorted(set(values) & set(reference))
    if paper is None or paper_ref is None:
        row["verdict"] = "no paper number"
    elif paired:
        row["verdict"] = verdict([values[s] - reference[s] for s in paired], cell_kind(paper - paper_ref))
    return row


def _stated_claim(table, method: str, baseline: str, metric: str, profile: str, imbalance: float) -> Claim | None:
    """The claim (at Table 5's radii) that states this cell's comparison in words, if one does."""
    return next((c for c in CLAIMS if (c.table, c.method, c.baseline, c.metric, c.profile, c.imbalance)
                 == (table, method, baseline, metric, profile, imbalance) and c.rho is None
                 and c.baseline_rho is None), None)


def protocol_columns(claims, scale: str, dataset: str, columns) -> pd.DataFrame:
    """Each claim's interval and verdict under each column (protocol, epoch rule, records, seeds), side by side:
    one claim read on the paper protocol and on the validated one."""
    frame = pd.concat([assess_all(claims, scale, dataset, seeds, records, rule, protocol)
                       .assign(column=f"{protocol} rho, {rule}") for protocol, rule, records, seeds in columns])
    frame["ours [95% interval]"] = [interval_text(r) if r["ours"] is not None and not pd.isna(r["ours"])
                                    else "not run here" for _, r in frame.iterrows()]
    return frame.pivot_table(index="claim", columns="column", values=["ours [95% interval]", "verdict"],
                             aggfunc="first")


def verdict_changes(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """The claims whose verdict differs between two assessments of the same claims (assess_all frames over one
    claim list: two epoch rules, or two radii), each as 'claim (before -> after)'. A claim without an interval
    on either side is left out: 'not run here' and 'not tested' (one seed) are absences, not verdicts that changed."""
    if not before["claim"].reset_index(drop=True).equals(after["claim"].reset_index(drop=True)):
        raise ValueError("verdict_changes compares two assessments of the same claims, in the same order")
    pairs = zip(before["claim"], before["verdict"], after["verdict"])
    return [f"{claim} ({a} -> {b})" for claim, a, b in pairs if a != b and not {a, b} & set(UNTESTED)]


ORDER_CONTROL_TEXTS = ("control_calibrated", "control_natural", "calibrated_drw_tail", "control_drw_tail")


def order_control(scale: str, dataset: str | None = None) -> tuple[list[dict], dict]:
    """The class-order control of the headline (SAM raises CE+DRW's tail), on CONTROL_SEEDS: the calibrated
    order's validated runs beside the natural order's. Returns the two claim rows and the texts chapter 1 glues
    (the interval of each, CE+DRW's mean tail accuracy in each order, the natural order's run count). A
    Fashion-MNIST experiment: for other data or the paper scale, no rows and texts that say so."""
    if scale == "paper" or dataset not in (None, "fashion-mnist"):
        return [], {key: "not run at this scale" for key in ORDER_CONTROL_TEXTS} | {"control_runs": 0}
    headline = sam_claim("CE+DRW", 1, "tail")
    seeds = list(grid.CONTROL_SEEDS)
    by_order = {"calibrated": ("validated", runner.records(grid.table1_validated(scale, seeds))),
                "natural": ("control", runner.records(grid.order_control(scale)))}  # order -> (protocol, records)
    rows = [assess(headline, scale, "fashion-mnist", seeds, records, "final", protocol)
            | {"claim": f"{headline.text}, {order} class order"} for order, (protocol, records) in by_order.items()]
    texts = {f"control_{order}": interval_text(row) if row["ours"] is not None else "not run here"
             for order, row in zip(by_order, rows)}
    for key, (protocol, records) in zip(("calibrated_drw_tail", "control_drw_tail"), by_order.values()):
        tails = seed_values("CE+DRW", scale, "fashion-mnist", seeds, records, "tail", protocol=protocol)
        texts[key] = (f"{sum(tails.values()) / len(tails):.1f}% over {seeds_phrase([len(tails)])}" if tails
                      else "not run here")
    texts["control_runs"] = sum(r is not None for r in by_order["natural"][1].values())
    return rows, texts


def rho_sweep_summary(ours: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, dict]:
    """rho_sweep's own rows by data set and radius: mean accuracies and fit, the spread over seeds, the seed count;
    and the texts chapter 6 quotes (the seeds run, the tail fit by radius on `dataset`)."""
    if not len(ours):
        return pd.DataFrame(), {"seeds_run": "no runs", "fit_tail": "not run here"}
    per_rho = ours.groupby(["data", "rho"])
    mean = per_rho[["acc", "head", "tail", "train acc", "train tail"]].mean()
    table = mean.join(per_rho[["acc", "tail"]].std().add_suffix(" std")).assign(seeds=per_rho.size())
    fit = mean.xs(dataset)["train tail"] if dataset in mean.index else None
    return table, {"seeds_run": seeds_phrase(per_rho.size()),
                   "fit_tail": "; ".join(f"{v:.0f} % at rho {r:g}" for r, v in fit.items()) if fit is not None
                   else "not run here"}


def rho_sweep(sweep, rhos, dataset_names, records: dict, epoch_rule: str) -> pd.DataFrame:
    """Fig. 4's points: accuracy (all, head, tail) and training fit of every completed CE+DRW(+SAM) run of the
    sweep, by rho and seed ('ours'), with the paper's Fig. 4 values beside them ('paper')."""
    rows = []
    for name in dataset_names:
        for c in runner.unique(sweep):
            r = records[c.run_id]
            if c.dataset == name and r is not None and r["status"] == "complete":
                m = r["metrics"][epoch_rule]
                rows.append({"data": name, "rho": c.radius, "seed": c.seed, "source": "ours",
                             **{k: m[k] for k in ("acc", "head", "tail")},
                             "train acc": r["metrics"]["train_final"]["acc"],
                             "train tail": train_group_accuracy(r, "tail")})
        for rho in rhos:
            method = "CE+DRW+SAM" if rho else "CE+DRW"
            paper = {k: paper_value(method, "fig4", name, k, rho=rho or None) for k in ("acc", "head", "tail")}
            if any(v is not None for v in paper.values()):
                rows.append({"data": name, "rho": rho, "source": "paper", **paper})
    return pd.DataFrame(rows)


def imbalance_gains(methods, scale: str, dataset_names, imbalances, seeds, records: dict, epoch_rule: str
                    ) -> pd.DataFrame:
    """Tables 7-8 as gains: SAM's gain in accuracy and tail accuracy for CE+DRW and LDAM+DRW at each imbalance,
    ours (with its interval) beside the paper's, one row each; `line` names the plotted line so that the paper's
    CIFAR numbers are never labelled with our data set."""
    rows = []
    for name in dataset_names:
        paper_data = PAPER_DATASET[grid.RHO_COLUMN[name]]
        for b in imbalances:
            for method in [m for m in ("CE+DRW", "LDAM+DRW") if m in methods and f"{m}+SAM" in methods]:
                for metric in ("acc", "tail"):
                    row = assess(sam_claim(method, 7, metric, imbalance=b), scale, name, seeds, records, epoch_rule)
                    for source in ("ours", "paper"):
                        if row[source] is not None:
                            ours = source == "ours"
                            rows.append({"imbalance": b, "method": f"{method} ({name})", "metric": metric,
                                         "source": source, "gain": row[source],
                                         "low": row["low"] if ours else None, "high": row["high"] if ours else None,
                                         "line": f"{method} (ours, {name})" if ours
                                         else f"{method} (paper, {paper_data})"})
    return pd.DataFrame(rows)


def dirty_records(scale: str, root: Path | None = None) -> list[dict]:
    """The records of `scale` trained from a tree with uncommitted changes, and those since retrained at a clean
    commit (scripts/retrain_dirty.py): the commit they started from, whether their diff was kept (git_diff_sha256),
    run and label, and where retrained, the clean commit and whether metrics, curves and snapshot tensors came out
    identical (else why not, where known). A still-dirty record without a kept diff ran unrecoverable changes."""
    rows = []
    for record in load_records(scale, root):
        provenance = record["provenance"]
        retrained = provenance.get("retrained_from")
        origin = retrained or provenance
        if str(origin.get("git_commit", "")).endswith("-dirty"):
            same = retrained and retrained.get("metrics_identical") is True and retrained.get(
                "curves_identical") is True and retrained.get("snapshots_identical") in (True, None)  # None: none kept
            identical = "" if not retrained else "yes" if same else _not_identical(retrained, provenance)
            rows.append({"run": record["id"], "method": record.get("label"), "seed": record["config"]["seed"],
                         "commit": origin["git_commit"][:12], "date": str(origin.get("date", ""))[:10],
                         "diff kept": "" if retrained else "git_diff_sha256" in provenance,
                         "retrained at": provenance["git_commit"][:12] if retrained else "", "identical": identical})
    return sorted(rows, key=lambda r: (r["date"], r["run"]))


def _not_identical(retrained: dict, provenance: dict) -> str:
    """'no', or why: the original ran on another thread count ('cpu (x86_64, 2 threads)'), whose arithmetic differs."""
    was, now = (int(m.group(1)) if (m := re.search(r"(\d+) threads?\b", p.get("device") or "")) else None
                for p in (retrained, provenance))
    return f"no: the original ran on {was} thread{'s' * (was != 1)}" if was and now and was != now else "no"
