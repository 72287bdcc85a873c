"""What chapter 7 (the scorecard) and the landing page quote: every accuracy claim judged by data set, the headline
under both protocols, the CE+SAM reading of Table 1, and the ledger's counts and costs. Reads records, never
trains; every verdict comes from saddle.scorecard's rule."""
from __future__ import annotations

import pandas as pd

from . import grid, scorecard

HEADLINE = scorecard.sam_claim("CE+DRW", 1, "tail")
CE_SAM_TAIL = scorecard.Claim("ce-sam-tail-gain", "SAM raises CE's tail accuracy", 1, "CE+SAM", "CE", "tail")


def by_data(claims, scale: str, dataset_names, seeds, records: dict, epoch_rule: str,
            protocol: str = "paper") -> pd.DataFrame:
    """assess_all on each data set, stacked, with a `data` column."""
    return pd.concat([scorecard.assess_all(claims, scale, name, seeds, records, epoch_rule, protocol).assign(data=name)
                      for name in dataset_names], ignore_index=True)


def validated_claims(scale: str, dataset_names, records: dict) -> pd.DataFrame:
    """Table 1's claims on the validated protocol's runs, at the final and at the best-validation epoch (`rule`)."""
    table1 = [c for c in scorecard.CLAIMS if c.table == 1]
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
    return {"headline_verdict": paper["verdict"], "headline_interval": scorecard.interval_text(paper),
            "headline_paper": f"{paper['paper']:+.1f}", "headline_tuned_verdict": final["verdict"],
            "headline_tuned_holm": f"{final['verdict (Holm)']} after Holm's correction within its family of {family} "
                                   f"claims (adjusted p = {final['p (Holm)']:.2g})",
            "headline_tuned_interval": "no runs yet" if pd.isna(final["ours"])
            else f"{scorecard.interval_text(final)} on {final['seeds']} seeds",
            "headline_best_val": "no runs yet" if pd.isna(best_val["ours"])
            else f"{scorecard.interval_text(best_val)}, {best_val['verdict']}",
            "headline_tuned_rho": "not tuned yet" if rho is None else f"{rho:g}"}


def ce_sam_tail_text(paper: dict, validated: dict) -> str:
    """The paper reads Table 1 as "SAM needs re-weighting" (CE+SAM keeps CE's tail). Tested as a gain, the same
    paired differences say whether SAM moved CE's tail: `paper` and `validated` are CE_SAM_TAIL's rows."""
    if paper["ours"] is None:
        return "no CE+SAM and CE runs to compare"
    if (paper["low"] or 0) > 0:
        reading = ("the interval lies above zero, so on these runs SAM raises the tail without re-weighting, which "
                   "undercuts the paper's reading that SAM needs re-weighting to help the tail (the paper's own "
                   "claim, that CE+SAM keeps CE's tail within ±2 points, is a different hypothesis; its verdict is in "
                   "the list below).")
    elif (paper["high"] or 0) < 0:
        reading = "the interval lies below zero: SAM lowers CE's tail here."
    else:
        reading = "the interval covers zero."
    text = (f"Without re-weighting, on the paper protocol's runs, SAM changes CE's tail accuracy by "
            f"{scorecard.interval_text(paper)} points (95% interval, {paper['seeds']} seeds): {reading}")
    if pd.isna(validated["ours"]):
        return text
    return (text + f" On the validated protocol (subsets resampled, final epoch) the change is "
            f"{scorecard.interval_text(validated)} on {validated['seeds']} seeds"
            + ("." if pd.isna(validated["low"]) else f": the interval {scorecard.side_of_zero(validated)}."))


def ledger_texts(claims: pd.DataFrame, changed: list[str], records: dict, validated_records: dict,
                 table_cells: pd.DataFrame) -> dict:
    """The scorecard's counts: claims by verdict, verdicts that change under the other epoch rule, runs and table
    cells with records, and what training them cost (hours summed over runs, resumed runs estimated)."""
    have = sum(r is not None for r in validated_records.values())
    cost = grid.training_time(records)
    return {**{f"claims_{verdict.replace(' ', '_')}": n for verdict, n in scorecard.count(claims).items()},
            "multiplicity": scorecard.multiplicity(claims), "changed_under_other": len(changed),
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
    from .costs import recorded_text
    from .results import load_records
    families = {"validated": grid.tune(scale) + grid.table1_validated(scale) + grid.order_control(scale),
                "followups": grid.followups(scale)}
    texts = {"run_cost": recorded_text(load_records(scale))}
    for name, configs in families.items():
        cost = grid.training_time(grid.records(configs))
        texts[f"{name}_hours"] = (f"{cost['runs']} runs, {cost['measured']:.1f} hours" +
                                  (f" ({cost['scaled']:.1f} with the {cost['resumed']} resumed runs' first stretch "
                                   "estimated)" if cost["resumed"] else ""))
    return texts
