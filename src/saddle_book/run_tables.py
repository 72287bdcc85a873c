"""Tables of a chapter's runs read from their records: each run's accuracies and the class order behind them
(chapter 1), what a run has cost, the runs a table still lacks with the command that trains them (chapters 4 and
6), SAM's gain by imbalance beside the paper's (chapter 4's Tables 7-8) and Tables 3 and 6 beside our large-scale
runs (chapter 5)."""
from __future__ import annotations

import statistics

from saddle import runner

from .catalog import paper_results


def class_order_table(scale: str, imbalance: float):
    """Fashion-MNIST's classes by position (most frequent first) in the calibrated and the natural order, beside
    the training images each position gets at `scale` and `imbalance`."""
    import pandas as pd
    from saddle.config import RunConfig
    from saddle.data import CLASS_ORDERS, FASHION_MNIST_NAMES, FASHION_MNIST_ORDER, long_tail_counts
    orders = {"calibrated": FASHION_MNIST_ORDER, "natural": tuple(range(10))}
    return pd.DataFrame({f"{order} order": [FASHION_MNIST_NAMES[label] for label in orders[order]]
                         for order in CLASS_ORDERS} | {"training images": long_tail_counts(
                             RunConfig.at_scale(scale).n_max, 10, imbalance)}).rename_axis(
        "position (most frequent first)")


LARGE_TABLES = {"imagenet-lt": (6, "ImageNet-LT"), "inat2018": (3, "iNaturalist-2018")}  # table, the paper's name


def large_side_by_side(records: dict) -> list[dict]:
    """Tables 3 and 6 beside our large-scale records (records: data set -> {method label: record or None}); the
    paper's rows without a run of ours (two-stage methods, other papers' numbers) stay, marked."""
    rows = []
    for dataset, (table, name) in LARGE_TABLES.items():
        ours = records[dataset]
        for p in paper_results(table=3, dataset=name):
            method = p["method"].replace(" + ", "+")
            record = ours.get(method)
            note = "two-stage" if p["two_stage"] else ("from another paper" if p["from_other_paper"] else "")
            row = {"table": table, "data set": name, "method": p["method"] + (f" ({note})" if note else "")}
            row |= {f"paper {metric}": p["metrics"][metric] for metric in ("acc", "head", "mid", "tail")}
            # ours in one column (overall / head / mid / tail): eight columns fit the page, "not run here" once
            row["ours acc / head / mid / tail"] = (
                " / ".join(f"{record['metrics']['final'][m]:.1f}" for m in ("acc", "head", "mid", "tail")) if record
                else "not run here" if method in ours else "")
            rows.append(row)
    return rows


def large_claims(records: dict, verdict) -> list[dict]:
    """SAM's gain over its base (CE+DRW, LDAM+DRW) in overall and tail accuracy on each large data set, the paper's
    beside ours (one seed each), judged by `verdict` (rule.verdict) on the list of our differences."""
    def paper(name, method, metric):
        return paper_results(table=3, dataset=name, method=method.replace("+", " + "))[0]["metrics"][metric]

    def ours(dataset, method, metric):
        record = records[dataset].get(method)
        return record["metrics"]["final"][metric] if record else None

    claims = []
    for dataset, (table, name) in LARGE_TABLES.items():
        for base in ("CE+DRW", "LDAM+DRW"):
            for metric in ("acc", "tail"):
                gain = paper(name, base + "+SAM", metric) - paper(name, base, metric)
                with_sam, without = ours(dataset, base + "+SAM", metric), ours(dataset, base, metric)
                mine = None if with_sam is None or without is None else with_sam - without
                claims.append({"table": table, "claim": f"SAM raises {metric} of {base} on {name}",
                               "paper": f"{gain:+.1f}", "ours": "" if mine is None else f"{mine:+.1f}",
                               "verdict": "not run here" if mine is None else verdict([mine])})
    return claims


def trend_words(gains) -> str:
    """Whether a gain series (by imbalance) ends higher than it starts, whether it rises at every step (strictly:
    a flat step is not a rise), and whether its last value is still a loss."""
    rising = all(b > a for a, b in zip(gains.iloc[:-1], gains.iloc[1:]))
    return (("larger" if gains.iloc[-1] > gains.iloc[0] else "not larger")
            + f" at {gains.index[-1]:g} than at {gains.index[0]:g}" + (", rising at every step" if rising else "")
            + (", still a loss there" if gains.iloc[-1] < 0 else ""))


def gain_table(gains):
    """scorecard.imbalance_gains pivoted to rows (method, metric, source) by imbalance, rounded as the claim lines
    print them (Python's format, not numpy's half-to-even): the same digits in the table and the text. No gains (a
    chapter without Tables 7-8): the empty frame as it is."""
    if not len(gains):
        return gains
    return gains.pivot_table(index=["method", "metric", "source"], columns="imbalance",
                             values="gain").map(lambda v: float(f"{v:.1f}"))


