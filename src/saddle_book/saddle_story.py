"""Chapter 2's closing section, "Is the saddle story right?": the mechanism's claims at a scale from the records
that exist (nothing trained or computed), judged within the scale's declared mechanism family, side by side across
scales, and the section's evidence table with the numbers it glues. Chapter 7 and the landing page read the same
verdicts (recorded_mechanism, mechanism_verdicts)."""
from __future__ import annotations

import re

import pandas as pd

from saddle import grid
from saddle.analyse import STORED
from saddle.results import find_record

from . import catalog, mechanism, page_tables, rule
from .saddle_points import radius_sweep
from .saddle_setup import resolve_parameters, sweep_records
from .spectra_claims import group_claims


# The mechanism's claims, in the order chapter 2's closing reads them, each worded for every scale (a scale's tuned
# radius differs): what the table across scales shows.
MECHANISM_CLAIMS = {
    "tail_saddle": "tail classes end at a larger |lambda_min/lambda_max| than head classes (CE+DRW; tail minus head)",
    "tail_stationary": "the tail classes end with a smaller class gradient norm than the head classes (CE+DRW; tail "
                       "minus head)",
    "sam_large_rho_tail_min": f"SAM at the paper's rho {grid.MECHANISM_RHO:g} raises the tail group's lambda_min "
                              "over CE+DRW's",
    "sam_ratio": "SAM at the scale's tuned rho lowers the tail group's |lambda_min/lambda_max| under CE+DRW's "
                 "(Fig. 3B)",
    "sam_tail_min": "SAM at the scale's tuned rho raises the tail group's lambda_min over CE+DRW's",
    "lmin_tracks_tail_acc": "over the tail classes within each run, lambda_min rises with test accuracy (rank "
                            "correlation per run, a seed's three runs averaged)",
    "negative_in_residual": "the book's own hypothesis, not the paper's: |lambda_min(R)| grows with the class's "
                            "unfitted training loss (rank correlation within each run, a seed's runs averaged)",
}


def recorded_mechanism(scale: str) -> pd.DataFrame:
    """The mechanism's claims at `scale` from the records that exist (nothing trained or computed), each judged by
    the one rule, indexed by key: the group claims on class spectra (the validated protocol's seeds, its tuned
    radius), Fig. 3 C's radius sweep and the curvature split's claims at the tuned radius and the paper's: every
    claim of the scale's mechanism family that chapter 2 judges on more than one seed, so that Holm's correction
    over them is the chapter's. What chapter 2 sets beside its other scale."""
    split = mechanism.recorded_claims(scale)
    if grid.protocol_rho("CE+DRW+SAM", scale, "validated") is None:
        return split
    seeds, sweep_seeds, rho_sweep, rho, estimator = resolve_parameters(scale, "validated", *[None] * 6)
    baseline = find_record(grid.protocol_config("CE+DRW", scale, seed=seeds[0]))
    if baseline is None:
        return split
    groups, n_classes = baseline["groups"], len(baseline["class_names"])
    spectra = estimator.recorded(scale, "validated", seeds, rho, baseline["config"]["epochs"], groups["tail"])
    claims = list(group_claims(spectra, groups, n_classes))
    sweep = pd.DataFrame(STORED.sweep_rows(sweep_records(scale, "validated", sweep_seeds, rho_sweep),
                                           iters=estimator.iters, max_per_class=estimator.max_per_class))
    if len(sweep):
        runs = set(zip(sweep["seed"], sweep["rho"]))
        swept = [s for s in sweep_seeds if {(s, 0.0), (s, max(rho_sweep))} <= runs]
        if swept:
            claims.append(radius_sweep(sweep[sweep["seed"].isin(swept)], swept, len(groups["tail"]))[0])
    rows = pd.DataFrame([{"key": key, **rule.claim_row(text, diffs, kind)}
                         for key, text, diffs, kind in claims]).set_index("key")
    return pd.concat([rows, split.drop(index=list(rows.index), errors="ignore")])


def _cell(row) -> str:
    """One claim at one scale as a table cell: difference, 95% interval, verdict (and Holm's where it differs),
    seeds."""
    if not row["seeds"]:
        return "not measured"
    interval = "" if pd.isna(row["low"]) else f" [{row['low']:+.2f}, {row['high']:+.2f}]"
    return f"{row['ours']:+.2f}{interval}, {rule.holm_phrase(row)} ({rule.seeds_phrase([row['seeds']])})"


