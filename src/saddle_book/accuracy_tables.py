"""Chapter 4's accuracy tables as its page shows them: the paper's tables beside ours (Tables 1, 2, 7 and 8 at the
book's scale; Table 1 on CIFAR-10-LT), Table 1 at a radius of the reader's own, the validated protocol beside the
paper's, the headline's variants, and the verdict groups with the counts the prose quotes. Each returns HTML
blocks, frames or texts for the chapter to show or glue; the chapter's one training call stays in the notebook."""
from __future__ import annotations

import pandas as pd

from saddle import grid, runner

from . import accuracy_figures, catalog, cifar, page_tables, rule, sam_radius, scorecard, summary
from .run_tables import recorded_count

CIFAR_DATA = "cifar10-jpeg"  # the JPEG copy of CIFAR-10 the CIFAR-10-LT runs train on
CIFAR_SEEDS = list(grid.PROTOCOL_SEEDS)
CIFAR_TABLE1_TITLES = {  # epoch rule -> the title of CIFAR-10-LT's Table 1 read at it
    "final": "CIFAR-10-LT (JPEG copy), ResNet-32, final epoch",
    "best": "CIFAR-10-LT (JPEG copy), ResNet-32, best test epoch (optimistic: chosen on the test set, as the "
            "official code reports)"}
CIFAR_COST_BEFORE = "5 hours (CE+DRW) and 8 hours (CE+DRW+SAM), measured before training (appendix)"
IMBALANCE_METHODS = ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM")  # Tables 7 and 8's rows
VALIDATED_RULES = ("final", "best_val")  # the epochs the validated protocol is read at


def beside_paper(methods, scale: str, dataset: str, seeds, records: dict, table: int, *metrics, **options) -> str:
    """One of the paper's tables with ours beside it (scorecard.side_by_side), typeset as the paper prints it."""
    return page_tables.paper_table(scorecard.side_by_side(methods, scale, dataset, seeds, records, table, *metrics,
                                                          **options))


def paper_protocol_title(dataset: str, epoch_rule: str, scale: str, detail: str = "") -> str:
    """A paper-protocol table's title: its data set, `detail` (e.g. 'step profile, '), epoch rule and scale."""
    return f"{dataset}, {detail}{epoch_rule} epoch ({scale} scale, paper protocol)"


def validated_configs(scale: str, seeds, dataset_names, methods, tables) -> list:
    """Table 1's runs on the validated protocol (trained by `grid tune table1-validated`, read here), `methods`
    only; none where the chapter leaves Table 1 out."""
    if "table1" not in tables:
        return []
    return [c for c in grid.table1_validated(scale, seeds, dataset_names) if c.label in methods]


# ---- CIFAR-10-LT (JPEG copy), ResNet-32: the paper's own data, read only ----

def cifar_records() -> dict:
    """Every CIFAR-10-LT run the chapter reads (the headline, LDAM and Table 1 grids), read only: they train in
    sessions of their own."""
    return runner.records(grid.cifar_headline() + grid.cifar_ldam() + grid.cifar_table1())


def cifar_cost(records: dict) -> str:
    """What a headline run cost, from its record where it trained start to end, else the estimate made before."""
    minutes = {c.label: records[c.run_id]["provenance"]["wall_time_s"] / 60 for c in grid.cifar_headline()
               if records[c.run_id] and not records[c.run_id]["provenance"].get("resumed_from_epoch")}
    return ", ".join(f"{m / 60:.1f} hours ({label})" for label, m in sorted(minutes.items())) or CIFAR_COST_BEFORE


def cifar_progress_texts(records: dict) -> dict:
    """What the CIFAR-10-LT section quotes of the runs so far: how many headline runs have records, each finished
    run's accuracy (cifar.recorded_line), their cost, and how much of the tail each method fits."""
    headline = grid.cifar_headline()
    fit = sam_radius.tail_fit([r for r in records.values() if r is not None], CIFAR_DATA)
    return {"cifar_have": str(sum(records[c.run_id] is not None for c in headline)),
            "cifar_total": str(len(headline)), "cifar_line": cifar.recorded_line(cifar.headline_runs()),
            "cifar_cost": cifar_cost(records)} | sam_radius.fit_texts(fit, "cifar_fit_")


