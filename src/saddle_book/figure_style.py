"""The figures' style, shared by every chapter's (seaborn on matplotlib): the group colours, the text column's width
and the resolution, legends below the panels, ticks at the radii tried, and publish, which hands a figure to the
chapter's glue."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import NullFormatter


GROUP_COLOURS = {"head": "#4c72b0", "mid": "#dd8452", "tail": "#c44e52"}
# Figures are drawn at most 6.5 inches wide (the book's text column) and rendered at 200 dpi, so a PNG shrunk to the
# column keeps its tick labels sharp.
COLUMN_INCHES = 6.5
matplotlib.rcParams.update({"figure.dpi": 200, "savefig.dpi": 200})


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


def legend_below(fig, ax, ncol: int = 3, handles=None, labels=None, title=None):
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


def facet_legend_below(grid, ncol: int = 3):
    """A seaborn grid's legend moved under its panels (off the data, inside the column's width); the figure."""
    if grid.legend is not None:
        sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False, title=None,
                        fontsize=8)
    grid.figure.set_size_inches(COLUMN_INCHES, grid.figure.get_figheight())  # the room kept for a side legend goes
    grid.figure.tight_layout()
    return grid.figure


def radius_ticks(ax, radii, min_gap: float = 0.35):
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