def across_scales(by_scale: dict) -> pd.DataFrame:
    """{scale: recorded_mechanism(scale)} as one table: a row per mechanism claim, a column per scale; Holm's
    correction runs over each scale's declared mechanism family (one family a scale), as in chapter 2."""
    keys = [k for k in MECHANISM_CLAIMS if any(k in frame.index for frame in by_scale.values())]
    family = {scale: mechanism_verdicts(frame, scale) for scale, frame in by_scale.items()}
    return pd.DataFrame([{"claim": MECHANISM_CLAIMS[k], **{scale: _cell(frame.loc[k]) if k in frame.index
                                                           else "not measured" for scale, frame in family.items()}}
                         for k in keys], index=pd.Index(keys, name="key"))


def scale_cells(table: pd.DataFrame, scale: str, keys) -> dict:
    """One scale's cells of across_scales for prose, by key ('not measured yet' where the table has none)."""
    column = table[scale] if scale in table.columns else pd.Series(dtype=object)
    return {key: column.get(key, "not measured yet") for key in keys}


def mechanism_verdicts(frame: pd.DataFrame, scale: str) -> pd.DataFrame:
    """One scale's claims of its declared mechanism family (catalog.mechanism_family: `mechanism, <scale>`, the
    claims of catalog.MECHANISM_IDS) with Holm's correction within it (rule.holm_within), as chapter 2, chapter 7
    and the landing page apply it; a scale without a declared family corrects over its mechanism claims alone."""
    rows = frame.loc[[k for k in catalog.MECHANISM_IDS if k in frame.index]]
    family = catalog.mechanism_family(scale)
    return rule.holm_within(family, rows) if family else rule.holm_verdicts(rows)


def _counts(family: pd.DataFrame) -> tuple[int, int, int] | None:
    """Of a scale's mechanism family (Holm applied): how many of the paper's claims in the table across scales are
    measured, how many hold and how many run against the paper after Holm's correction (the book's own hypotheses
    are not counted); None where none is measured."""
    shown = family.loc[[k for k in MECHANISM_CLAIMS if k in family.index]]
    measured = shown[shown["seeds"] > 0]
    if measured.empty:
        return None
    reproduced, contradicted = rule.VERDICTS[:2]
    papers = measured.drop(index=list(catalog.OWN_HYPOTHESES), errors="ignore")  # the book's are not counted
    return (len(papers), int((papers["verdict (Holm)"] == reproduced).sum()),
            int((papers["verdict (Holm)"] == contradicted).sum()))


def held_counts(by_scale: dict) -> str:
    """Per scale, in a phrase: of the paper's mechanism claims measured there, how many hold and how many run
    against the paper after Holm's correction within the scale's family ('at cpu 0 of 6 hold and 0 run against
    the paper; ...')."""
    parts = []
    for scale, frame in by_scale.items():
        counts = _counts(mechanism_verdicts(frame, scale))
        if counts is None:
            parts.append(f"at {scale} none is measured yet")
            continue
        n, held, against = counts
        parts.append(f"at {scale} {held} of {n} {'holds' if held == 1 else 'hold'} and {against} "
                     f"{'runs' if against == 1 else 'run'} against the paper")
    return "; ".join(parts)


