"""Figures shared by the chapters (seaborn on matplotlib), in the kinds the paper uses."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

from saddle.data import class_groups
from saddle.results import train_group_accuracy
from .rule import VERDICTS

GROUP_COLOURS = {"head": "#4c72b0", "mid": "#dd8452", "tail": "#c44e52"}
# Figures are drawn at most 6.5 inches wide (the book's text column) and rendered at 200 dpi, so a PNG shrunk to the
# column keeps its tick labels sharp.
COLUMN_INCHES = 6.5
matplotlib.rcParams.update({"figure.dpi": 200, "savefig.dpi": 200})


def _group_colours(counts) -> list:
    """Head/mid/tail colours by the paper's index groups (halves for a two-level step profile)."""
    groups = class_groups(len(counts), "step" if len(set(counts)) == 2 else "exp")
    owner = {c: name for name, members in groups.items() for c in members}
    return [GROUP_COLOURS[owner[c]] for c in range(len(counts))]


def no_runs(text: str = "no runs recorded yet"):
    """The figure a chapter shows in place of a plot whose runs are not recorded yet."""
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center")
    return fig


def publish(name: str, fig=None, empty: str = "no runs recorded yet") -> None:
    """Hand a chapter's figure to its {glue:figure} `name` (or, for None, a figure saying `empty`) and close it,
    so the notebook does not show it a second time. A figure wider than the text column fails here, by name: shrunk
    to the column, its labels would shrink below legibility."""
    from myst_nb import glue
    fig = no_runs(empty) if fig is None else fig
    if fig.get_figwidth() > COLUMN_INCHES + 0.01:
        plt.close(fig)
        raise ValueError(f"figure {name} is {fig.get_figwidth():.2f} in wide; the column holds {COLUMN_INCHES}")
    glue(name, fig, display=False)
    plt.close(fig)


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
    _legend_below(fig, ax, ncol=min(3, len(counts.columns)))  # five verdict words in one row overrun the column
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
    _legend_below(fig, axes[0, 0], ncol=min(3, len(series)))
    return fig


def _legend_below(fig, ax, ncol: int = 3, handles=None, labels=None, title=None):
    """One legend under the panels, never over the data: the layout leaves it a strip at the bottom."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    for a in fig.axes:
        if a.get_legend() is not None:
            a.get_legend().remove()
    rows = -(-len(labels) // ncol)
    strip = (0.2 * rows + 0.12) / fig.get_figheight()
    fig.tight_layout(rect=(0, strip, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False, title=title,
               title_fontsize=8)


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
    return _facet_legend_below(grid, ncol=4)


def _mark_critical_products(ax):
    """Vertical lines where Theorem 2's factor vanishes (rho lam = -1) and comes back to 1 (rho lam = -2)."""
    for k, style in ((1, ":"), (2, "--")):
        ax.axvline(-k, color="grey", ls=style, lw=1, label=f"$\\rho\\lambda = -{k}$")


def theorem_quadratic(rows: list[dict]):
    """Check 1: the measured second-moment ratio against rho*lambda, over Theorem 2's curve (1 + rho lambda)^2."""
    sns.set_theme(style="whitegrid")
    df = pd.DataFrame(rows)
    df["rho_lam"] = df["rho"] * df["lam"]
    df["case"] = df.apply(lambda r: "normalised SAM" if r["normalized"] else
                          ("unnormalised, same z" if r["same_batch"] else "unnormalised, fresh z for ascent"), axis=1)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.8))
    x = np.linspace(df["rho_lam"].min() - 0.2, df["rho_lam"].max() + 0.2, 400)
    ax.plot(x, (1 + x) ** 2, color="black", lw=1.5, label="Theorem 2: $(1+\\rho\\lambda)^2$")
    sns.scatterplot(df, x="rho_lam", y="measured", hue="case", style="case", s=45, ax=ax)
    _mark_critical_products(ax)
    ax.set(xlabel="$\\rho\\lambda$ (symmetric log)", ylabel="$E\\langle v,g_{SAM}\\rangle^2 / E\\langle v,g\\rangle^2$",
           yscale="symlog")
    ax.set_xscale("symlog", linthresh=2)  # the points crowd between -2 and 1; the axis reaches -20
    ax.set_ylim(bottom=0)
    _legend_below(fig, ax, ncol=2)
    return fig


