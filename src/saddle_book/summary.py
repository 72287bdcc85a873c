"""What chapter 7 (the scorecard) and the landing page quote: every accuracy claim judged by data set, the headline
under both protocols, the CE+SAM reading of Table 1, the ledger's counts and costs, and the scorecard's tables and
verdict groups (the group titles chapter 4 shares). Reads records, never trains; every verdict comes from
saddle_book.scorecard's rule."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from saddle import grid, runner
from saddle.results import read_record, results_dir

from . import catalog, notebook, page_tables, rule, scorecard
from .run_tables import recorded_count
from .saddle_story import mechanism_verdicts, recorded_mechanism

HEADLINE = catalog.sam_claim("CE+DRW", 1, "tail")
CE_SAM_TAIL = catalog.Claim("ce-sam-tail-gain", "SAM raises CE's tail accuracy", 1, "CE+SAM", "CE", "tail")


def paper_seeds(seeds, table2_seeds=(0,)) -> dict:
    """The seeds of each table of the family `accuracy, paper protocol` (table -> list): `seeds` for Tables 1, 4,
    7, 8 and Fig. 4, `table2_seeds` for Table 2 (the step profile, one seed by default). Every page that judges the
    family's claims passes these, so that each corrects over the same claims on the same seeds."""
    return {1: list(seeds), 2: list(table2_seeds), 4: list(seeds), 7: list(seeds), 8: list(seeds),
            "fig4": list(seeds)}


def by_data(claims, scale: str, dataset_names, seeds, records: dict, epoch_rule: str,
            protocol: str = "paper") -> pd.DataFrame:
    """scorecard.assess_family on each data set (the claims' declared family corrected as a whole, per data set),
    stacked, with a `data` column."""
    return pd.concat([scorecard.assess_family(claims, scale, name, seeds, records, epoch_rule, protocol)
                      .assign(data=name) for name in dataset_names], ignore_index=True)


def validated_claims(scale: str, dataset_names, records: dict) -> pd.DataFrame:
    """Table 1's claims on the validated protocol's runs, at the final and at the best-validation epoch (`rule`),
    each epoch rule corrected within the declared family `accuracy, validated protocol`."""
    table1 = catalog.family_claims("accuracy, validated protocol")
    return pd.concat([by_data(table1, scale, dataset_names, list(grid.PROTOCOL_SEEDS), records, rule, "validated")
                      .assign(rule=rule) for rule in ("final", "best_val")], ignore_index=True)


def headline_texts(claims: pd.DataFrame, validated: pd.DataFrame, scale: str, dataset: str) -> dict:
    """The headline (SAM raises CE+DRW's tail) as the landing page quotes it: the paper protocol's verdict and
    interval beside the paper's gain, and the validated protocol's (final epoch, with Holm's correction within its
    family; best-validation epoch), on `dataset`."""
    paper = claims[claims["claim"] == HEADLINE.text].iloc[0]
    on_data = validated[(validated["claim"] == HEADLINE.text) & (validated["data"] == dataset)]
    final = on_data[on_data["rule"] == "final"].iloc[0]
    best_val = on_data[on_data["rule"] == "best_val"].iloc[0]
    family = int(((validated["rule"] == "final") & (validated["data"] == dataset)).sum())
    rho = grid.tuned_rho("CE+DRW+SAM", scale, dataset=dataset)
    return {"headline_verdict": paper["verdict"], "headline_interval": rule.interval_text(paper),
            "headline_paper": f"{paper['paper']:+.1f}", "headline_tuned_verdict": final["verdict"],
            "headline_tuned_holm": f"{final['verdict (Holm)']} after Holm's correction within its family of {family} "
                                   f"claims (adjusted p = {final['p (Holm)']:.2g})",
            "headline_tuned_interval": "no runs yet" if pd.isna(final["ours"])
            else f"{rule.interval_text(final)} on {final['seeds']} seeds",
            "headline_best_val": "no runs yet" if pd.isna(best_val["ours"])
            else f"{rule.interval_text(best_val)}, {best_val['verdict']}",
            "headline_tuned_rho": "not tuned yet" if rho is None else f"{rho:g}"}


