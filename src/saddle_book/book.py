"""What the chapter notebooks share: parameter checks, the paper's numbers, and tables of run records."""
from __future__ import annotations

import ast
import html
import math
import re
import statistics

from saddle import runner
from saddle.checks import check_choice
from saddle.config import check_field
from saddle.data import DATASETS
from saddle.grid import (GRIDS, SAM_METHODS, TUNE_GRID, method_config, table5_rho, tuned_rho, tuning_plan,
                         tuning_sweep, tuning_table)
from saddle.grid import REGIME_MAX_PER_CLASS  # noqa: F401 (named here by appendix_differences.md and the tests)
from saddle.results import train_group_accuracy
from .catalog import paper_results
from .rule import seeds_phrase

BOOK_SCALES = ("smoke", "cpu", "paper")  # "large" runs are torchrun jobs of their own (chapter 5)


def assigned_names(source: str) -> list[str]:
    """The names a cell's source assigns at its top level, in order (tuple targets included)."""
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def check_parameter_names(history) -> None:
    """Refuse a papermill parameter the chapter does not have (papermill itself only warns and runs the chapter
    with its defaults). `history`: IPython's `In`, the sources of the cells run so far: the chapter's `parameters`
    cell is the first, papermill's injected cell the one that starts with '# Parameters'."""
    cells = [c for c in history if c and c.strip()]
    if not cells:
        return
    declared = set(assigned_names(cells[0]))
    injected = [c for c in cells[1:] if c.lstrip().startswith("# Parameters")]
    unknown = [n for c in injected for n in assigned_names(c) if n not in declared]
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; this chapter's parameters are "
                         f"{', '.join(sorted(declared))}")


def chapter_precision(precision) -> str:
    """A chapter's `precision` parameter checked, 'fast' resolved to this machine's choice (train.fast_precision,
    said in the cell's output)."""
    from saddle.train import fast_precision
    check_choice("precision", precision, ("fp32", "bf16", "fast"))
    if precision != "fast":
        return precision
    chosen, why = fast_precision()
    print(f"precision fast: {why}")
    return chosen


def check_parameters(scale: str, rho: float | None = None, seeds=None, dataset: str | None = None,
                     epoch_rule: str | None = None, imbalances=None, tables=None, protocol: str = "paper",
                     workers: int | None = None, datasets=None, methods=None, rhos=None,
                     scales=BOOK_SCALES) -> None:
    """Fail in a chapter's first cell, with the accepted values, before any work is done. The book builds at
    smoke, cpu or paper scale; the large scale's runs are separate torchrun jobs (chapter 5). `protocol`: whose
    runs `epoch_rule` reads; the paper protocol's hold out no validation images, so they have no 'best_val' epoch.
    datasets and methods: lists of names, each checked as `dataset` is and as grid.method_config reads it; rhos:
    radii, each checked as `rho` is; scales: those the chapter accepts (chapter 2 also reads the regime scale).
    Numbers are held to a run config's ranges (config.check_field), as the CLI's are."""
    if not isinstance(scale, str):
        raise ValueError(f"scale must be a string, one of {', '.join(scales)}; got {scale!r}")
    check_choice("scale", scale, scales)
    if epoch_rule is not None:
        rules = ("final", "best_val", "best") if protocol == "validated" else ("final", "best")
        if epoch_rule == "best_val" and protocol != "validated":
            raise ValueError("epoch_rule 'best_val' needs a validation split, which the paper protocol's runs (this "
                             f"chapter's tables) do not hold out; accepted: {', '.join(rules)}")
        check_choice("epoch_rule", epoch_rule, rules)
    if imbalances is not None and not isinstance(imbalances, (list, tuple)):
        raise ValueError(f"imbalances must be a list of numbers >= 1, got {imbalances!r}")
    for b in imbalances or ():
        check_field("imbalance", b)
    for table in tables or ():
        check_choice("table", table, tuple(GRIDS))
    for value in [rho, *(rhos or ())]:
        check_field("rho", value)
    if seeds is not None and (not isinstance(seeds, (list, tuple)) or not seeds):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    for seed in seeds or ():
        check_field("seed", seed)
    for name in ([dataset] if dataset is not None else []) + list(datasets or ()):
        check_choice("dataset", name, DATASETS)
    if methods is not None:
        for method in methods:
            method_config(method, scale)  # an unknown method fails here, with the accepted form
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 (processes of one thread each), got {workers!r}")


