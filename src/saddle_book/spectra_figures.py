"""Figures of class spectra and curvature (chapters 2 and 6): spectral densities as the paper's Figs. 2, 6 and 7
show them, |lambda_min/lambda_max| over training and per class, lambda_min against rho and against tail accuracy,
and the curvature split H = G + R."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from saddle.hessian import Spectrum

from .figure_style import COLUMN_INCHES, GROUP_COLOURS, facet_legend_below, legend_below


def _smoothed_density(spectrum: Spectrum, linthresh: float, width: float = 0.08):
    """The spectrum's density (Spectrum.density) smoothed on the plotted symmetric-log axis: each Ritz value a
    Gaussian of `width` in asinh units. Returns eigenvalues and density."""
    on_axis = Spectrum(np.arcsinh(np.asarray(spectrum.eigenvalues) / (2 * linthresh)), np.asarray(spectrum.weights))
    grid, density = on_axis.density(np.linspace(on_axis.eigenvalues.min() - 0.5, on_axis.eigenvalues.max() + 0.5,
                                                2000), sigma=width ** 2)
    return 2 * linthresh * np.sinh(grid), density


def spectral_densities(panels: dict, linthresh: float = 1.0):
    """Eigen spectral densities as the paper's Figs. 2, 6 and 7 show them, one panel per loss with the methods
    overlaid (so the two are compared on one axis), one panel a row (readable at phone width). The eigenvalue axis
    is symmetric-log and shared, so the negative side (lambda_min of a few units against lambda_max of hundreds)
    stays visible; the density is smoothed on that axis; the extreme Ritz values are marked and named in the
    legend, since their weights (~1e-5) vanish in the density. `panels`: 'method: loss' or
    'method: loss | note' -> Spectrum (the note, e.g. the class's test accuracy, goes with the method's line).
    No panels (runs not trained at a scale): None, which `publish` draws as a figure saying so."""
    if not panels:
        return None
    sns.set_theme(style="whitegrid")
    by_loss = {}
    for title, spectrum in panels.items():
        method, _, what = title.partition(": ")
        what, _, note = what.partition(" | ")
        by_loss.setdefault(what, []).append((method + (f", {note}" if note else ""), spectrum))
    methods = list(dict.fromkeys(t.partition(": ")[0] for t in panels))
    colours = dict(zip(methods, ("#4c72b0", "#c44e52", "#55a868", "#8172b3")))
    fig, axes = plt.subplots(len(by_loss), 1, figsize=(COLUMN_INCHES, 1.75 * len(by_loss) + 0.3), squeeze=False,
                             sharex=True)
    low = min(s.lambda_min for s in panels.values())
    high = max(s.lambda_max for s in panels.values())
    left, right = -1.6 * max(abs(min(low, 0)), linthresh), 1.6 * max(high, linthresh)
    powers = linthresh * 10.0 ** np.arange(0, 10)
    for ax, (what, lines) in zip(axes[:, 0], by_loss.items()):
        for label, spectrum in lines:
            colour = colours[label.split(",")[0]]
            grid, density = _smoothed_density(spectrum, linthresh)
            ax.plot(grid, density + 1e-7, lw=1.2, color=colour,
                    label=f"{label}: $\\lambda_{{min}}$ {spectrum.lambda_min:.3g}, "
                          f"$\\lambda_{{max}}$ {spectrum.lambda_max:.3g}")
            for value in (spectrum.lambda_min, spectrum.lambda_max):
                ax.axvline(value, color=colour, lw=0.9, ls="--")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(yscale="log", ylim=(1e-6, None), ylabel="density (log)")
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlim(left, right)
        # 0 and every power of ten from linthresh out, written "-10" not "-10^1", so the labels fit apart
        ax.xaxis.set_major_locator(FixedLocator([*-powers[powers <= -left][::-1], 0, *powers[powers <= right]]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        # the methods' legend sits between the panel's title and its frame: off the data, read with its panel
        ax.legend(fontsize=7.5, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, borderaxespad=0.2)
        ax.set_title(what, fontsize=10, loc="left", pad=6 + 10.5 * len(lines))
    axes[-1, 0].set_xlabel("eigenvalue (symmetric log)")
    fig.tight_layout(h_pad=0.4)
    return fig


def ratio_over_training(df: pd.DataFrame, drw_epoch: int | None = None):
    """|lambda_min / lambda_max| over training, one panel per method (the paper's Fig. 3 A/B): each class a thin
    line in its group's colour, each group's geometric mean a bold line with its own marker; the epochs evenly
    spaced (they are uneven: most of them near DRW's start). `df` columns: method, epoch, class, group, ratio."""
    sns.set_theme(style="whitegrid")
    epochs = sorted(set(df["epoch"]))
    position = {e: i for i, e in enumerate(epochs)}
    methods = list(dict.fromkeys(df["method"]))
    groups = [g for g in GROUP_COLOURS if g in set(df["group"])] + sorted(set(df["group"]) - set(GROUP_COLOURS))
    markers = dict(zip(groups, "osD^v"))
    fig, axes = plt.subplots(1, len(methods), figsize=(COLUMN_INCHES, 2.7), squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods):
        part = df[df["method"] == method].assign(x=lambda d: d["epoch"].map(position))
        for (group, _), line in part.sort_values("x").groupby(["group", "class"], sort=False):
            ax.plot(line["x"], line["ratio"], color=GROUP_COLOURS.get(group, "#555555"), lw=0.8, alpha=0.45)
        for group in groups:
            mean = part[part["group"] == group].groupby("x")["ratio"].apply(lambda r: np.exp(np.log(r).mean()))
            ax.plot(mean.index, mean.values, color=GROUP_COLOURS.get(group, "#555555"), lw=2.4,
                    marker=markers[group], ms=5, label=f"{group} (group mean)")
        if drw_epoch is not None and epochs[0] <= drw_epoch <= epochs[-1]:
            ax.axvline(np.interp(drw_epoch, epochs, range(len(epochs))), color="grey", ls="--", lw=1,
                       label=f"DRW starts (epoch {drw_epoch})")
        ax.set(yscale="log", xlabel="epoch (evenly spaced)")
        ax.set_xticks(range(len(epochs)), [str(e) for e in epochs])
        ax.set_title(method, fontsize=11)
    axes[0, 0].set_ylabel("$|\\lambda_{min} / \\lambda_{max}|$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(matplotlib.lines.Line2D([], [], color="grey", lw=0.8, alpha=0.6))
    labels.append("one class")
    legend_below(fig, axes[0, 0], ncol=3, handles=handles, labels=labels)
    return fig


def lambda_min_vs_rho(df: pd.DataFrame, each_seed: bool = False):
    """lambda_min of each tail class against SAM's rho (rho 0 = SGD), the paper's Fig. 3 C: the mean over seeds with
    a band of one standard deviation, or with `each_seed` one line per seed (a band from two seeds misleads)."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES - 0.5, 2.9))
    if each_seed:
        sns.lineplot(df.assign(seed=df["seed"].astype(str)), x="rho", y="lambda_min", hue="class", style="seed",
                     markers=True, dashes=True, errorbar=None, ax=ax)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    else:
        sns.lineplot(df, x="rho", y="lambda_min", hue="class", marker="o", errorbar="sd", ax=ax)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="$\\rho$ (0 = SGD)", ylabel="$\\lambda_{min}$ of the class loss")
    fig.tight_layout()
    return fig


def class_ratio_bars(df: pd.DataFrame):
    """|lambda_min / lambda_max| per class for several methods at one epoch (Figs. 5-7 in kind), as points side by
    side: on a log axis a bar's length depends on where the axis starts, a point's position does not."""
    sns.set_theme(style="whitegrid")
    grid = sns.catplot(df, x="class", y="ratio", hue="method", kind="point", dodge=0.45, linestyle="none",
                       markers=["o", "s", "D", "^"][:df["method"].nunique()], height=3.2,
                       aspect=COLUMN_INCHES / 3.2)
    grid.set(yscale="log", ylabel="$|\\lambda_{min} / \\lambda_{max}|$", xlabel="class (most frequent first)")
    grid.tick_params(axis="x", labelrotation=35)  # ten class names side by side overlap otherwise
    for label in grid.ax.get_xticklabels():
        label.set_horizontalalignment("right")
    return facet_legend_below(grid, ncol=4)


def curvature_vs_accuracy(df: pd.DataFrame, marker: str = "radius"):
    """Tail lambda_min (mean over the tail classes) against tail test accuracy, one point per run (radius, seed):
    does curvature track accuracy? One colour per radius; one marker per `marker` ('radius' or 'seed')."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    radius = "$\\rho$ (0 = SGD)"
    sns.scatterplot(df.assign(**{radius: df["rho"].map(lambda r: f"{r:g}")}, seed=df["seed"].astype(str)),
                    x="lambda_min", y="tail acc", hue=radius, style=radius if marker == "radius" else marker, s=60,
                    ax=ax)
    ax.legend(title=radius if marker == "radius" else None, loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize=9)
    ax.set(xlabel="tail $\\lambda_{min}$ (mean over the tail classes)", ylabel="tail test accuracy (%)")
    fig.tight_layout()
    return fig


def curvature_split(df: pd.DataFrame):
    """saddle_book.mechanism's rows in two panels: (A) lambda_min of H, G and R per radius, one point per tail class and
    seed; (B) |lambda_min(R)| against the class's training loss, log-log, one colour per radius."""
    sns.set_theme(style="whitegrid")
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 2.6))
    if df.empty:
        for ax in (left, right):
            ax.axis("off")
        left.text(0.5, 0.5, "no curvature records at this scale yet", ha="center", transform=fig.transFigure)
        return fig
    radius = "$\\rho$ (0 = SGD)"
    df = df.assign(**{radius: df["rho"].map(lambda r: f"{r:g}")})
    long = df.melt(id_vars=[radius], value_vars=["H_min", "G_min", "R_min"], var_name="part", value_name="value")
    long["part"] = long["part"].str[0]
    sns.stripplot(long, x="part", y="value", hue=radius, dodge=True, size=4, ax=left, legend=False)
    left.axhline(0, color="grey", lw=0.8)
    left.set(xlabel="part of the Hessian", ylabel="$\\lambda_{min}$ (tail classes)", title="A: where it is negative")
    sns.scatterplot(df.assign(neg=df["R_min"].abs()), x="loss", y="neg", hue=radius, s=30, ax=right)
    right.set(xscale="log", yscale="log", xlabel="class training loss", ylabel="$|\\lambda_{min}(R)|$",
              title="B: against the unfitted loss")
    right.legend(title=radius, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title_fontsize=8)
    fig.tight_layout()
    return fig