def ce_sam_tail_text(paper: dict, validated: dict) -> str:
    """The paper reads Table 1 as "SAM needs re-weighting" (CE+SAM keeps CE's tail). Tested as a gain, the same
    paired differences say whether SAM moved CE's tail: `paper` and `validated` are CE_SAM_TAIL's rows."""
    if paper["ours"] is None:
        return "no CE+SAM and CE runs to compare"
    if (paper["low"] or 0) > 0:
        margin = catalog.claim_margin(catalog.CLAIMS_BY_ID["t1-ce-sam-tail"])  # the paper's own claim, as judged
        reading = ("the interval lies above zero, so on these runs SAM raises the tail without re-weighting, which "
                   "undercuts the paper's reading that SAM needs re-weighting to help the tail (the paper's own "
                   f"claim, that CE+SAM keeps CE's tail within ±{margin:g} points, is a different hypothesis; its "
                   "verdict is in the list below).")
    elif (paper["high"] or 0) < 0:
        reading = "the interval lies below zero: SAM lowers CE's tail here."
    else:
        reading = "the interval covers zero."
    text = (f"Without re-weighting, on the paper protocol's runs, SAM changes CE's tail accuracy by "
            f"{rule.interval_text(paper)} points (95% interval, {paper['seeds']} seeds): {reading}")
    if pd.isna(validated["ours"]):
        return text
    return (text + f" On the validated protocol (subsets resampled, final epoch) the change is "
            f"{rule.interval_text(validated)} on {validated['seeds']} seeds"
            + ("." if pd.isna(validated["low"]) else f": the interval {rule.side_of_zero(validated)}."))


def ledger_texts(claims: pd.DataFrame, changed: list[str], records: dict, validated_records: dict,
                 table_cells: pd.DataFrame) -> dict:
    """The scorecard's counts: claims by verdict, verdicts that change under the other epoch rule, runs and table
    cells with records, and what training them cost (hours summed over runs, resumed runs estimated)."""
    have = recorded_count(validated_records)
    cost = runner.training_time(records)
    return {**{f"claims_{verdict.replace(' ', '_')}": n for verdict, n in rule.count(claims).items()},
            "multiplicity": rule.multiplicity(claims), "changed_under_other": len(changed),
            "changed_list": "; ".join(changed) or "none", "claims_total": len(claims),
            "tuned_have_text": f"All {have} of its runs have records." if have == len(validated_records) else
            f"{have} of its {len(validated_records)} runs have records so far; a claim whose runs are missing reads "
            "*not run here*.",
            "runs_have": recorded_count(records), "runs_total": len(records),
            "cells_total": len(table_cells), "cells_run": int((table_cells["verdict"] != "not run here").sum()),
            "grid_hours": f"{cost['measured']:.1f}",
            "grid_hours_note": f"{cost['resumed']} of the runs were resumed after an interruption, and their time "
                               f"before it was not measured; with it estimated from their timed epochs, the total is "
                               f"{cost['scaled']:.1f} hours." if cost["resumed"] else ""}


def grid_cost_texts(scale: str) -> dict:
    """What each family of grids cost to train at `scale`, from its records (hours summed over runs, one thread per
    run; resumed runs' untimed stretch estimated from their timed epochs), and what one run costs: the appendix's
    numbers, so none is typed by hand."""
    from saddle.results import load_records

    from .run_tables import recorded_text
    families = {"validated": grid.tune(scale) + grid.table1_validated(scale) + grid.order_control(scale),
                "followups": grid.followups(scale)}
    texts = {"run_cost": recorded_text(load_records(scale))}
    for name, configs in families.items():
        cost = runner.training_time(runner.records(configs))
        texts[f"{name}_hours"] = (f"{cost['runs']} runs, {cost['measured']:.1f} hours" +
                                  (f" ({cost['scaled']:.1f} with the {cost['resumed']} resumed runs' first stretch "
                                   "estimated)" if cost["resumed"] else ""))
    return texts