def chapter_settings(scale: str, **given) -> tuple:
    """A chapter's parameters with None resolved for `scale`, in the order given (one name: its value): the one
    place the chapters' defaults live. smoke takes the least that runs every code path; the cpu book reads the
    committed records, so it trains nothing unless train_missing=True. Names: seeds (the paper protocol's, 0-2),
    validated_seeds (the validated protocol's, 0-4), iters (Lanczos steps), max_per_class (images per class in a
    spectrum), train_missing, dataset_names, imbalances (Tables 7-8), rhos (Fig. 4), tables (chapter 4's; smoke
    leaves out Table 2), methods (Table 1's eight)."""
    from saddle.grid import chapter_defaults
    from saddle.results import read_only
    defaults = chapter_defaults(scale)
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"unknown chapter setting(s) {', '.join(sorted(unknown))}; known: {', '.join(defaults)}")
    for name in ("iters", "max_per_class"):
        value = given.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    resolved = {name: defaults[name] if value is None else value for name, value in given.items()}
    if "train_missing" in resolved:
        resolved["train_missing"] = bool(resolved["train_missing"]) and not read_only()
    return tuple(resolved.values()) if len(resolved) > 1 else next(iter(resolved.values()))


def recipe_texts(guidance) -> dict:
    """The numbers chapter 6 quotes from recipe_guidance's first data set: the radius the recipe picks, how much
    accuracy it leaves to the best radius in hindsight, and that radius."""
    if not len(guidance):
        return {key: "not run here" for key in ("recipe_rho", "recipe_gap", "best_rho")}
    g = guidance.iloc[0]
    return {"recipe_rho": f"{g['recipe picks']:g}", "recipe_gap": f"{g['best acc'] - g['its acc']:.1f}",
            "best_rho": f"{g['best rho']:g}"}


def recipe_guidance(ours):
    """The paper's recipe for rho read off Fig. 4's runs (rows with data, rho, acc, tail): walk up the radii from
    0.05 and stop before the first one whose mean accuracy drops; beside it the best radius in hindsight (chosen
    on test numbers, so a reference only, never a choice) and SGD's accuracy."""
    import pandas as pd
    rows = []
    for name, group in ours.groupby("data") if len(ours) else []:
        mean = group.groupby("rho")[["acc", "tail"]].mean()
        radii = [r for r in sorted(mean.index) if r >= 0.05]
        if not radii:
            continue
        drops = [previous for previous, current in zip(radii, radii[1:])
                 if mean.loc[current, "acc"] < mean.loc[previous, "acc"]]
        chosen = drops[0] if drops else radii[-1]
        best = mean["acc"].idxmax()
        rows.append({"data": name, "radii tried": ", ".join(f"{r:g}" for r in radii), "recipe picks": chosen,
                     "its acc": mean.loc[chosen, "acc"], "its tail": mean.loc[chosen, "tail"],
                     "best rho": best, "best acc": mean.loc[best, "acc"], "best tail": mean.loc[best, "tail"],
                     "SGD acc": mean.loc[0.0, "acc"] if 0.0 in mean.index else None})
    return pd.DataFrame(rows)


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