def theorem_ratios(panels: dict, ncols: int = 2):
    """Check 2/3: measured ratio vs rho per SAM kind (with standard errors), the theorem's prediction, and the
    prediction with only the Taylor step made (H_z kept). `panels`: title -> (table rows, curvature along v)."""
    sns.set_theme(style="whitegrid")
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, 3.0 * nrows + 0.9), squeeze=False)
    for ax, (title, (rows, lam)) in zip(axes.flat, panels.items()):
        df = pd.DataFrame(rows)
        unnorm, norm = df[df["sam"] == "unnormalised"], df[df["sam"] == "normalised"]
        ax.errorbar(unnorm["rho"], unnorm["measured"], yerr=unnorm["stderr"], marker="o", capsize=3,
                    label="unnormalised SAM, measured")
        ax.errorbar(norm["rho"], norm["measured"], yerr=norm["stderr"], marker="s", capsize=3,
                    label="normalised SAM, measured")
        ax.plot(unnorm["rho"], unnorm["predicted"], "k-", label="Theorem 2 (H)")
        ax.plot(unnorm["rho"], unnorm["taylor_with_Hz"], "k:", label="Taylor step only ($H_z$)")
        ax.plot(norm["rho"], norm["predicted"], color="grey", ls="--", label="Theorem 2 with $\\rho/\\|g_z\\|$")
        if lam < 0 and 1 / abs(lam) < unnorm["rho"].max():
            ax.axvline(1 / abs(lam), color="grey", ls=":", lw=1, label="$\\rho = 1/|\\lambda|$ (factor 0)")
        ax.set(title=f"{title}\ncurvature along $v$: {lam:.3g}", xlabel="$\\rho$", xscale="log", yscale="log",
               ylabel="second-moment ratio along $v$" if ax in axes[:, 0] else "")
        _radius_ticks(ax, sorted(set(df["rho"])))
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    legend = {}  # one legend for all panels, below them: inside a panel it covers the curves
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    _legend_below(fig, axes[0, 0], ncol=2, handles=list(legend.values()), labels=list(legend.keys()))
    return fig


def _facet_legend_below(grid, ncol: int = 3):
    """A seaborn grid's legend moved under its panels (off the data, inside the column's width); the figure."""
    if grid.legend is not None:
        sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False, title=None,
                        fontsize=8)
    grid.figure.set_size_inches(COLUMN_INCHES, grid.figure.get_figheight())  # the room kept for a side legend goes
    grid.figure.tight_layout()
    return grid.figure


def _radius_ticks(ax, radii, min_gap: float = 0.35):
    """A tick at every radius tried on a log axis, labelled where the label fits: a radius closer than `min_gap`
    decades to the last labelled one keeps its tick but not its label (0.8 and 1 would overlap)."""
    labelled, last = [], None
    for r in radii:
        if last is None or np.log10(r / last) >= min_gap:
            labelled.append(r)
            last = r
    ax.set_xticks(radii)
    ax.set_xticklabels([f"{r:g}" if r in labelled else "" for r in radii])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=9)


def replacement_scatter(panels: dict):
    """The proof's step v'H_z g = lambda <v, g>, batch by batch: the two sides against each other."""
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_INCHES, 3.3), squeeze=False)
    for ax, (title, projections) in zip(axes[0], panels.items()):
        h, hz = projections["h_term"], projections["hz_term"]
        ax.scatter(h, hz, s=10, alpha=0.6)
        lim = np.abs(np.concatenate([h, hz])).max() * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k-", lw=1)
        ax.set(title=title, xlabel="$\\lambda \\langle v, g_z\\rangle$ (proof)", ylabel="$v^T H_z g_z$ (actual)",
               xlim=(-lim, lim), ylim=(-lim, lim))
    fig.tight_layout()
    return fig


