"""The figures' readability rules that a reader relies on: eigenvalue ticks that can be read, group styles."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from saddle import plots  # noqa: E402
from saddle.hessian import Spectrum  # noqa: E402


def spectrum(low, high):
    values = np.linspace(low, high, 20)[None]
    return Spectrum(values, np.full_like(values, 1 / 20))


def test_spectral_density_ticks_are_zero_and_powers_of_ten_written_plainly():
    fig = plots.spectral_densities({"A: one": spectrum(-6.5, 108), "B: two": spectrum(-0.3, 40)})
    ax = fig.axes[0]
    fig.canvas.draw()
    left, right = ax.get_xlim()
    assert (left, right) == (-1.6 * 6.5, 1.6 * 108)  # a margin past both extremes, shared by the panels
    assert list(ax.get_xticks()) == [-10, -1, 0, 1, 10, 100]  # -100 and 1000 lie past the limits
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-10", "-1", "0", "1", "10", "100"]
    plt.close(fig)


def test_ratio_over_training_styles_each_group_and_keeps_shades_off_black():
    rows = [{"method": "SGD", "epoch": e, "class": f"{c} c{c}", "group": g, "ratio": 0.1 + c / 100}
            for e in (1, 2) for c, g in enumerate(["head", "head", "mid", "mid", "tail", "tail"])]
    fig = plots.ratio_over_training(pd.DataFrame(rows), drw_epoch=2)
    markers = [line.get_marker() for line in fig.axes[0].get_lines()[:6]]  # the six classes' lines, in class order
    assert markers[0] == markers[1] and markers[2] == markers[3] and markers[4] == markers[5]
    assert len(set(markers)) == 3  # head, mid and tail: a style (marker and dashes) each
    for shade in plots._shades("#dd8452", 5) + plots._shades("#c44e52", 5):
        assert 0.15 < np.mean(shade) < 0.9  # neither near black nor near white
    plt.close(fig)


def test_book_tables_show_p_to_two_significant_digits_and_no_index():
    import pandas as pd
    from saddle import book
    html = book.table_html(pd.DataFrame({"ours": [2.874, -0.001], "p": [0.011351, 0.0000321]}), digits={"p": 2})
    assert "0.011" in html and "3.2e-05" in html and "2.87" in html and "-0.00" not in html
    assert "<th></th>" not in html and 'white-space: nowrap' in html


def test_verdict_bars_stack_every_verdict_in_the_rule_order_with_the_legend_below():
    import pandas as pd

    from saddle import plots, scorecard
    assert list(plots.VERDICT_COLOURS) == list(scorecard.VERDICTS)  # one colour for each word, in the rule's order
    reproduced, contradicted, inconclusive = scorecard.VERDICTS[:3]
    claims = pd.DataFrame({"chapter": ["4", "4", "4", "2"],
                           "verdict": [inconclusive, reproduced, reproduced, contradicted]})
    fig = plots.verdict_bars(claims, "chapter", order=["4", "2"])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [reproduced, contradicted, inconclusive]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["4", "2"]
    assert [[bar.get_width() for bar in c] for c in ax.containers] == [[2, 0], [0, 1], [1, 0]]
    legend_top = ax.get_legend().get_window_extent().y1
    assert legend_top < ax.get_window_extent().y0  # below the axes, over no bar
    assert fig.get_size_inches()[0] <= plots.COLUMN_INCHES
    plt.close(fig)


def test_publish_glues_a_figure_or_the_no_runs_figure_and_closes_it(monkeypatch):
    import matplotlib.pyplot as plt
    import myst_nb

    from saddle import plots
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, fig, display: glued.setdefault(name, fig))
    fig, _ = plt.subplots()
    plots.publish("a", fig)
    plots.publish("b")
    assert glued["a"] is fig and glued["b"].axes[0].texts[0].get_text() == "no runs recorded yet"
    assert not {glued["a"].number, glued["b"].number} & set(plt.get_fignums())  # both closed


def test_toy_saddle_slider_is_self_contained_with_one_step_per_radius():
    import json
    import re

    from saddle.theory import SaddleToy
    page = plots.toy_saddle_slider(SaddleToy(), (1.0, 0.01), [0.05, 0.5, 1.0], steps=20)
    assert "<script" in page and not re.search(r'<script[^>]+src="http', page)  # plotly inlined: works offline
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{\"displaylogo",
                                  page, re.S).group(2))
    steps = figure["sliders"][0]["steps"]
    assert [s["label"] for s in steps] == ["0.05", "0.5", "1"]
    assert [s["args"][0]["visible"] for s in steps][1] == [True, True, False, True, False]