def glue_texts(texts: dict) -> None:
    """Glue each value under its key for the chapter's prose ({glue:text}`key`), showing nothing in the cell."""
    from myst_nb import glue
    for key, text in texts.items():
        glue(key, text, display=False)


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
    print them (Python's format, not numpy's half-to-even): the same digits in the table and the text."""
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


def tail_fit(records, dataset: str):
    """Mean tail training accuracy (no augmentation, end of training) and seed count per method on `dataset`:
    did the method fit its tail?"""
    import pandas as pd
    rows = [(r["label"], train_group_accuracy(r, "tail")) for r in records
            if r is not None and r["status"] == "complete" and r["config"]["dataset"] == dataset]
    return pd.DataFrame(rows, columns=["method", "fit"]).groupby("method")["fit"].agg(["mean", "count"])


def fit_text(fits, method: str) -> str:
    """'55% (3 seeds)' from tail_fit(), or 'no runs yet' ('not run here' names a verdict)."""
    if method not in fits.index:
        return "no runs yet"
    return f"{fits.loc[method, 'mean']:.0f}% ({seeds_phrase([fits.loc[method, 'count']])})"


def fit_percent(fits, method: str) -> str:
    """'55%' from tail_fit(), or 'not run here' when `method` has no complete run."""
    return f"{fits.loc[method, 'mean']:.0f}%" if method in fits.index else "not run here"


def fit_table(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit):
    """Per SAM method: Table 5's radius and the tail it fits there, beside the radius tuned on validation (None:
    tuning incomplete) and the tail it fits there: where the two protocols part."""
    import pandas as pd
    return pd.DataFrame([{"method": m, "Table 5 rho": table5_rho(m, dataset),
                          "tail fitted (Table 5 rho)": fit_text(paper_fit, m),
                          "tuned rho (validation)": "tuning incomplete" if r is None else r,
                          "tail fitted (tuned rho)": fit_text(tuned_fit, m)} for m, r in tuned_rhos.items()]
                        ).set_index("method")


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


def fit_pair(method: str, tuned: float, table5: float, paper_fit, tuned_fit) -> str:
    """A SAM method's tail fit at Table 5's radius and at its tuned one, in a phrase."""
    where = "the same radius on the validated protocol" if tuned == table5 else f"the tuned {tuned:g}"
    return f"{method} {fit_text(paper_fit, method)} at Table 5's {table5:g}, {fit_text(tuned_fit, method)} at {where}"


def fit_pairs(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit) -> str:
    """fit_pair for every SAM method with a tuned radius and runs on both protocols, joined; or why there is none."""
    pairs = [fit_pair(m, r, table5_rho(m, dataset), paper_fit, tuned_fit) for m, r in tuned_rhos.items()
             if r is not None and m in tuned_fit.index and m in paper_fit.index]
    return "; ".join(pairs) or "no SAM method has runs on both protocols yet"


def fit_answer(tuned_fit, methods, bar: float = 90) -> str:
    """Which of `methods` fit their tail at the tuned radius, with `bar`% of the tail's training images as the bar."""
    have = [m for m in methods if m in tuned_fit.index]
    if not have:
        return "no SAM method has runs on the validated protocol yet"
    fitting = [m for m in have if tuned_fit.loc[m, "mean"] >= bar]
    short = [m for m in have if tuned_fit.loc[m, "mean"] < bar]
    parts = (f"{and_list(fitting)} {'fit their' if len(fitting) > 1 else 'fits its'} tail at the tuned radius"
             if fitting else "", f"{and_list(short)} still {'fall' if len(short) > 1 else 'falls'} short of it"
             if short else "")
    return f"at {bar:g}% of the tail's training images as the bar, " + "; ".join(p for p in parts if p)


def edge_sentence(tuned: dict) -> str:
    """A sentence on tuned radii (method -> rho or None) that sit at the smallest value their grid tried: there the
    best radius may lie below the grid, which a reader of the tuned table should know."""
    at_edge = [m for m, rho in tuned.items() if rho is not None and rho == min(TUNE_GRID[m])]
    if not at_edge:
        return "No tuned radius lies at the lower edge of its grid."
    return (f"{', '.join(at_edge)} chose the smallest radius tried ({', '.join(f'{tuned[m]:g}' for m in at_edge)}): "
            "a smaller one was not tried, so the best radius may lie below the grid.")