def other_epoch_rule(epoch_rule: str) -> str:
    """The epoch rule a page reads beside `epoch_rule` to show what the choice changes: 'final' beside 'best',
    'best' beside the others."""
    return "best" if epoch_rule != "best" else "final"


def rule_texts(epoch_rule: str) -> dict:
    """The epoch rules and the keeps rule's level and margins, as the scorecard's prose names them."""
    return {"epoch_rule": epoch_rule, "other_rule": other_epoch_rule(epoch_rule),
            "keeps_level": f"{rule.EQUIVALENCE_LEVEL:.0%}", "keeps_margins": catalog.margins_text()}


def scorecard_configs(scale: str, seeds, table2_seeds, dataset_names) -> list:
    """Every run of the paper protocol the scorecard reads: Tables 1, 2, 4, 7-8 and Fig. 4."""
    return (grid.table1(scale, seeds, dataset_names) + grid.table2(scale, table2_seeds, dataset_names)
            + grid.table4(scale, seeds, dataset_names) + grid.tables7_8(scale, seeds, dataset_names=dataset_names)
            + grid.figure4(scale, seeds, dataset_names=dataset_names))


def table_cells(scale: str, dataset_names, seeds, records: dict, epoch_rule: str) -> pd.DataFrame:
    """scorecard.cells on each data set, stacked: every cell of the paper's tables beside ours."""
    return pd.concat([scorecard.cells(scale, name, seeds, records, epoch_rule) for name in dataset_names],
                     ignore_index=True)


def epoch_rule_changes(claims: pd.DataFrame, scale: str, dataset_names, seeds, records: dict,
                       epoch_rule: str) -> list[str]:
    """The claims (`claims`: by_data of catalog.CLAIMS at `epoch_rule`) whose verdict the other epoch rule changes:
    how much the choice of epoch decides."""
    other = by_data(catalog.CLAIMS, scale, dataset_names, seeds, records, other_epoch_rule(epoch_rule))
    return scorecard.verdict_changes(claims, other)


def ce_sam_tail(scale: str, dataset: str, seeds, records: dict, validated_records: dict, epoch_rule: str) -> str:
    """ce_sam_tail_text on CE_SAM_TAIL judged on both protocols: the paper's runs at `epoch_rule`, the validated
    protocol's at the final epoch."""
    return ce_sam_tail_text(
        scorecard.assess(CE_SAM_TAIL, scale, dataset, seeds, records, epoch_rule),
        scorecard.assess(CE_SAM_TAIL, scale, dataset, list(grid.PROTOCOL_SEEDS), validated_records, "final",
                         "validated"))


def assess_averages(averages, scale: str, dataset_names, seeds, records: dict, epoch_rule: str) -> pd.DataFrame:
    """The paper's averages (catalog.Average) on each data set, a row each with its `data`: shown beside the claims,
    counted in no family (their cells are counted already)."""
    return pd.DataFrame([scorecard.assess_average(a, scale, name, seeds, records, epoch_rule) | {"data": name}
                         for a in averages for name in dataset_names])


def beyond_claims(scale: str, dataset_names, seeds) -> pd.DataFrame:
    """The claims after the paper (catalog.BEYOND_CLAIMS) on chapter 8's runs of `seeds` (read only), judged on the
    validated protocol's seeds at the final epoch."""
    records = runner.records(grid.followups(scale, seeds))
    return by_data(catalog.BEYOND_CLAIMS, scale, dataset_names, list(grid.PROTOCOL_SEEDS), records, "final",
                   "validated")