def escape_steps(df: pd.DataFrame, sgd_median: float, max_steps: int, lam: float):
    """Check 4: median steps to leave the saddle vs rho per method (never = max_steps, drawn at the top), the
    linearised prediction for unnormalised SAM (SGD's time over 1 + rho lam; never beyond rho = 1/|lam|), and the
    fraction of trials still trapped."""
    sns.set_theme(style="whitegrid")
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.6))
    for method, part in df.groupby("method"):
        ax.plot(part["rho"], part["median_steps"].clip(upper=max_steps), marker="o", label=method)
        ax2.plot(part["rho"], part["trapped"], marker="o", label=method)
    rho = np.geomspace(df["rho"].min(), df["rho"].max(), 200)
    factor = 1 + rho * lam
    ax.plot(rho, np.where(factor > 0, sgd_median / np.maximum(factor, 1e-12), np.inf).clip(max=max_steps), "k:",
            label="linearised: SGD / $(1+\\rho\\lambda)$")
    ax.axhline(sgd_median, color="black", lw=1, label="SGD")
    ax.axhline(max_steps, color="grey", ls="--", lw=1, label="never (step limit)")
    ax.set(xscale="log", yscale="log", xlabel="$\\rho$", ylabel="median steps to escape")
    ax2.set(xscale="log", xlabel="$\\rho$", ylabel="fraction of trials trapped", ylim=(-0.05, 1.05))
    for axis in (ax, ax2):
        _radius_ticks(axis, sorted(set(df["rho"])))
    _legend_below(fig, ax, ncol=3)
    return fig