def tuning_runs(scale: str, dataset: str, methods=("CE+DRW", "CE+DRW+SAM")) -> dict:
    """{(rho, seed): record or None} of the tuning grid's `methods` on `dataset` (rho 0 for SGD), read only: the
    tuning runs are trained by `grid tune`, never by a chapter."""
    configs = tuning_sweep(scale, dataset, methods)
    found = runner.records(list(configs.values()))
    return {key: found[c.run_id] for key, c in configs.items()}


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


def and_list(names) -> str:
    """'A', 'A and B', 'A, B and C': names in a sentence."""
    names = list(names)
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def csv_link(frame, filename: str) -> str:
    """HTML: a link that downloads the whole frame as CSV (a data URI, so it works from any copy of the page)."""
    import base64

    csv = base64.b64encode(frame.to_csv(index=False).encode()).decode()
    return (f'<p><a download="{html.escape(filename)}" href="data:text/csv;base64,{csv}">Download the table as '
            f"CSV ({html.escape(filename)}, {len(frame)} rows)</a></p>")


def collapsed_table(frame, summary: str, filename: str) -> str:
    """HTML for a long table on a book page: a download link carrying the table as CSV (csv_link) and the full
    table folded under `summary`, every string in full."""
    import pandas as pd

    with pd.option_context("display.max_colwidth", None):
        table = frame.to_html(index=False, na_rep="")
    return (f"{csv_link(frame, filename)}\n"
            f"<details><summary>{html.escape(summary)}</summary>\n{table}\n</details>")


def significant(value, digits: int = 2) -> str:
    """A p-value or other small number to `digits` significant digits ('0.011', '3.2e-05'); '' for None/NaN."""
    if value is None or value != value:
        return ""
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.{digits - 1}e}"


def verdict_table(frame, sentences: list[str] | None = None) -> str:
    """A chapter's claims as one compact table (claim, ours with its 95% interval, the t-test's and the exact
    sign-flip p, the paper's number, the verdict and, where Holm's correction within the family changes it, the
    corrected one), with the claims' full sentences folded below it."""
    import pandas as pd

    def interval(row):
        if row["ours"] is None or row["ours"] != row["ours"]:
            return "not run here"
        if row["low"] is None or row["low"] != row["low"]:
            return f"{row['ours']:+.2f}"
        return f"{row['ours']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}]"
    claims = frame["claim"]
    if "data" in frame and frame["data"].nunique() > 1:
        claims = [f"{c} ({d})" for c, d in zip(frame["claim"], frame["data"])]
    ps, flips = ([frame[c] if c in frame else [None] * len(frame) for c in ("p", "p (sign-flip)")])
    table = pd.DataFrame({"claim": claims, "ours [95% interval]": [interval(r) for _, r in frame.iterrows()],
                          "p: t / exact sign-flip": [" / ".join(filter(None, (significant(p), significant(f))))
                                                     for p, f in zip(ps, flips)],
                          "paper": ["" if p is None or p != p else f"{p:+.2f}" for p in frame["paper"]],
                          "verdict": frame["verdict"]})
    if "verdict (Holm)" in frame and (frame["verdict (Holm)"] != frame["verdict"]).any():
        table["after Holm"] = frame["verdict (Holm)"]
    page = re.sub(r'<tr>\n(\s*)<td style="white-space: nowrap">', r'<tr>\n\1<td>', table_html(table))  # claims wrap
    if sentences:
        items = "".join(f"<li>{_inline_markdown(s.removeprefix('- '))}</li>\n" for s in sentences)
        page += f"<details><summary>Each claim in a sentence (click to unfold)</summary>\n<ul>\n{items}</ul>\n</details>"
    return page


