"""Figures shared by the chapters (seaborn on matplotlib), in the kinds the paper uses."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from .data import class_groups

GROUP_COLOURS = {"head": "#4c72b0", "mid": "#dd8452", "tail": "#c44e52"}


def _group_colours(counts) -> list:
    """Head/mid/tail colours by the paper's index groups (halves for a two-level step profile)."""
    groups = class_groups(len(counts), "step" if len(set(counts)) == 2 else "exp")
    owner = {c: name for name, members in groups.items() for c in members}
    return [GROUP_COLOURS[owner[c]] for c in range(len(counts))]


def class_profiles(profiles: dict, log: bool = True):
    """Bar charts of training images per class, one panel per profile, bars coloured by head/mid/tail."""
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(profiles), figsize=(3.4 * len(profiles), 2.8), squeeze=False)
    for ax, (name, counts) in zip(axes[0], profiles.items()):
        ax.bar(range(len(counts)), counts, color=_group_colours(counts), width=0.85)
        ax.set(title=name, xlabel="class (most frequent first)", yscale="log" if log else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("training images")
    fig.tight_layout()
    return fig


def per_class_lines(series: dict, ylabel: str, log: bool = False):
    """One line per named per-class quantity (weights, margins) against the class index."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 3))
    for name, values in series.items():
        ax.plot(range(len(values)), values, marker="o", label=name)
    ax.set(xlabel="class (most frequent first)", ylabel=ylabel, yscale="log" if log else "linear")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def group_accuracy(records: list[dict], which: str = "final"):
    """Head / mid / tail accuracy per method: training accuracy (no augmentation) beside test accuracy, so a
    reader sees whether a method failed to fit or failed to generalise."""
    sns.set_theme(style="whitegrid")
    rows = []
    for r in records:
        if r["status"] != "complete":
            continue
        for group in ("head", "mid", "tail"):
            members = r["groups"][group]
            train = sum(r["metrics"]["train_final"]["per_class"][c] for c in members) / len(members)
            rows += [{"method": r["label"], "group": group, "split": "train", "accuracy": train},
                     {"method": r["label"], "group": group, "split": "test", "accuracy": r["metrics"][which][group]}]
    grid = sns.catplot(pd.DataFrame(rows), x="group", y="accuracy", hue="method", col="split", kind="bar",
                       height=3, aspect=1.2)
    grid.set(ylim=(0, 105), ylabel="accuracy (%)")
    return grid.figure
