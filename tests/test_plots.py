"""The figures' readability rules that a reader relies on: eigenvalue ticks that can be read, group styles."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from saddle_book import accuracy_figures, figure_style, spectra_figures, theorem_figures  # noqa: E402
from saddle.hessian import Spectrum  # noqa: E402


def spectrum(low, high):
    values = np.linspace(low, high, 20)[None]
    return Spectrum(values, np.full_like(values, 1 / 20))


def test_spectral_density_ticks_are_zero_and_powers_of_ten_written_plainly():
    fig = spectra_figures.spectral_densities({"A: one": spectrum(-6.5, 108), "B: two": spectrum(-0.3, 40)})
    ax = fig.axes[-1]  # the panels share the eigenvalue axis; the bottom one is labelled
    fig.canvas.draw()
    left, right = ax.get_xlim()
    assert (left, right) == (-1.6 * 6.5, 1.6 * 108)  # a margin past both extremes, shared by the panels
    assert list(ax.get_xticks()) == [-10, -1, 0, 1, 10, 100]  # -100 and 1000 lie past the limits
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-10", "-1", "0", "1", "10", "100"]
    plt.close(fig)


def test_ratio_over_training_draws_group_means_over_class_lines_on_even_epochs():
    rows = [{"method": m, "epoch": e, "class": f"{c} c{c}", "group": g, "ratio": 0.1 + c / 100}
            for m in ("SGD", "SAM") for e in (10, 160, 200)
            for c, g in enumerate(["head", "head", "mid", "mid", "tail", "tail"])]
    fig = spectra_figures.ratio_over_training(pd.DataFrame(rows), drw_epoch=160)
    ax = fig.axes[0]
    bold = [line for line in ax.get_lines() if line.get_linewidth() > 2]
    thin = [line for line in ax.get_lines() if line.get_linewidth() < 1]
    assert len(bold) == 3 and len(thin) == 6  # a mean per group over a line per class
    assert len({line.get_marker() for line in bold}) == 3
    assert list(bold[0].get_xdata()) == [0, 1, 2]  # epochs 10, 160, 200 evenly spaced
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "160", "200"]
    assert fig.get_figwidth() <= figure_style.COLUMN_INCHES and ax.get_legend() is None and fig.legends
    plt.close(fig)


def test_book_tables_show_p_to_two_significant_digits_and_no_index():
    import pandas as pd
    from saddle_book import page_tables
    html = page_tables.table_html(pd.DataFrame({"ours": [2.874, -0.001], "p": [0.011351, 0.0000321]}), digits={"p": 2})
    assert "0.011" in html and "3.2e-05" in html and "2.87" in html and "-0.00" not in html
    assert "<th></th>" not in html and 'white-space: nowrap' in html
    counts = page_tables.table_html(pd.DataFrame({"seeds needed": pd.array([7, None], dtype="Int64"), "p": [0.5, float("nan")]}))
    assert "NA" not in counts and "nan" not in counts and ">7<" in counts


def test_verdict_bars_stack_every_verdict_in_the_rule_order_with_the_legend_below():
    import pandas as pd

    from saddle_book import accuracy_figures, figure_style, rule
    assert list(accuracy_figures.VERDICT_COLOURS) == list(rule.VERDICTS)  # one colour for each word, in the rule's order
    reproduced, contradicted, inconclusive = rule.VERDICTS[:3]
    claims = pd.DataFrame({"chapter": ["4", "4", "4", "2"],
                           "verdict": [inconclusive, reproduced, reproduced, contradicted]})
    fig = accuracy_figures.verdict_bars(claims, "chapter", order=["4", "2"])
    ax, legend = fig.axes[0], fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [reproduced, contradicted, inconclusive]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["4", "2"]
    assert [[bar.get_width() for bar in c] for c in ax.containers] == [[2, 0], [0, 1], [1, 0]]
    assert legend.get_window_extent().y1 < ax.get_window_extent().y0  # below the axes, over no bar
    plt.close(fig)
    every = pd.DataFrame({"chapter": ["a long family name (ch. 2)"] * 5, "verdict": list(rule.VERDICTS)})
    fig = accuracy_figures.verdict_bars(every, "chapter")  # all five words: the legend must still fit the column as drawn
    drawn = fig.get_tightbbox(fig.canvas.get_renderer()).width
    assert drawn <= figure_style.COLUMN_INCHES + 0.01, drawn
    plt.close(fig)


def test_publish_glues_a_figure_or_the_no_runs_figure_and_closes_it(monkeypatch):
    import matplotlib.pyplot as plt
    import myst_nb

    from saddle_book import figure_style
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, fig, display: glued.setdefault(name, fig))
    fig, _ = plt.subplots()
    figure_style.publish("a", fig)
    figure_style.publish("b")
    assert glued["a"] is fig and glued["b"].axes[0].texts[0].get_text() == "no runs recorded yet"
    assert not {glued["a"].number, glued["b"].number} & set(plt.get_fignums())  # both closed


def test_toy_saddle_slider_is_self_contained_with_one_step_per_radius():
    import json
    import re

    from saddle_book.theory import SaddleToy
    page = theorem_figures.toy_saddle_slider(SaddleToy(), (1.0, 0.01), [0.05, 0.5, 1.0], steps=20)
    assert "<script" in page and not re.search(r'<script[^>]+src="http', page)  # plotly inlined: works offline
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{\"displaylogo",
                                  page, re.S).group(2))
    steps = figure["sliders"][0]["steps"]
    assert [s["label"] for s in steps] == ["0.05", "0.5", "1"]
    assert [s["args"][0]["visible"] for s in steps][1] == [True, True, False, True, False]


def _record(label, seed=0):
    per_class = [90.0 - 8 * c for c in range(10)]
    return {"status": "complete", "label": label, "groups": {"head": [0, 1, 2], "mid": [3, 4, 5, 6], "tail": [7, 8, 9]},
            "config": {"epochs": 4, "seed": seed},
            "metrics": {"final": {"per_class": per_class, "head": 85.0, "mid": 60.0, "tail": 30.0, "acc": 60.0},
                        "train_final": {"per_class": [99.0] * 10}},
            "curves": [{"epoch": e, "train_acc": 50.0 + e, "test_acc": 40.0 + e, "tail": 10.0 + e} for e in (1, 2, 3, 4)]}


def test_every_chapter_figure_fits_the_column_with_its_legend_off_the_data():
    ratios = [{"sam": s, "rho": r, "measured": 1.0 + r, "predicted": (1 - r) ** 2, "stderr": 0.1,
               "taylor_with_Hz": 1.0} for s in ("unnormalised", "normalised") for r in (0.05, 0.1, 0.5, 0.8, 1.0)]
    gains = pd.DataFrame([{"imbalance": b, "method": f"{m} (d)", "metric": k, "source": src, "gain": 1.0, "low": 0.0,
                           "high": 2.0} for b in (10, 100) for m in ("CE+DRW", "LDAM+DRW") for k in ("acc", "tail")
                          for src in ("ours", "paper")])
    sweep = pd.DataFrame([{"rho": r, "source": src, "acc": 60.0, "head": 80.0, "tail": 30.0 + r, "seed": 0}
                          for r in (0.0, 0.5) for src in ("ours", "paper")])
    escape = pd.DataFrame([{"method": m, "rho": r, "median_steps": 100.0, "trapped": 0.0}
                           for m in ("unnormalised SAM", "normalised SAM") for r in (0.05, 0.8, 1.0, 2.0)])
    quadratic = [{"lam": -1.0, "rho": r, "measured": (1 - r) ** 2, "normalized": n, "same_batch": b}
                 for r in (0.1, 0.5) for n in (False, True) for b in (True, False)]
    figures = {
        "profiles": accuracy_figures.class_profiles({"a": [500, 100, 5], "b": [500, 5], "c": [9, 3], "d": [4, 2]}),
        "weights": accuracy_figures.per_class_lines({"x": [1.0, 2.0], "y": [1.1, 2.0]}, "w", log=True, ratio=True),
        "groups": accuracy_figures.group_accuracy([_record("CE"), _record("CE+DRW")]),
        "curves": accuracy_figures.train_test_curves([_record("CE"), _record("CE+DRW"), _record("CE+SAM"), _record("VS")]),
        "gains": accuracy_figures.gains(gains, "imbalance", "imbalance factor", log_x=True),
        "sweep": accuracy_figures.accuracy_vs_rho(sweep),
        "quadratic": theorem_figures.theorem_quadratic(quadratic),
        "ratios": theorem_figures.theorem_ratios({"a": (ratios, -2.0), "b": (ratios, -0.5), "c": (ratios, -1.0)}),
        "escape": theorem_figures.escape_steps(escape, 300.0, 5000, -1.0),
        "spectra": spectra_figures.spectral_densities({"A: one | test 9%": spectrum(-6.5, 108), "B: one": spectrum(-1, 40),
                                             "A: two": spectrum(-2, 10), "B: two": spectrum(-1, 12)}),
        "bars": spectra_figures.class_ratio_bars(pd.DataFrame({"class": ["0 a", "1 b"] * 2, "ratio": [0.1, 0.2, 0.3, 0.4],
                                                     "method": ["SGD", "SGD", "SAM", "SAM"]})),
    }
    for name, fig in figures.items():
        assert fig.get_figwidth() <= figure_style.COLUMN_INCHES + 0.01, name
        assert not [ax for ax in fig.axes if ax.get_legend() is not None and name not in ("spectra",)], name
        plt.close(fig)
    wide, _ = plt.subplots(figsize=(9, 3))
    import pytest
    with pytest.raises(ValueError, match="figure too_wide is 9.00 in wide"):
        figure_style.publish("too_wide", wide)