def stationary_reach(split: pd.DataFrame) -> str:
    """Whether CE+DRW's tail is stationary on the scale SAM perturbs (`split`: mechanism.summary_across_scales):
    how far a step's first-order change of the class loss outweighs its negative curvature's second-order one, in
    a sentence ('' without a CE+DRW row with negative curvature)."""
    if split.empty or not {"H_min", "grad_norm"} <= set(split.columns):
        return ""
    sgd = split.xs(0.0, level="rho")
    sgd = sgd[sgd["H_min"] < 0]
    if not len(sgd):
        return ""
    # The largest first-order change of the class loss over a step of length r is ||g|| r; the largest
    # second-order one from negative curvature is |lambda_min| r^2 / 2: the first outweighs the second while
    # r < 2 ||g|| / |lambda_min|.
    reach = {scale: 2 * r["grad_norm"] / abs(r["H_min"]) for scale, r in sgd.iterrows()}
    slope = min(reach.values()) > grid.MECHANISM_RHO
    return (
        "Is CE+DRW's tail stationary where its curvature is measured? Its gradient norm is " +
        ", ".join(f"{r['grad_norm']:.3g} at {scale}" for scale, r in sgd.iterrows()) + " against lambda_min " +
        ", ".join(f"{r['H_min']:.3g}" for _, r in sgd.iterrows()) + " (means over the tail classes and seeds), "
        "so a step's first-order change of the class loss outweighs the negative curvature's second-order one "
        "up to a step of about " + ", ".join(f"{d:.2f}" for d in reach.values()) + " in parameter space "
        "(2 ||g|| / |lambda_min|), " +
        (f"beyond the paper's radius {grid.MECHANISM_RHO:g}: on the scale SAM perturbs, the class gradient is "
         "not small next to the negative curvature, so the tail's end point fails the first condition of a "
         "saddle." if slope else
         f"inside the paper's radius {grid.MECHANISM_RHO:g} at one scale at least: there SAM's perturbation "
         "feels the curvature before the slope."))


# The section "Is the saddle story right?": the claims it gathers, in its order, each with the family it is judged
# in: the scale's declared mechanism family, the family added after its data (mechanism.AFTER_DATA_IDS), or the
# declared family again for the book's own hypothesis, which no count for or against the paper includes.
EVIDENCE = {
    "tail_stationary": ("the tail's class gradient norm is smaller than the head's (CE+DRW; tail minus head)",
                        "declared"),
    "sam_large_rho_tail_min": (f"SAM at rho {grid.MECHANISM_RHO:g} raises the tail's lambda_min (SAM minus CE+DRW)",
                               "declared"),
    "sam_ratio": ("SAM at the tuned rho lowers the tail's |lambda_min/lambda_max| (Fig. 3B)", "declared"),
    "sam_large_rho_ratio": (f"SAM at rho {grid.MECHANISM_RHO:g} lowers the tail's |lambda_min/lambda_max| (Fig. 3B)",
                            "added after its data"),
    "large_rho_tail_acc": (f"SAM at rho {grid.MECHANISM_RHO:g} raises CE+DRW's tail accuracy (points)",
                           "added after its data"),
    "large_rho_acc": (f"SAM at rho {grid.MECHANISM_RHO:g} raises CE+DRW's overall accuracy (points)",
                      "added after its data"),
    "lmin_tracks_tail_acc": ("within each run, lambda_min rises with a tail class's test accuracy (rank correlation)",
                             "declared"),
    "negative_in_residual": ("|lambda_min(R)| rises with a tail class's training loss, within each run (rank "
                             "correlation)", "declared; the book's own hypothesis"),
}
CORRELATIONS = {"lmin_tracks_tail_acc": ("H_min", "test acc", None), "negative_in_residual": ("R_min", "loss", "abs")}


def scale_slug(scale: str) -> str:
    """A scale in glue keys: 'regime' for the regime scale (its name has a dash), else the scale's name."""
    return "regime" if scale == grid.REGIME_SCALE else scale


def evidence(by_scale: dict, after_by_scale: dict, rows_by_scale: dict) -> tuple[pd.DataFrame, dict]:
    """The section's table, a row per EVIDENCE claim and a column per scale (difference, 95% interval, verdict after
    Holm's correction within its family, seeds), and the numbers it glues, per scale slug: story_<slug>_<key> (the
    cell), story_<slug>_<key>_verdict (its verdict words), the split's means over seeds and tail classes for CE+DRW
    ('sgd') and SAM at the paper's radius ('large'): hmin, hmax, ratio (the tail group's |lambda_min/lambda_max|) and
    fit (training accuracy, %), and each correlation's mean per arm over seeds and its pooled mean ('<key>_arms',
    '<key>_pooled'). by_scale: recorded_mechanism per scale; after_by_scale: mechanism.after_data_claims (Holm
    applied); rows_by_scale: mechanism.split_rows."""
    texts, columns = {}, {}
    for scale in by_scale:
        slug, family = scale_slug(scale), mechanism_verdicts(by_scale[scale], scale)
        frames = {"declared": family, "added after its data": after_by_scale.get(scale, pd.DataFrame())}
        column = {}
        for key, (_, where) in EVIDENCE.items():
            frame = frames[where.split(";")[0]]
            measured = key in frame.index and frame.loc[key, "seeds"]
            column[key] = _cell(frame.loc[key]) if measured else "not measured"
            texts[f"story_{slug}_{key}"] = column[key]
            texts[f"story_{slug}_{key}_verdict"] = rule.holm_phrase(frame.loc[key]) if measured else \
                "not measured"
        columns[scale] = column
        texts.update(_split_numbers(rows_by_scale.get(scale, pd.DataFrame()), slug))
    table = pd.DataFrame([{"claim": text, "family": where, **{scale: columns[scale][key] for scale in columns}}
                          for key, (text, where) in EVIDENCE.items()], index=pd.Index(list(EVIDENCE), name="key"))
    return table, texts