def gain_lines(gains) -> list[str]:
    """One bullet per (method, metric) of ours with at least two imbalances: our gains by imbalance and their
    trend beside the paper's (gains: rows (method, metric, source), columns imbalance)."""
    lines = []
    for (method, metric, source), by_imbalance in gains.iterrows():
        if source != "ours" or by_imbalance.notna().sum() < 2:
            continue
        trend = by_imbalance.dropna()
        paper = gains.loc[(method, metric, "paper")].dropna() if (method, metric, "paper") in gains.index else None
        lines.append(f"- **{method}, {metric}**: ours {' / '.join(f'{g:+.1f}' for g in trend)} at imbalance "
                     f"{' / '.join(f'{b:g}' for b in trend.index)}, {trend_words(trend)}; "
                     + (f"paper {' / '.join(f'{g:+.1f}' for g in paper)}, {trend_words(paper)}."
                        if paper is not None and len(paper) >= 2 else "the paper gives no such row."))
    return lines


def recorded_count(records: dict) -> int:
    """How many of a chapter's runs ({run_id: record or None}) have a record."""
    return sum(r is not None for r in records.values())


def recorded(configs, records: dict) -> list[dict]:
    """The records of `configs` (each run once) that exist, in order: what a figure of a table's runs draws."""
    return [records[c.run_id] for c in runner.unique(configs) if records[c.run_id]]


def run_gaps(configs: dict, records: dict, scale: str, seeds_of: dict) -> tuple[list[str], str]:
    """For each table (name -> its configs) with runs that have no record: a line with how many and the command
    that fills them (`seeds_of`: the table's seeds); and a phrase for the prose naming the tables with gaps."""
    lines, gaps = [], []
    for table, configs_ in configs.items():
        missing = [c for c in runner.unique(configs_) if records[c.run_id] is None]
        if missing:
            gaps.append(table)
            lines.append(f"{table}: {len(missing)} of {len(runner.unique(configs_))} runs not run here; "
                         f"train them with  {fill_command(table, scale, seeds_of[table])}")
    text = ("every table of the chapter has all its runs" if not gaps else
            f"{', '.join(gaps)} have gaps: the lines above name them with the command that fills them (several "
            "copies of it can run side by side: each claims a run with a lock file before training it)")
    return lines, text


def metrics_table(records: list[dict], epoch_rule: str = "final", groups=("head", "mid", "tail")):
    """One row per record: method, seed, overall and group test accuracy (%), train accuracy, wall time."""
    import pandas as pd
    rows = []
    for r in records:
        if r["status"] != "complete":
            rows.append({"method": r["label"], "seed": r["config"]["seed"], "status": r["status"]})
            continue
        m = r["metrics"][epoch_rule]
        rows.append({"method": r["label"], "seed": r["config"]["seed"], "acc": m["acc"],
                     **{g: m[g] for g in groups}, "train acc": r["metrics"]["train_final"]["acc"],
                     "min class train acc": min(r["metrics"]["train_final"]["per_class"]),
                     "minutes": r["provenance"]["wall_time_s"] / 60})
    return pd.DataFrame(rows).round(1)


def recorded_minutes(records) -> dict:
    """Median wall minutes of the complete one-thread float32 runs among `records` that trained start to end (the
    chapters' recipe; bf16 runs are faster and timed in the appendix), by how many passes a step takes ('one pass':
    SGD, PGD, LPF-SGD; 'two passes': SAM, ImbSAM, CC-SAM): what a run has cost."""
    minutes = {"one pass": [], "two passes": []}
    for record in records:
        made = record.get("provenance") or {}
        if (record.get("status") != "complete" or made.get("threads") != 1 or made.get("resumed_from_epoch")
                or made.get("stacked_runs") or not made.get("wall_time_s")
                or record["config"].get("precision", "fp32") != "fp32"):
            continue
        passes = "two passes" if record["config"]["optimizer"] in ("sam", "imbsam", "ccsam") else "one pass"
        minutes[passes].append(made["wall_time_s"] / 60)
    return {passes: statistics.median(found) for passes, found in minutes.items() if found}


def recorded_text(records) -> str:
    """The book's one sentence on what a run costs, from recorded_minutes: 'about 9 minutes a run without SAM
    and 14 with it (one thread; medians of the committed records)'."""
    minutes = recorded_minutes(records)
    if not minutes:
        return "a time no committed record shows yet"
    said = {"one pass": "without SAM", "two passes": "with it" if "one pass" in minutes else "with SAM"}
    parts = [f"{minutes[k]:.0f} {'minutes a run ' if i == 0 else ''}{said[k]}" for i, k in enumerate(minutes)]
    return f"about {' and '.join(parts)} (one thread; medians of the committed records)"


def fill_command(table: str, scale: str, seeds) -> str:
    """The command that trains a table's missing runs (several copies may run side by side)."""
    return f"python -m saddle grid {table} --scale {scale} --seeds {','.join(str(s) for s in seeds)}"