def cifar_table1(records: dict) -> list[tuple[str, str]]:
    """(title, table) of CIFAR-10-LT's Table 1 beside the paper at the final and at the best test epoch."""
    return [(title, beside_paper(list(grid.METHODS), grid.CIFAR_SCALE, CIFAR_DATA, CIFAR_SEEDS, records, 1,
                                 epoch_rule=epoch_rule)) for epoch_rule, title in CIFAR_TABLE1_TITLES.items()]


def cifar_verdicts(records: dict) -> pd.DataFrame:
    """Table 1's declared claims on CIFAR-10-LT at the final epoch, Holm within their family."""
    claims = [c for c in catalog.CLAIMS if c.id in catalog.CIFAR_ACCURACY_IDS]
    return scorecard.assess_family(claims, grid.CIFAR_SCALE, CIFAR_DATA, CIFAR_SEEDS, records, "final")


# ---- The book's scale: Tables 1, 2, 7 and 8 on the paper protocol ----

def table1(methods, scale: str, dataset: str, seeds, records: dict, epoch_rule: str) -> tuple[str, str]:
    """(title, table) of Table 1 beside the paper on `dataset` at `epoch_rule`."""
    return (paper_protocol_title(dataset, epoch_rule, scale),
            beside_paper(methods, scale, dataset, seeds, records, 1, epoch_rule=epoch_rule))


def table1_other_rule(methods, scale: str, dataset_names, seeds, records: dict, epoch_rule: str, tables) -> str:
    """HTML: Table 1 on each data set at the other epoch rule (summary.other_epoch_rule), folded below the one
    chosen: what the choice of epoch changes."""
    other = summary.other_epoch_rule(epoch_rule)
    parts = [page_tables.titled(*table1(methods, scale, name, seeds, records, other))
             for name in (dataset_names if "table1" in tables else [])]
    return page_tables.blocks(parts, "<p>Table 1 is not part of this run.</p>")


def own_rho_configs(scale: str, seeds, dataset_names, rho: float, methods, precision: str) -> list:
    """Table 1's runs with every SAM method at the reader's radius `rho`, in `precision` (in bf16 the baselines
    without SAM are bf16 runs too: one precision per table, never mixed)."""
    return [c.with_precision(precision) for c in grid.table1(scale, seeds, dataset_names, rho=rho)
            if c.label in methods]


def own_rho_table(methods, scale: str, dataset: str, seeds, records: dict, epoch_rule: str, rho: float,
                  precision: str) -> tuple[str, str]:
    """(title, table) of Table 1 at the reader's radius beside the paper (its column stays at Table 5's radius)."""
    title = f"{dataset}, SAM at rho {rho:g}{'' if precision == 'fp32' else ', ' + precision}, {epoch_rule} epoch"
    return title, beside_paper(methods, scale, dataset, seeds, records, 1, epoch_rule=epoch_rule, rho=rho,
                               precision=precision)


def own_rho_verdicts(methods, rho: float, scale: str, dataset: str, seeds, records: dict, epoch_rule: str,
                     precision: str) -> pd.DataFrame:
    """Table 1's claims with SAM at the reader's radius, each judged by the one rule (raw: no declared family)."""
    claims = catalog.claims_at_rho(catalog.claims_for(["table1"], methods), rho)
    return scorecard.assess_all(claims, scale, dataset, seeds, records, epoch_rule, precision=precision)


def own_rho_text(rho: float | None, precision: str) -> str:
    """The reader's radius and its precision, as the prose names it."""
    return "not set (Table 5's radii only)" if rho is None else f"{rho:g} ({precision})"


def table2(methods, scale: str, dataset_names, seeds, records: dict, epoch_rule: str, tables) -> str:
    """HTML: Table 2 (the step profile: overall, head and tail accuracy) beside the paper on each data set."""
    parts = [page_tables.titled(paper_protocol_title(name, epoch_rule, scale, "step profile, "),
                                beside_paper(methods, scale, name, seeds, records, 2, ("acc", "head", "tail"),
                                             profile="step", epoch_rule=epoch_rule))
             for name in (dataset_names if "table2" in tables else [])]
    return page_tables.blocks(parts, "<p>Table 2 is not part of this run.</p>")