def _split_numbers(rows: pd.DataFrame, slug: str) -> dict:
    """evidence()'s numbers from one scale's split rows ('n/a' without them)."""
    names = [f"{side}_{name}" for side in ("sgd", "large") for name in ("hmin", "hmax", "ratio", "fit")]
    texts = {f"story_{slug}_{name}": "n/a" for name in names}
    texts.update({f"story_{slug}_{key}_{part}": "n/a" for key in CORRELATIONS for part in ("arms", "pooled")})
    if rows.empty:
        return texts
    per_run = rows.assign(ratio=(rows["H_min"] / rows["H_max"]).abs()).groupby(["rho", "seed"]).mean(
        numeric_only=True).groupby("rho").mean()  # the tail group's mean per run, then the mean over seeds
    for side, rho in (("sgd", 0.0), ("large", grid.MECHANISM_RHO)):
        if rho in per_run.index:
            values = per_run.loc[rho]
            texts.update({f"story_{slug}_{side}_hmin": f"{values['H_min']:.3g}",
                          f"story_{slug}_{side}_hmax": f"{values['H_max']:.3g}",
                          f"story_{slug}_{side}_ratio": f"{values['ratio']:.3f}",
                          f"story_{slug}_{side}_fit": f"{values['train acc']:.0f}"})
    for key, (x, y, transform) in CORRELATIONS.items():
        table = mechanism.rank_correlations(rows, x, y, transform).mean()
        arms = [c for c in table.index if isinstance(c, float)]
        texts[f"story_{slug}_{key}_arms"] = ", ".join(
            f"{'CE+DRW' if rho == 0 else f'SAM {rho:g}'} {table[rho]:+.2f}" for rho in sorted(arms))
        texts[f"story_{slug}_{key}_pooled"] = f"{table['pooled']:+.2f}"
    return texts


# The claims of the section "Is the saddle story right?" with those the table across scales adds, in the order
# the paper's story runs: the tail at a saddle, stationary; what SAM does to it; what it costs; the correlations.
EVIDENCE_ORDER = ("tail_saddle", "tail_stationary", "sam_large_rho_tail_min", "sam_tail_min", "sam_ratio",
                  "sam_large_rho_ratio", "large_rho_tail_acc", "large_rho_acc", "lmin_tracks_tail_acc",
                  "negative_in_residual")


def evidence_table(story: pd.DataFrame, across: pd.DataFrame) -> pd.DataFrame:
    """One table of the chapter's evidence at both scales: evidence()'s rows, and those of across_scales() that it
    lacks (judged in the scale's declared mechanism family, as evidence()'s declared rows are), each claim once, in
    EVIDENCE_ORDER; the columns of `story` (claim, family, one per scale)."""
    extra = across.drop(index=list(story.index), errors="ignore").assign(family="declared")
    table = pd.concat([story, extra[[c for c in story.columns if c in extra.columns]]])
    order = [k for k in EVIDENCE_ORDER if k in table.index] + [k for k in table.index if k not in EVIDENCE_ORDER]
    return table.loc[order]