def validated_at(validated: pd.DataFrame, epoch_rule: str) -> pd.DataFrame:
    """validated_claims' rows read at one epoch rule ('final' or 'best_val')."""
    return validated[validated["rule"] == epoch_rule]


# The verdict groups' titles: the family, its scale, protocol and epoch (chapters 4 and 7 share them)
def paper_protocol_group(scale: str, epoch_rule: str) -> str:
    return (f"Paper protocol ({scale} scale, Table 5's radii, {epoch_rule} epoch); Holm within the family accuracy, "
            "paper protocol")


def validated_group(scale: str) -> str:
    return (f"Table 1, validated protocol ({scale} scale, tuned radii, final epoch); Holm within the family accuracy, "
            "validated protocol")


def averages_group(scale: str, epoch_rule: str, source: str = "") -> str:
    return f"The paper's averages ({source}{scale} scale, paper protocol, {epoch_rule} epoch): not counted, raw p"


def scorecard_table(claims: pd.DataFrame, averages: pd.DataFrame, validated: pd.DataFrame, beyond: pd.DataFrame,
                    scale: str, epoch_rule: str) -> str:
    """HTML: every claim of the scorecard in its verdict group, after a link to the claims as CSV (rounded as the
    table prints them)."""
    csv = claims.round({"ours": 2, "low": 2, "high": 2, "ratio": 2, "p": 4}).astype({"seeds needed": "Int64"})
    return page_tables.csv_link(csv, f"scorecard_claims_{scale}.csv") + page_tables.verdict_groups({
        paper_protocol_group(scale, epoch_rule): claims,
        averages_group(scale, epoch_rule): averages,
        validated_group(scale): validated_at(validated, "final"),
        f"Table 1, validated protocol ({scale} scale, tuned radii, best-validation epoch); Holm within the same "
        "family read there": validated_at(validated, "best_val"),
        f"After the paper ({scale} scale, validated protocol, final epoch): not counted; Holm within the family "
        "after the paper": beyond})


def source_of(table) -> str:
    """A claim's table as a figure's label names it: 'Table 1', ..., 'Fig. 4'."""
    return "Fig. 4" if table == "fig4" else f"Table {table}"