def _smoothed_density(spectrum, linthresh: float, width: float = 0.08):
    """The spectrum's density smoothed on the plotted (symmetric-log) axis: each Ritz value a Gaussian of `width`
    in asinh units, weighted as Lanczos weights it, averaged over probes. Returns eigenvalues and density."""
    t = np.arcsinh(np.asarray(spectrum.eigenvalues) / (2 * linthresh))
    grid = np.linspace(t.min() - 0.5, t.max() + 0.5, 2000)
    kernel = np.exp(-(grid[None, None, :] - t[:, :, None]) ** 2 / (2 * width ** 2)) / (np.sqrt(2 * np.pi) * width)
    density = (np.asarray(spectrum.weights)[:, :, None] * kernel).sum(axis=1).mean(axis=0)
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
    fig, axes = plt.subplots(len(by_loss), 1, figsize=(COLUMN_INCHES, 2.3 * len(by_loss) + 0.3), squeeze=False,
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
    fig, axes = plt.subplots(1, len(methods), figsize=(COLUMN_INCHES, 3.3), squeeze=False, sharey=True)
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
    _legend_below(fig, axes[0, 0], ncol=3, handles=handles, labels=labels)
    return fig


def lambda_min_vs_rho(df: pd.DataFrame, each_seed: bool = False):
    """lambda_min of each tail class against SAM's rho (rho 0 = SGD), the paper's Fig. 3 C: the mean over seeds with
    a band of one standard deviation, or with `each_seed` one line per seed (a band from two seeds misleads)."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5, 3.2))
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
    return _facet_legend_below(grid, ncol=4)


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
    return _facet_legend_below(grid, ncol=3)


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
    _legend_below(fig, axes[0, 0], ncol=2)
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
    return _facet_legend_below(grid, ncol=3)


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
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 2.9))
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


def toy_saddle(toy, paths: dict, extent: float = 1.5):
    """Contours of the 2-D toy saddle f(u, v) (saddle.theorem2.SaddleToy), its descent field -grad f as arrows, and
    optimiser paths {label: array [steps + 1, 2]}; the saddle at 0 and the minima at v = +-sqrt(-lam / c)."""
    import torch

    from saddle.theorem2 import toy_value

    fine = np.linspace(-extent, extent, 201)
    U, V = np.meshgrid(fine, fine)
    values = toy_value(toy, torch.from_numpy(np.stack([U, V], axis=-1))).numpy()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    contours = ax.contour(U, V, values, levels=15, cmap="viridis", linewidths=0.8)
    fig.colorbar(contours, ax=ax, label="$f(u, v)$")
    coarse = np.linspace(-extent, extent, 13)
    QU, QV = np.meshgrid(coarse, coarse)
    descent = -toy.gradient(torch.from_numpy(np.stack([QU.ravel(), QV.ravel()], axis=1))).numpy()
    ax.quiver(QU, QV, descent[:, 0].reshape(QU.shape), descent[:, 1].reshape(QU.shape), color="0.55",
              angles="xy", width=0.003, label=r"$-\nabla f$")
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], lw=1.2, marker=".", ms=3, label=label)
    starts = np.array([path[0] for path in paths.values()])
    ax.scatter(starts[:, 0], starts[:, 1], marker="o", s=40, facecolors="none", edgecolors="black", zorder=5,
               label="start")
    ax.scatter([0], [0], marker="x", s=70, color="black", zorder=5, label="saddle")
    ax.scatter([0, 0], [toy.minimum, -toy.minimum], marker="*", s=140, color="black", zorder=5, label="minima")
    ax.set(xlabel=r"$u$ (curvature $a > 0$)", ylabel=r"$v$ (curvature $\lambda < 0$ at the saddle)",
           xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig


def toy_saddle_slider(toy, start, rhos, lr: float = 0.05, steps: int = 300, seed: int = 0) -> str:
    """The toy saddle's contours with gradient descent's path and normalised SAM's, one SAM path per radius picked
    by a slider: a self-contained HTML fragment (plotly, its script inlined, so it works offline)."""
    import plotly.graph_objects as go

    from saddle.theorem2 import toy_trajectory
    u, v = np.linspace(-1.2, 1.2, 121), np.linspace(-1.6, 1.6, 161)
    uu, vv = np.meshgrid(u, v)
    value = toy.a * uu ** 2 / 2 + toy.lam * vv ** 2 / 2 + toy.c * vv ** 4 / 4
    fig = go.Figure(go.Contour(x=u, y=v, z=value, colorscale="Greys", reversescale=True, ncontours=25,
                               showscale=False, hoverinfo="skip", line={"width": 0.5}))
    gd = toy_trajectory(toy, start, "sgd", lr=lr, steps=steps, seed=seed)
    fig.add_trace(go.Scatter(x=gd[:, 0], y=gd[:, 1], mode="lines", name="gradient descent",
                             line={"color": "black", "width": 2}))
    for i, rho in enumerate(rhos):
        path = toy_trajectory(toy, start, "sam_normalized", rho, lr, steps, seed)
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", name=f"SAM, rho = {rho:g}",
                                 line={"color": "#c44e52", "width": 2}, visible=i == 0))
    fixed = [True, True]  # the contours and gradient descent stay on every step of the slider
    fig.update_layout(
        sliders=[{"active": 0, "currentvalue": {"prefix": "SAM radius rho = "}, "pad": {"t": 40},
                  "steps": [{"label": f"{rho:g}", "method": "update",
                             "args": [{"visible": fixed + [j == i for j in range(len(rhos))]}]}
                            for i, rho in enumerate(rhos)]}],
        xaxis_title="u (positive curvature)", yaxis_title="v (negative curvature)", height=480,
        margin={"l": 60, "r": 20, "t": 20, "b": 20}, legend={"orientation": "h", "y": 1.08, "x": 0},
        template="simple_white")
    return fig.to_html(include_plotlyjs=True, full_html=False, config={"displaylogo": False, "responsive": True})