def _inline_markdown(text: str) -> str:
    """The claim sentences' markdown (**bold**, *italic*) as HTML, everything else escaped."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\*(.+?)\*", r"<i>\1</i>", text)


def table_html(frame, digits: dict | None = None, decimals: int = 2) -> str:
    """A table for a book page: no index column, every cell in full and unwrapped, floats to `decimals` places
    except the columns of `digits` ({column: significant digits}, for p-values)."""
    import pandas as pd

    frame = frame.copy()
    for column in frame.columns:
        if column in (digits or {}):
            frame[column] = [significant(v, digits[column]) for v in frame[column]]
        elif pd.api.types.is_float_dtype(frame[column]):
            frame[column] = [("" if v != v else f"{v + 0.0:.{decimals}f}".replace("-0.00", "0.00"))
                             for v in frame[column]]
    frame = frame.astype(object).where(frame.notna(), "")  # to_html prints a nullable column's missing as <NA>
    with pd.option_context("display.max_colwidth", None):
        table = frame.to_html(index=False, escape=True)
    return table.replace("<td>", '<td style="white-space: nowrap">')


# How a typeset table heads the quantities the chapters' frames name in code
SYMBOLS = {"lambda_min": "λmin", "lambda_max": "λmax", "ratio": "|λmin/λmax|", "gradient norm": "‖g‖",
           "grad_norm": "‖g‖", "H_min": "λmin(H)", "G_min": "λmin(G)", "R_min": "λmin(R)", "H_max": "λmax(H)",
           "lambda_min_over_grad": "λmin/‖g‖"}
CELL_STYLE = "padding: 0.15em 0.45em"  # a dropdown gives a table no padding of its own


def symbols(text: str) -> str:
    """A claim's or a header's quantities as the page writes them: lambda_min -> λmin, lambda_max -> λmax,
    rho -> ρ."""
    for name, symbol in (("lambda_min", "λmin"), ("lambda_max", "λmax")):
        text = text.replace(name, symbol)
    return re.sub(r"\brho\b", "ρ", text)


def figures(value, digits: int = 3, sign: bool = False) -> str:
    """A number to at most `digits` significant digits, trailing zeros dropped, without an exponent from 0.001 up
    ('-0.0651', '356', '98.4', '0.05', '1230'), in scientific form below ('-1e-05', '1.16e-05'); '' for None/NaN,
    0 for -0.0; `sign`: '+' before a positive number (differences)."""

    if value is None or value != value:
        return ""
    value = float(value)
    plus = "+" if sign else ""
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        mantissa, exponent = f"{value:{plus}.{digits - 1}e}".split("e")
        return (mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa) + "e" + exponent
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, decimals)
    if abs(rounded) >= 10 ** (digits - decimals):  # 9.996 rounds up to 10.0: one decimal fewer
        decimals -= 1
        rounded = round(value, decimals)
    text = f"{rounded:{plus}.{max(decimals, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if float(text) == 0 else text


def _header(column) -> str:
    parts = column if isinstance(column, tuple) else (column,)
    return ", ".join(SYMBOLS.get(str(p), symbols(str(p))) for p in parts if str(p) != "")


def _cells(frame, digits: int, wrap) -> list[str]:
    """The body rows of a typeset table: each cell escaped, floats to `digits` significant digits."""
    import pandas as pd

    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column, value in zip(frame.columns, row):
            if isinstance(value, float):
                text = figures(value, digits)
            else:
                text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            style = CELL_STYLE + ("" if column in wrap else "; white-space: nowrap")
            cells.append(f'<td style="{style}">{html.escape(text).replace(chr(10), "<br>")}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def _table(columns, rows: list[str]) -> str:
    head = "".join(f'<th style="{CELL_STYLE}">{html.escape(_header(c))}</th>' for c in columns)
    return (f'<table border="1" class="dataframe">\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows)
            + "\n</tbody>\n</table>")


def typeset(frame, digits: int = 3, index: bool = False, wrap=("claim",)) -> str:
    """A table for a book page, for a frame a chapter computes: no index column (`index`: the frame's index, e.g. a
    pivot's row labels, becomes its first columns), a pivot's column levels joined in one header ('λmin, CE+DRW'),
    the quantities' names as SYMBOLS writes them, floats to `digits` significant digits (figures), every cell in
    full, unwrapped except the columns of `wrap` (long claims); a newline in a cell breaks its line."""
    frame = frame.reset_index() if index else frame
    return _table(frame.columns, _cells(frame, digits, wrap))


def paper_table(frame, digits: int = 3) -> str:
    """A table as the paper prints it beside ours (scorecard.side_by_side: methods as its index, a column per
    (metric, ours | paper)) typeset narrow enough for a laptop's column: the method a column of its own, then one
    column per metric whose cell holds ours (mean ± std over seeds, or 'not run here') over the paper's number
    ('paper 80.6'), each on one line."""
    import pandas as pd

    metrics = list(dict.fromkeys(metric for metric, _ in frame.columns))
    cells = {metric: [ours if paper in ("", None) else f"{ours}\npaper {paper}"
                      for ours, paper in zip(frame[(metric, "ours")], frame[(metric, "paper")])]
             for metric in metrics}
    return typeset(pd.DataFrame(cells, index=frame.index), digits, index=True, wrap=())


def show(title: str, frame) -> None:
    """A bold title, then the table: a frame as the notebook shows it, or a typeset table (HTML, a str)."""
    from IPython.display import HTML, Markdown, display
    display(Markdown(f"**{title}**"))
    display(HTML(frame) if isinstance(frame, str) else frame)


def typeset_by(frame, column: str, digits: int = 3, wrap=("claim",)) -> str:
    """typeset() once per value of `column` (e.g. the method), each table under that value in bold and without the
    column: narrower tables that fit a dropdown at a laptop's width, in the frame's order."""
    parts = []
    for value in dict.fromkeys(frame[column]):
        part = frame[frame[column] == value].drop(columns=[column])
        parts.append(f"<p><b>{html.escape(str(value))}</b></p>\n" + typeset(part, digits, wrap=wrap))
    return "\n".join(parts)


def verdict_rows(family, digits: int = 3, paper: bool = False):
    """A family of claims (verdict rows: rule.claim_row or scorecard.assess, with holm_within's columns where the
    family has them) as the frame verdict_first and verdict_groups typeset: the verdict after Holm's correction,
    with the one before it where they differ; the claim; the mean difference with its 95% interval to `digits`
    significant digits; with `paper`, the paper's difference; the seeds; the Holm-adjusted p. A row outside any
    declared family (no 'verdict (Holm)') keeps its raw verdict and shows its raw p, marked 'raw'. With several
    data sets each claim names its own."""
    import pandas as pd

    def interval(row):
        if row["ours"] is None or row["ours"] != row["ours"]:
            return "not run here"
        ours = figures(row["ours"], digits, sign=True)
        if row["low"] is None or row["low"] != row["low"]:
            return ours
        low, high = figures(row["low"], digits, sign=True), figures(row["high"], digits, sign=True)
        return f"{ours} [{low},{chr(0xA0)}{high}]"

    def judged(row):
        after, before = row.get("verdict (Holm)"), row["verdict"]
        if not isinstance(after, str):
            return before
        return after if after == before else f"{after} after Holm ({before} before)"

    def p_value(row):
        if isinstance(row.get("verdict (Holm)"), str):
            return significant(row["p (Holm)"], 2)
        raw = significant(row.get("p"), 2)
        return f"{raw} raw" if raw else ""
    rows = [row for _, row in family.iterrows()]
    claims = [symbols(c) for c in family["claim"]]
    if "data" in family and family["data"].nunique() > 1:
        claims = [f"{c} ({d})" for c, d in zip(claims, family["data"])]
    table = pd.DataFrame({"verdict": [judged(r) for r in rows], "claim": claims,
                          "ours [95% interval]": [interval(r) for r in rows]})
    if paper:
        table["paper"] = [figures(p, digits, sign=True) if p is not None and not isinstance(p, str) else ""
                          for p in family["paper"]] if "paper" in family else ""
    table["seeds"] = [str(int(s)) for s in family["seeds"]]
    table["p (Holm)"] = [p_value(r) for r in rows]
    return table


VERDICT_WRAP = ("verdict", "claim", "ours [95% interval]")


def verdict_first(family, digits: int = 3, paper: bool = False) -> str:
    """A chapter's family of claims (rule.Verdicts.frame()) as one table whose first column is the verdict after
    Holm's correction, with the one before it where they differ (what a phone shows first), then the claim, the
    mean difference with its 95% interval to `digits` significant digits, (with `paper`) the paper's difference,
    the seeds and the Holm-adjusted p (verdict_rows)."""
    return typeset(verdict_rows(family, digits, paper), digits, wrap=VERDICT_WRAP)


def verdict_groups(groups: dict, digits: int = 3, paper: bool = True) -> str:
    """Several lists of claims as one table, verdict first (verdict_rows): under each group's name (a row across
    the table, in bold: the family, its scale, protocol and epoch), its claims in their order; an empty group is
    left out. A chapter's verdicts in one table, to fold in a dropdown."""
    parts = {name: verdict_rows(frame, digits, paper) for name, frame in groups.items() if len(frame)}
    if not parts:
        return "<p>No claim has a verdict in this run of the chapter.</p>"
    columns = next(iter(parts.values())).columns
    rows = []
    for name, frame in parts.items():
        rows.append(f'<tr><td colspan="{len(columns)}" style="{CELL_STYLE}"><b>{html.escape(name)}</b></td></tr>')
        rows += _cells(frame, digits, VERDICT_WRAP)
    return _table(columns, rows)


