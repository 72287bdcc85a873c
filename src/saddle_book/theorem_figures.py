"""Figures of Theorem 2's checks (chapter 3) and of the toy saddle (chapters 1 and 3)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .figure_style import COLUMN_INCHES, legend_below, radius_ticks


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
    legend_below(fig, ax, ncol=2)
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
        radius_ticks(ax, sorted(set(df["rho"])))
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    legend = {}  # one legend for all panels, below them: inside a panel it covers the curves
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    legend_below(fig, axes[0, 0], ncol=2, handles=list(legend.values()), labels=list(legend.keys()))
    return fig


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
        radius_ticks(axis, sorted(set(df["rho"])))
    legend_below(fig, ax, ncol=3)
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