def imbalance_gains(methods, scale: str, dataset_names, imbalances, seeds, records: dict, epoch_rule: str,
                    tables) -> pd.DataFrame:
    """scorecard.imbalance_gains where the chapter runs Tables 7-8 (an empty frame where it does not)."""
    if "tables7-8" not in tables:
        return pd.DataFrame()
    return scorecard.imbalance_gains(methods, scale, dataset_names, imbalances, seeds, records, epoch_rule)


def gains_figure(gains: pd.DataFrame):
    """SAM's gain by imbalance factor, ours beside the paper's, a line each (None without gains)."""
    if not len(gains):
        return None
    return accuracy_figures.gains(gains.assign(method=gains["line"]), "imbalance", "imbalance factor", log_x=True)


def tables7_8(methods, scale: str, dataset_names, imbalances, seeds, records: dict, epoch_rule: str, tables,
              gain_table: pd.DataFrame) -> str:
    """HTML: SAM's gain by imbalance (`gain_table`: run_tables.gain_table, where there are gains), then Tables 7
    and 8 beside the paper at each imbalance on each data set."""
    parts = []
    if len(gain_table):
        parts.append(page_tables.titled("SAM's gain (points) by imbalance factor",
                                        page_tables.typeset(gain_table, index=True)))
    if "tables7-8" in tables:
        rows = [m for m in IMBALANCE_METHODS if m in methods]
        parts += [page_tables.titled(paper_protocol_title(name, epoch_rule, scale, f"imbalance {b:g}, "),
                                     beside_paper(rows, scale, name, seeds, records, 7, imbalance=b,
                                                  epoch_rule=epoch_rule))
                  for name in dataset_names for b in imbalances]
    return page_tables.blocks(parts, "<p>Tables 7 and 8 are not part of this run.</p>")


# ---- The validated protocol beside the paper's ----

def no_validated_runs(scale: str) -> str:
    """What to run when the validated protocol has no record at this scale."""
    return ("No run of the validated protocol has a record at this scale yet; train them with python -m saddle grid "
            f"tune table1-validated --scale {scale}")


def fit_block(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit) -> str:
    """HTML: the tail's fit at Table 5's radius and at the tuned one (sam_radius.fit_table), under its title."""
    return page_tables.titled("The tail's fit (%) at Table 5's radius and at the tuned one",
                              page_tables.typeset(sam_radius.fit_table(tuned_rhos, dataset, paper_fit, tuned_fit),
                                                  index=True))


def validated_blocks(methods, scale: str, dataset_names, seeds, records: dict) -> list[str]:
    """HTML: Table 1 on the validated protocol beside the paper, at the final and the best-validation epoch, on
    each data set (none without records)."""
    if not recorded_count(records):
        return []
    return [page_tables.titled(f"{name}, validated protocol, {which} epoch ({scale} scale)",
                               beside_paper(methods, scale, name, seeds, records, 1, epoch_rule=which,
                                            protocol="validated"))
            for which in VALIDATED_RULES for name in dataset_names]


def protocol_reads(epoch_rule: str, records: dict, seeds, validated_records: dict, validated_seeds) -> list[tuple]:
    """scorecard.protocol_columns' columns: the paper protocol at `epoch_rule`, then (where it has records) the
    validated protocol at each of its epochs."""
    validated = [("validated", which, validated_records, validated_seeds) for which in VALIDATED_RULES]
    return [("paper", epoch_rule, records, seeds)] + (validated if recorded_count(validated_records) else [])


def verdict_over_interval(protocols: pd.DataFrame) -> pd.DataFrame:
    """scorecard.protocol_columns as a page table: per protocol column, each claim's raw verdict over its mean
    difference and 95% interval in one cell; the claim last."""
    return pd.DataFrame({column: [f"{v}\n{i}" for v, i in zip(protocols[("verdict", column)],
                                                              protocols[("ours [95% interval]", column)])]
                         for column in protocols["verdict"].columns} | {"claim": list(protocols.index)})