def typeset_levels(frame, level: str, digits: int = 3) -> str:
    """A frame indexed by (`level`, one more level), e.g. the split's means by (scale, rho), as one narrow table per
    value of `level`, under it in bold: a row per column of the frame, a column per value of the other level
    ('ρ = 0.05'); for frames with more columns than a dropdown's width holds."""
    import pandas as pd

    other = [name for name in frame.index.names if name != level][0]
    parts = []
    for value, part in frame.groupby(level=level, sort=False):
        part = part.droplevel(level)
        columns = {v: symbols(f"{other} = {figures(v, digits) if isinstance(v, float) else v}") for v in part.index}
        table = part.rename(index=columns).T
        table.index = pd.Index([_header(c) for c in table.index], name="quantity")
        parts.append(f"<p><b>{html.escape(str(value))}</b></p>\n" + typeset(table, digits, index=True))
    return "\n".join(parts)


def tuning_rows(methods, scale: str, dataset: str | None = None, root=None) -> list[dict]:
    """Each tuning run's final validation accuracy, a row per (method, rho) with a column per tuning seed and an
    arrow at the radius select_rho chose (chapter 6's tuning table)."""
    rows = []
    for method in methods:
        chosen = tuned_rho(method, scale, root=root, dataset=dataset)
        seeds = tuning_plan(method, scale)[1]
        for rho, accs in tuning_table(method, scale, root=root, dataset=dataset).items():
            rows.append({"method": method, "rho": rho, **{f"val acc, seed {s}": a for s, a in zip(seeds, accs)},
                         "chosen": "<- tuned" if rho == chosen else ""})
    return rows


def radii_table(methods, scale: str, dataset: str):
    """Each SAM method's radius: Table 5's (CIFAR-10; 'none' for the methods after the paper) beside the one tuned
    on validation here ('tuning incomplete' until its tuning grid is recorded)."""
    import pandas as pd
    return pd.DataFrame([{"method": m, "Table 5 (CIFAR-10)": table5_rho(m, "cifar10") if m in SAM_METHODS else "none",
                          "tuned here": tuned_rho(m, scale, dataset=dataset) or "tuning incomplete"}
                         for m in methods]).set_index("method")


def recorded_minutes(records) -> dict:
    """Median wall minutes of the complete one-thread runs among `records` that trained start to end, by how many
    passes a step takes ('one pass': SGD, PGD, LPF-SGD; 'two passes': SAM, ImbSAM, CC-SAM): what a run has cost."""
    minutes = {"one pass": [], "two passes": []}
    for record in records:
        made = record.get("provenance") or {}
        if (record.get("status") != "complete" or made.get("threads") != 1 or made.get("resumed_from_epoch")
                or made.get("stacked_runs") or not made.get("wall_time_s")):
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