def verdicts_by_source(claims: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The claims with their `source` (source_of) and the sources in the figure's order: the tables, then Fig. 4."""
    by_source = claims.assign(source=claims["table"].map(source_of))
    return by_source, sorted(set(by_source["source"]), key=lambda s: (s.startswith("Fig"), int(s.split()[-1])))


CELL_COLUMNS = ["part", "verdict", "method", "metric", "paper", "ours", "std", "seeds"]


def cell_part(table, dataset: str, profile, imbalance) -> str:
    """The part of the paper's tables a cell belongs to: 'Table 7, fashion-mnist, exp profile, imbalance 10'."""
    return (f"Table {table}, {dataset}" + (f", {profile} profile" if isinstance(profile, str) else "")
            + (f", imbalance {imbalance:g}" if imbalance == imbalance and imbalance is not None else ""))


def cell_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """table_cells' verdicts counted per table: a row per table, a column per verdict."""
    return cells.groupby(["table", "verdict"]).size().unstack(fill_value=0)


def cells_table(cells: pd.DataFrame, scale: str) -> str:
    """HTML: every cell (table_cells) under its part of the paper's tables, after a link to them all as CSV."""
    parts = cells.assign(part=[cell_part(*row) for row in zip(cells["table"], cells["data"], cells["profile"],
                                                                cells["imbalance"])])
    return (page_tables.csv_link(cells, f"scorecard_cells_{scale}.csv")
            + page_tables.typeset_by(parts, "part", columns=CELL_COLUMNS))


def dirty_count(dirty: list[dict]) -> str:
    """How many records (scorecard.dirty_records) still name a tree with uncommitted changes, and how many were
    retrained at a clean commit and came out identical, for the prose."""
    if not dirty:
        return "none at this scale"
    retrained = [r for r in dirty if r["retrained at"]]
    left, done = len(dirty) - len(retrained), len(retrained)
    parts = [f"{left} record{'s' if left != 1 else ''} at this scale still name{'s' if left == 1 else ''} a "
             "commit with uncommitted changes"] if left else []
    if done:
        same = sum(r["identical"] == "yes" for r in retrained)
        identical = ("it came out identical" if same else "it did not come out identical") if done == 1 else \
            f"{'all' if same == done else same} of them came out identical"
        parts.append(f"{done} record{'s were' if done != 1 else ' was'} retrained at a clean commit and "
                     f"{identical} in metrics, curves and snapshot tensors")
        other = [r for r in retrained if r["identical"] != "yes"]
        if other and all(r["identical"].startswith("no: the original ran on") for r in other):
            subject = ("it" if len(other) == 1 else "they") if len(other) == done else \
                f"the {'other' if len(other) == 1 else f'{len(other)} others'}"
            parts.append(f"{subject} had first trained on another number of threads, which changes the arithmetic")
    return "; ".join(parts)


def recomputed_analyses(scale: str, root: Path | None = None) -> dict:
    """Counts over the analysis records of `scale` (results/<scale>/<kind>/*.json): those first computed from a
    tree with uncommitted changes and since recomputed at a clean commit (scripts/retrain_dirty.py --analyses), how
    many of those came out identical in every value, the largest relative change of a named value among them, and
    how many records still name a dirty commit."""
    counts = {"recomputed": 0, "identical": 0, "largest_change": 0.0, "dirty": 0}
    for path in sorted((Path(root or results_dir()) / scale).glob("*/*.json")):
        provenance = read_record(path, run_record=False).get("provenance", {})
        counts["dirty"] += str(provenance.get("git_commit", "")).endswith("-dirty")
        origin = provenance.get("recomputed_from") or {}
        if str(origin.get("git_commit", "")).endswith("-dirty"):
            counts["recomputed"] += 1
            counts["identical"] += origin.get("identical") is True
            counts["largest_change"] = max(counts["largest_change"], origin.get("largest_relative_change") or 0.0)
    return counts


def analyses_count(counts: dict) -> str:
    """recomputed_analyses' counts, for the prose after dirty_count."""
    done, same, left = counts["recomputed"], counts["identical"], counts["dirty"]
    named = ("named values (lambda_min, lambda_max, loss, gradient norm, the split's extremes) within a relative "
             f"{counts['largest_change']:.0e} of the first computation")
    identical = ("identical in every value" if same == done else f"none identical bit for bit, their {named}"
                 if same == 0 else f"{same} of them identical in every value, the others' {named}")
    parts = [f"{done} analysis record{'s' * (done != 1)} (spectra, curvature splits) computed from such a tree "
             f"{'were' if done != 1 else 'was'} recomputed at a clean commit, {identical}"] if done else []
    if left:
        parts.append(f"{left} analysis record{'s' * (left != 1)} still name{'s' * (left == 1)} a dirty commit")
    return "; ".join(parts) or "no analysis record names a dirty commit"


def dirty_table(dirty: list[dict], scale: str) -> str:
    """HTML: those records (run, the commit and date they started from, whether their diff was kept, where
    retrained and whether identically), after a link to them as CSV."""
    if not dirty:
        return "<p>None at this scale.</p>"
    frame = pd.DataFrame(dirty)
    started = [f"{c}\n{d}" for c, d in zip(frame["commit"], frame["date"])]
    return (page_tables.csv_link(frame, f"dirty_records_{scale}.csv")
            + page_tables.typeset(frame.assign(started=started)[["run", "started", "diff kept", "retrained at",
                                                                  "identical"]]))


# ---- The landing page: Fig. 1 and the three findings, every number read from the records. ----

OWN_HYPOTHESES_BAR = "the book's own hypothesis (ch. 2)"  # Fig. 1's bar for catalog.OWN_HYPOTHESES


def after_holm(families: dict) -> pd.DataFrame:
    """Fig. 1's rows: every family's claims with the verdict after Holm's correction within that family
    ('verdict'; the raw one where a frame has no Holm column) and the family's name ('family'). The book's own
    hypotheses (catalog.OWN_HYPOTHESES, rows indexed by claim key) are counted in no family of the paper's claims:
    they form a bar of their own, OWN_HYPOTHESES_BAR, after the families (their adjusted p stays that of the family
    they are declared in)."""
    def verdicts(frame):
        return list(frame["verdict (Holm)" if "verdict (Holm)" in frame else "verdict"])
    papers, own = [], []
    for name, frame in families.items():
        mine = frame.index.isin(catalog.OWN_HYPOTHESES)
        papers.append(pd.DataFrame({"verdict": verdicts(frame[~mine]), "family": name}))
        own.append(pd.DataFrame({"verdict": verdicts(frame[mine]), "family": OWN_HYPOTHESES_BAR}))
    return pd.concat(papers + own, ignore_index=True)


def mechanism_by_scale(scale: str) -> dict:
    """The mechanism family as chapter 2 records it (saddle_story), with Holm's correction within it, at `scale` and
    at the regime scale."""
    return {s: mechanism_verdicts(recorded_mechanism(s), s) for s in dict.fromkeys((scale, grid.REGIME_SCALE))}


def families(claims: pd.DataFrame, validated: pd.DataFrame, mechanism_at: dict, beyond: pd.DataFrame,
             scale: str) -> dict:
    """Fig. 1's families by name, each with the chapter that judges it: the paper protocol's claims, the validated
    protocol's at the final epoch, the mechanism at `scale` and at the regime scale (mechanism_by_scale), and the
    claims after the paper."""
    return {"accuracy, paper protocol (ch. 4, 6)": claims,
            "accuracy, validated protocol (ch. 4)": validated_at(validated, "final"),
            "mechanism, this scale (ch. 2)": mechanism_at[scale],
            f"mechanism, {grid.REGIME_SCALE} (ch. 2)": mechanism_at[grid.REGIME_SCALE],
            "after the paper (ch. 8)": beyond}


def overview(families: dict) -> tuple[pd.DataFrame, list[str]]:
    """Fig. 1's rows (after_holm) and its bars in order: the families, then the book's own hypothesis."""
    return after_holm(families), [*families, OWN_HYPOTHESES_BAR]


def verdict_words(row) -> str:
    """A claim's verdict for the landing page, after Holm's correction within its family, and the raw verdict where
    it differs: 'reproduced after Holm', 'inconclusive after Holm (reproduced before Holm)'."""
    raw, holm = row["verdict"], row.get("verdict (Holm)", row["verdict"])
    if raw not in rule.VERDICTS[:2]:  # reproduced, contradicted: the decided verdicts
        return raw
    return f"{holm} after Holm" + ("" if holm == raw else f" ({raw} before Holm)")


def _difference(row, seeds: bool = True) -> str:
    """'+8.1 [+5.4, +10.8] (5 seeds)': the paired difference and its 95% interval (two decimals where the effect
    and its interval are within one unit), with its seeds unless `seeds` is False."""
    if row is None or not row["seeds"] or pd.isna(row["ours"]):
        return "not measured yet"
    digits = 1 if abs(row["ours"]) >= 1 or (not pd.isna(row["low"]) and row["high"] - row["low"] >= 1) else 2
    count = f" ({rule.seeds_phrase([row['seeds']])})" if seeds else ""
    if pd.isna(row["low"]):
        return f"{row['ours']:+.{digits}f} (1 seed, no interval)"
    return f"{row['ours']:+.{digits}f} [{row['low']:+.{digits}f}, {row['high']:+.{digits}f}]{count}"


def accuracy_findings(variants: pd.DataFrame | None, large_rho: float = grid.MECHANISM_RHO) -> dict:
    """The accuracy finding (`variants`: scorecard.headline_variants, the first radius the tuned one; None without
    runs): the headline at the final epoch on the most seeds recorded, at the tuned radius and at `large_rho`."""
    texts = {"landing_acc_verdict": "not run here", "landing_acc_tuned": "no runs yet",
             "landing_acc_large": "no runs yet", "landing_tuned_rho": "not tuned yet",
             "landing_large_rho": f"{large_rho:g}"}
    if variants is None or variants.empty:
        return texts
    final = variants[variants["epoch"] == "final"]

    def most_seeds(rho):
        rows = final[final["rho"] == rho]
        return None if rows.empty else rows.loc[rows["seeds"].idxmax()]

    def text(row):
        return f"{rule.interval_text(row)} points ({rule.seeds_phrase([row['seeds']])})"
    tuned, large = most_seeds(variants["rho"].iloc[0]), most_seeds(large_rho)
    texts.update(landing_acc_verdict=verdict_words(tuned), landing_acc_tuned=text(tuned),
                 landing_tuned_rho=f"{tuned['rho']:g}")
    if large is not None:
        texts["landing_acc_large"] = f"{rule.interval_text(large)} ({rule.seeds_phrase([large['seeds']])})"
    return texts


def mechanism_findings(regime: pd.DataFrame, tuned_rho: float | None, large_rho: float = grid.MECHANISM_RHO) -> dict:
    """The two mechanism findings at the regime scale (`regime`: its mechanism family after saddle_story.mechanism_verdicts): SAM at
    `large_rho` lifts the tail's lambda_min; the tail is no stationary point, and SAM at the tuned radius moves the
    tail's ratio abs(lambda_min / lambda_max) (the paper's measure of non-convexity)."""
    def row(key):
        return regime.loc[key] if key in regime.index and regime.loc[key, "seeds"] else None
    lift, stationary, ratio = row("sam_large_rho_tail_min"), row("tail_stationary"), row("sam_ratio")
    saddle = [r for r in (stationary, ratio) if r is not None]
    words = {verdict_words(r) for r in saddle}
    return {"landing_lift_verdict": verdict_words(lift) if lift is not None else "not measured yet",
            "landing_lift": _difference(lift),
            "landing_saddle_verdict": words.pop() if len(words) == 1 else
            "; ".join(f"{name}: {verdict_words(r)}" for name, r in (("stationarity", stationary), ("ratio", ratio))
                      if r is not None) or "not measured yet",
            "landing_saddle_seeds": rule.seeds_phrase([r["seeds"] for r in saddle]) if saddle else "no seeds",
            "landing_stationary": _difference(stationary, seeds=False),
            "landing_ratio": _difference(ratio, seeds=False),
            "landing_ratio_rho": "not tuned yet" if tuned_rho is None else f"{tuned_rho:g}"}


def landing_texts(validated: pd.DataFrame, scale: str, dataset: str, regime: pd.DataFrame,
                  regime_scale: str = grid.REGIME_SCALE) -> dict:
    """What the landing page's three findings quote: the accuracy headline (validated protocol at `scale`, Holm
    within the validated protocol's Table 1 family, as chapter 4's table of variants) and the mechanism at
    `regime_scale` (`regime`: its family after saddle_story.mechanism_verdicts)."""
    family = validated[(validated["rule"] == "final") & (validated["data"] == dataset)].reset_index(drop=True)
    rho = grid.tuned_rho("CE+DRW+SAM", scale, dataset=dataset)
    variants = (scorecard.headline_variants(family, scale, dataset, rho)
                if rho is not None and catalog.HEADLINE_ID in set(family["id"]) else None)
    return ({"landing_scale": notebook.scale_words(scale)} | accuracy_findings(variants)
            | mechanism_findings(regime, grid.protocol_rho("CE+DRW+SAM", regime_scale, "validated")))
