"""What chapter 7 (the scorecard) and the landing page quote: every accuracy claim judged by data set, the headline
under both protocols, the CE+SAM reading of Table 1, and the ledger's counts and costs. Reads records, never
trains; every verdict comes from saddle_book.scorecard's rule."""
from __future__ import annotations

import pandas as pd

from saddle import grid, runner

from . import catalog, rule, scorecard

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
    have = sum(r is not None for r in validated_records.values())
    cost = runner.training_time(records)
    return {**{f"claims_{verdict.replace(' ', '_')}": n for verdict, n in rule.count(claims).items()},
            "multiplicity": rule.multiplicity(claims), "changed_under_other": len(changed),
            "changed_list": "; ".join(changed) or "none", "claims_total": len(claims),
            "tuned_have_text": f"All {have} of its runs have records." if have == len(validated_records) else
            f"{have} of its {len(validated_records)} runs have records so far; a claim whose runs are missing reads "
            "*not run here*.",
            "runs_have": sum(r is not None for r in records.values()), "runs_total": len(records),
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
    return ({"landing_scale": scale} | accuracy_findings(variants)
            | mechanism_findings(regime, grid.protocol_rho("CE+DRW+SAM", regime_scale, "validated")))
