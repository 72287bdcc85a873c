"""Figures of accuracy, in the kinds the paper uses: training images per class, per-class quantities, group
accuracy, accuracy over training and against rho, SAM's gains (chapters 1, 4 and 6), and claims counted by
verdict (chapter 7)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from saddle.data import class_groups
from saddle.results import train_group_accuracy

from .figure_style import COLUMN_INCHES, GROUP_COLOURS, facet_legend_below, legend_below
from .rule import VERDICTS


def _group_colours(counts) -> list:
    """Head/mid/tail colours by the paper's index groups (halves for a two-level step profile)."""
    groups = class_groups(len(counts), "step" if len(set(counts)) == 2 else "exp")
    owner = {c: name for name, members in groups.items() for c in members}
    return [GROUP_COLOURS[owner[c]] for c in range(len(counts))]


# Green, red, orange, then greys for the two absences, in the rule's order of its words.
VERDICT_COLOURS = dict(zip(VERDICTS, ("#55a868", "#c44e52", "#dd8452", "#8c8c8c", "#d9d9d9"), strict=True))


def verdict_bars(claims: pd.DataFrame, by: str, order=None):
    """Claims counted by verdict, one stacked bar per value of column `by` (in `order`, else sorted), segments in
    the order reproduced / contradicted / inconclusive / untested, legend below the bars (never over them)."""
    counts = pd.crosstab(claims[by], claims["verdict"]).reindex(order or sorted(set(claims[by])), fill_value=0)
    counts = counts.reindex(columns=[v for v in VERDICT_COLOURS if v in counts.columns])
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.45 * len(counts) + 1.2))
    left = np.zeros(len(counts))
    for verdict in counts.columns:
        ax.barh(counts.index.astype(str), counts[verdict], left=left, color=VERDICT_COLOURS[verdict], label=verdict,
                height=0.7)
        left += counts[verdict].to_numpy()
    ax.invert_yaxis()  # the first row on top
    ax.set(xlabel="claims")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend_below(fig, ax, ncol=min(3, len(counts.columns)))  # five verdict words in one row overrun the column
    return fig


def class_profiles(profiles: dict, log: bool = True):
    """Bar charts of training images per class, one panel per profile, bars coloured by head/mid/tail."""
    sns.set_theme(style="whitegrid")
    ncols = min(2, len(profiles))  # two panels a row: four in one row shrink their labels below legibility
    nrows = -(-len(profiles) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, 2.6 * nrows), squeeze=False)
    for ax, (name, counts) in zip(axes.flat, profiles.items()):
        ax.bar(range(len(counts)), counts, color=_group_colours(counts), width=1.0 if len(counts) > 20 else 0.85,
               linewidth=0)  # no white edges: 100 thin bars would look striped
        ax.set(title=name, xlabel="class (most frequent first)", yscale="log" if log else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat[len(profiles):]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel("training images")
    fig.tight_layout()
    return fig


def per_class_lines(series: dict, ylabel: str, log: bool = False, ratio: bool = False):
    """One line per named per-class quantity (weights, margins) against the class index; with `ratio` (two series),
    a second panel with the first over the second, where lines too close to tell apart on a log axis part."""
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 2 if ratio else 1, figsize=(COLUMN_INCHES, 3), squeeze=False)
    ax = axes[0, 0]
    for (name, values), marker, style in zip(series.items(), "osD^v", ("-", "--", "-.", ":", "-")):
        ax.plot(range(len(values)), values, marker=marker, ls=style, ms=4, label=name)
    ax.set(xlabel="class (most frequent first)", ylabel=ylabel, yscale="log" if log else "linear")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ratio:
        (a_name, a), (b_name, b) = series.items()
        right = axes[0, 1]
        right.plot(range(len(a)), np.asarray(a) / np.asarray(b), marker="o", ms=4, color="black")
        right.axhline(1, color="grey", lw=0.8)
        right.set(xlabel="class (most frequent first)", ylabel="ratio", title=f"{a_name} / {b_name}")
        right.title.set_fontsize(9)
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend_below(fig, axes[0, 0], ncol=min(3, len(series)))
    return fig


def group_accuracy(records: list[dict], epoch_rule: str = "final"):
    """Head / mid / tail accuracy per method: training accuracy (no augmentation) beside test accuracy, so a
    reader sees whether a method failed to fit or failed to generalise."""
    sns.set_theme(style="whitegrid")
    rows = []
    for r in records:
        if r["status"] != "complete":
            continue
        for group in ("head", "mid", "tail"):
            train = train_group_accuracy(r, group)
            if train is None:  # the step profile has no mid group
                continue
            rows += [{"method": r["label"], "group": group, "split": "train", "accuracy": train},
                     {"method": r["label"], "group": group, "split": "test", "accuracy": r["metrics"][epoch_rule][group]}]
    grid = sns.catplot(pd.DataFrame(rows), x="group", y="accuracy", hue="method", col="split", kind="bar",
                       height=2.8, aspect=COLUMN_INCHES / 2 / 2.8)
    grid.set(ylim=(0, 105), ylabel="accuracy (%)")
    grid.set_titles("{col_name}")  # "train", "test": not "split = train"
    return facet_legend_below(grid, ncol=4)


