"""Tables for a book page: typeset HTML (no index column, the quantities as symbols, numbers to a few significant
digits), a chapter's claims with their verdicts, a long table folded with its CSV, and numbers and lists as the
prose writes them."""
from __future__ import annotations

import html
import math
import re


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
        page += ("<details><summary>Each claim in a sentence (click to unfold)</summary>\n"
                 f"{bullet_list(sentences)}\n</details>")
    return page


def bullet_list(lines) -> str:
    """Markdown bullets ('- **x**: ...') as an HTML list, their inline markdown as HTML, the rest escaped."""
    items = "".join(f"<li>{_inline_markdown(line.removeprefix('- '))}</li>\n" for line in lines)
    return f"<ul>\n{items}</ul>"


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


def titled(title: str, table: str) -> str:
    """HTML: a table (typeset, a str) under its title in bold, as a glued block of several tables shows each."""
    return f"<p><b>{title}</b></p>" + table


def blocks(parts, empty: str) -> str:
    """HTML: titled tables one after another, or `empty` (the page's words) where a section made none."""
    return "\n".join(parts) or empty


def show(title: str, frame) -> None:
    """A bold title, then the table: a frame as the notebook shows it, or a typeset table (HTML, a str)."""
    from IPython.display import HTML, Markdown, display
    display(Markdown(f"**{title}**"))
    display(HTML(frame) if isinstance(frame, str) else frame)


def typeset_by(frame, column: str, digits: int = 3, wrap=("claim",), columns=None, empty: str = "") -> str:
    """typeset() once per value of `column` (e.g. the method), each table under that value in bold and without the
    column: narrower tables that fit a dropdown at a laptop's width, in the frame's order. `columns`: those kept,
    `column` among them, in order; `empty`: the page's words where the frame has no rows (not computed here)."""
    if not len(frame):
        return empty
    frame = frame if columns is None else frame[list(columns)]
    parts = []
    for value in dict.fromkeys(frame[column]):
        part = frame[frame[column] == value].drop(columns=[column])
        parts.append(f"<p><b>{html.escape(str(value))}</b></p>\n" + typeset(part, digits, wrap=wrap))
    return "\n".join(parts)


def verdict_rows(family, digits: int = 3, paper: bool = False):
    """A family of claims (verdict rows: rule.claim_row or scorecard.assess, with holm_within's columns where the
    family has them) as the frame verdict_first and verdict_groups typeset: the verdict after Holm's correction,
    with the one before it where they differ; the claim; the mean difference with its 95% interval to `digits`
    significant digits; with `paper`, the paper's difference; the seeds; the Holm-adjusted p; where the family has
    it, the exact sign-flip p before correction (the t-interval assumes normal differences). A row outside any
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
    if "p (sign-flip)" in family:  # exact, free of the t-test's normality; at least 2 / 2^n on n seeds
        table["p (sign-flip)"] = [significant(r["p (sign-flip)"], 3) for r in rows]
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