def protocols_block(claims, scale: str, dataset: str, columns) -> str:
    """HTML: each of `claims` read on each protocol column (protocol_reads), side by side, under its title."""
    protocols = scorecard.protocol_columns(claims, scale, dataset, columns)
    return page_tables.titled("Table 1's claims on each protocol: the raw verdict over the mean difference [95% "
                              "interval]", page_tables.typeset(verdict_over_interval(protocols)))


def protocol_verdicts(claims, scale: str, dataset: str, seeds, records: dict, validated_seeds,
                      validated_records: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Table 1's claims on both protocols at the final epoch (the epoch rule held fixed), each corrected within its
    declared family (all of the paper protocol's claims; the validated protocol's Table 1): the validated family,
    its rows of `claims`, and the verdicts that differ from the paper protocol's."""
    paper = scorecard.assess_family(claims, scale, dataset, seeds, records, "final", "paper")
    family = scorecard.assess_family(catalog.family_claims("accuracy, validated protocol"), scale, dataset,
                                     validated_seeds, validated_records, "final", "validated")
    tuned = family[family["id"].isin([c.id for c in claims])].reset_index(drop=True)
    return family, tuned, scorecard.verdict_changes(paper, tuned)


def validated_texts(tuned_rhos: dict, dataset: str, paper_fit, tuned_fit, changes: list[str], seeds,
                    validated_seeds) -> dict:
    """What the validated protocol's section quotes: its seeds, the tail's fit on both protocols and who fits it at
    the tuned radius (90%: the bar chapter 2's regime question sets), and the verdicts that change."""
    return {"tuned_seeds_text": ", ".join(map(str, validated_seeds)),
            "tuned_fit_text": sam_radius.fit_pairs(tuned_rhos, dataset, paper_fit, tuned_fit),
            "tuned_fit_answer": sam_radius.fit_answer(tuned_fit, tuned_rhos, bar=90),
            "tuned_changes_text": "; ".join(changes) or "none", "tuned_changes_count": str(len(changes)),
            "paper_seeds_count": len(seeds), "tuned_seeds_count": len(validated_seeds)}


def variant_labels(variants: pd.DataFrame) -> list[str]:
    """Each headline variant's radius and epoch, and whether it is the validated choice."""
    return [f"rho {r:g}, {e} epoch" + ("" if v else ", not the validated choice")
            for r, e, v in zip(variants["rho"], variants["epoch"], variants["validated"])]


def headline_variants(family: pd.DataFrame, scale: str, dataset: str, tuned_rhos: dict) -> tuple[str, str]:
    """The headline's tuned radius, as the prose names it, and HTML of its variants (scorecard.headline_variants:
    the radius and epoch varied, verdict first)."""
    rho = tuned_rhos.get("CE+DRW+SAM")
    if rho is None:
        return "no radius yet", "<p>The headline has no tuned radius or no runs at this scale yet.</p>"
    variants = scorecard.headline_variants(family, scale, dataset, rho)
    return f"{rho:g}", page_tables.verdict_first(variants.assign(claim=variant_labels(variants)))


# ---- The chapter's verdicts ----

def family_texts(verdicts: pd.DataFrame) -> dict:
    """What the verdict section quotes of the paper protocol's family: the multiplicity, the keeps rule and its
    margins, and the count of each verdict."""
    return ({"multiplicity": rule.multiplicity(verdicts), "keeps_rule": rule.keeps_rule_text(),
             "keeps_margins": catalog.margins_text()}
            | {f"count_{verdict.replace(' ', '_')}": n for verdict, n in rule.count(verdicts).items()})


def verdict_groups(verdicts: pd.DataFrame, validated: pd.DataFrame, validated_records: dict, averages: pd.DataFrame,
                   scale: str, epoch_rule: str) -> str:
    """HTML: the chapter's claims in their verdict groups: the paper protocol's family, the validated protocol's
    Table 1 (left out where its runs have no record), and the paper's averages (in no family)."""
    return page_tables.verdict_groups({
        summary.paper_protocol_group(scale, epoch_rule): verdicts,
        summary.validated_group(scale): validated if recorded_count(validated_records) else validated.iloc[:0],
        summary.averages_group(scale, epoch_rule, "abstract, App. F; "): averages})