def _two_lines(cell: str) -> str:
    """An evidence cell ('+3.20 [+1.41, +4.98], contradicted before Holm's correction, inconclusive after it
    (5 seeds)') in two lines for a narrow table, the verdict first: the verdict after Holm's correction (with the
    one before it where they differ), then the difference with its interval, unbroken, and the seeds. Any other
    text ('not measured') as it is."""
    match = re.fullmatch(r"([^,\[]+(?: \[[^\]]*\])?), (.+) \(([^()]*seeds?)\)", cell)
    if not match:
        return cell
    numbers, verdict, seeds = match.groups()
    changed = re.fullmatch(r"(.+) before Holm's correction, (.+) after it", verdict)
    if changed:
        verdict = f"{changed.group(2)} after Holm ({changed.group(1)} before)"
    return f"{verdict}\n{numbers.replace(' ', chr(0xA0))} ({seeds})"


def evidence_display(table: pd.DataFrame) -> pd.DataFrame:
    """evidence_table() for a page at a laptop's width: the family named in the claim where it is not the declared
    one, the quantities as symbols, and each scale's cell in two lines, verdict first (_two_lines); columns claim
    and one per scale, named with the seeds where every cell of the scale has the same ('cpu, 5 seeds')."""
    claims = [page_tables.symbols(claim if family == "declared" else f"{claim} ({family.removeprefix('declared; ')})")
              for claim, family in zip(table["claim"], table["family"])]
    scales = [c for c in table.columns if c not in ("claim", "family")]
    return pd.DataFrame({"claim": claims, **dict(_seeds_in_header(s, [_two_lines(c) for c in table[s]])
                                                 for s in scales)}, index=table.index)


def _seeds_in_header(scale: str, cells: list[str]) -> tuple[str, list[str]]:
    """(column name, cells): where every cell ends with the same ' (N seeds)', the seeds move into the name."""
    ends = {match.group(1) if (match := re.search(r" \((\d+ seeds?)\)$", c)) else None for c in cells}
    if len(ends) != 1 or None in ends:
        return scale, cells
    seeds = ends.pop()
    return f"{scale}, {seeds}", [c.removesuffix(f" ({seeds})") for c in cells]


def recorded_evidence(scales=("cpu", grid.REGIME_SCALE)) -> tuple[pd.DataFrame, dict, dict]:
    """evidence() from the committed records of `scales` (nothing trained or computed), and the recorded_mechanism
    frames it read (both_scales takes them)."""
    by_scale = {s: recorded_mechanism(s) for s in scales}
    runs, rows, after = {}, {}, {}
    for s in scales:
        runs[s], rows[s], _ = mechanism.recorded_runs_and_rows(s)
        after[s] = mechanism.after_data_claims(rows[s], runs[s], scale=s)
    table, texts = evidence(by_scale, after, rows)
    return table, texts, by_scale


def both_scales(scales=("cpu", grid.REGIME_SCALE), by_scale: dict | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Chapter 2's side-by-side section from committed records: the claims table across `scales`, the split's
    means per scale and radius, and the texts it glues (the closing paragraph, its counts and its sentence on
    stationarity apart, every mechanism claim's regime cell).
    by_scale: recorded_mechanism of each scale where already read."""
    by_scale = by_scale if by_scale is not None else {s: recorded_mechanism(s) for s in scales}
    split = mechanism.summary_across_scales(by_scale)
    table = across_scales(by_scale)
    large = (grid.REGIME_SCALE, grid.MECHANISM_RHO)
    texts = {"evidence_counts": held_counts(by_scale),
             "evidence_reach": stationary_reach(split),
             "regime_large_fit": f"{split.loc[large, 'train acc']:.0f}%" if large in split.index else "n/a",
             **{f"regime_{key}": text for key, text in scale_cells(table, grid.REGIME_SCALE, MECHANISM_CLAIMS).items()}}
    return table, split, texts


def split_beside(split_by_scale: pd.DataFrame, scale: str, split_table: pd.DataFrame) -> pd.DataFrame:
    """The split's means per scale and radius (both_scales) with this chapter's own scale's (mechanism.summary,
    indexed by radius) added where it is not one of them: each scale's rows once."""
    if split_table.empty or (len(split_by_scale) and scale in split_by_scale.index.get_level_values("scale")):
        return split_by_scale
    return pd.concat([split_by_scale, pd.concat({scale: split_table}, names=["scale"])])