def train_test_curves(records: list[dict], col_wrap: int = 3):
    """Accuracy over training per method: on the (augmented) training batches, on the test set, and on the test
    set's tail classes, so a reader sees whether a method underfits or fails to generalise."""
    sns.set_theme(style="whitegrid")
    rows = []
    for r in records:
        for row in r["curves"]:
            rows.append({"method": r["label"], "epoch": row["epoch"], "curve": "train (batches)",
                         "accuracy": row["train_acc"]})
            if "test_acc" in row:
                rows += [{"method": r["label"], "epoch": row["epoch"], "curve": "test", "accuracy": row["test_acc"]},
                         {"method": r["label"], "epoch": row["epoch"], "curve": "test, tail", "accuracy": row["tail"]}]
    grid = sns.relplot(pd.DataFrame(rows), x="epoch", y="accuracy", hue="curve", col="method", kind="line",
                       col_wrap=min(col_wrap, len({r["label"] for r in records})), height=2.1,
                       aspect=COLUMN_INCHES / min(col_wrap, len({r["label"] for r in records})) / 2.1,
                       palette=["#8c8c8c", "#4c72b0", "#c44e52"], errorbar="sd", facet_kws={"sharex": False})
    grid.set(ylim=(0, 102), ylabel="accuracy (%)")
    grid.set_titles("{col_name}")
    for method, ax in grid.axes_dict.items():  # each method's own length (VS: 1.5x) and its drop, dashed
        config = next(r["config"] for r in records if r["label"] == method)
        ax.axvline(config.get("drw_epoch") or round(0.8 * config["epochs"]), color="black", ls="--", lw=0.8)
    return facet_legend_below(grid, ncol=3)


def gains(df: pd.DataFrame, x: str, xlabel: str, log_x: bool = False):
    """SAM's gain (method minus its baseline, in points) against `x`, one panel per metric: a colour per method
    (the same for ours and the paper's), a solid line for ours and a dashed one for the paper's, with 95%
    intervals over seeds where a row has them (Tables 7 and 8, Fig. 4). `method` may carry a ' (data set)' note."""
    sns.set_theme(style="whitegrid")
    df = df.assign(base=df["method"].str.split(" (", regex=False).str[0])
    palette = dict(zip(dict.fromkeys(df["base"]), sns.color_palette(n_colors=df["base"].nunique())))
    markers = dict(zip(dict.fromkeys(df["method"].str.partition(" (")[2]), "osD^v"))  # one per data set
    metrics = list(dict.fromkeys(df["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(COLUMN_INCHES, 3.2), squeeze=False, sharey=True)
    for ax, metric in zip(axes[0], metrics):
        for (method, source), rows in df[df["metric"] == metric].groupby(["method", "source"], sort=False):
            rows, base = rows.sort_values(x), rows["base"].iloc[0]
            ax.plot(rows[x], rows["gain"], marker=markers[method.partition(" (")[2]], ms=4, color=palette[base],
                    ls="-" if source == "ours" else "--", label=method)
            if {"low", "high"} <= set(rows) and rows["low"].notna().any():
                bars = rows[rows["low"].notna() & rows["high"].notna()]
                ax.errorbar(bars[x], bars["gain"], yerr=[bars["gain"] - bars["low"], bars["high"] - bars["gain"]],
                            fmt="none", ecolor=palette[base], capsize=3, lw=1)
        ax.axhline(0, color="black", lw=0.8)
        if log_x:
            ax.set_xscale("log")
            ax.set_xticks(sorted(set(df[x])))  # the values tried, not the decades
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel=xlabel, title=metric)
    axes[0, 0].set_ylabel("gain (points)")
    legend_below(fig, axes[0, 0], ncol=2)
    return fig


def accuracy_vs_rho(df: pd.DataFrame):
    """Overall, head and tail test accuracy against SAM's rho (rho 0 = SGD), the paper's Fig. 4."""
    sns.set_theme(style="whitegrid")
    long = df.melt(id_vars=["rho", "source"], value_vars=[c for c in ("acc", "head", "tail") if c in df],
                   var_name="metric", value_name="accuracy")
    titles = {"ours": "ours", "paper": "paper (CIFAR-10-LT, Sec. 5.2)"}
    long["panel"] = long["source"].map(titles)  # one panel per source: CIFAR and ours never share an axis
    grid = sns.relplot(long.dropna(subset=["accuracy"]), x="rho", y="accuracy", hue="metric", col="panel",
                       kind="line", marker="o", errorbar="sd", height=3.0,
                       aspect=COLUMN_INCHES / 2 / 3.0 if "paper" in set(long["source"]) else COLUMN_INCHES / 3.0,
                       col_order=[titles[s] for s in ("ours", "paper") if s in set(long["source"])],
                       palette={"acc": "black", "head": GROUP_COLOURS["head"], "tail": GROUP_COLOURS["tail"]},
                       facet_kws={"sharey": False})
    grid.set(xlabel=r"$\rho$ (0 = SGD)", ylabel="test accuracy (%)")
    grid.set_titles("{col_name}")
    return facet_legend_below(grid, ncol=3)
