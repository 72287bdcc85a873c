"""Chapter 8's page, one call per section, called in the page's order: each method shows or glues its section's
tables and texts. Records and stored analyses in, nothing trained or computed: the notebook's `runner.records`
calls train what the follow-up grid misses, and `analyse.require` stops it with the command that makes a missing
spectrum."""
from __future__ import annotations

import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from saddle import analyse, grid, results, runner
from saddle.spectra import spectra_rows

from . import catalog, notebook, page_tables, rule, run_tables, sam_radius, scorecard, spectra_claims

METHODS = ("CE+DRW", "CE+DRW+SAM") + grid.FOLLOWUP_METHODS
TUNED = ("CE+DRW+SAM",) + grid.FOLLOWUP_METHODS  # the methods whose radius validation chooses


def curvature_sentence(mechanism: dict, rho: float | None) -> str:
    """SAM at its tuned radius `rho` against CE+DRW on the tail's lambda_min (a claim row: the mean paired
    difference, its seeds and verdict), the direction's words picked from the sign of the difference."""
    if mechanism["ours"] is None or rho is None:
        return "SAM and CE+DRW have no tail spectra to compare yet"
    if mechanism["ours"] == 0:
        return f"At the tuned radius ({rho:g}) SAM's tail lambda_min equals CE+DRW's on average."
    higher = mechanism["ours"] > 0
    direction = "higher (less negative)" if higher else "lower (more negative)"
    return (f"At the tuned radius ({rho:g}) SAM's tail lambda_min is {direction} "
            f"than CE+DRW's by {abs(mechanism['ours']):.2f} on average over {rule.seeds_phrase([mechanism['seeds']])} "
            f"({mechanism['verdict']} by the one rule): "
            + ("the direction the paper's mechanism predicts." if higher else
               "against the paper's mechanism, which predicts that SAM lifts the tail's lambda_min; Fig. 3 C of "
               "chapter 2 sweeps the radius."))


class Page:
    """The chapter's parameters checked and resolved for the scale, and the runs it reads: SAM's own tuning (whose
    radius the follow-ups are compared at) and the follow-up grid (`configs()`, trained by the notebook where
    missing when `trains`: the resolved train_missing parameter). Later sections read what earlier ones set: read()
    the records and how many exist (side_by_side), curvature() the tail spectra (mechanism)."""

    def __init__(self, scale: str, seeds, epoch_rule: str, train, iters, max_per_class):
        notebook.check_parameters(scale, seeds=seeds or [0], epoch_rule=epoch_rule, protocol="validated")
        self.seeds, self.iters, self.max_per_class, self.trains = notebook.chapter_settings(
            scale, validated_seeds=seeds, iters=iters, max_per_class=max_per_class, train_missing=train)
        self.scale, self.epoch_rule = scale, epoch_rule
        self.dataset = grid.datasets(scale)[0]
        self.sam_tuning = [c for c in grid.tune(scale) if c.label == "CE+DRW+SAM"]  # SAM's own radius (grid tune)

    def configs(self) -> list:
        """The follow-up grid as listed now: a method's rows at its tuned radius appear once its tuning lands."""
        return grid.followups(self.scale, self.seeds)

    def read(self, configs, records: dict) -> None:
        """The follow-up grid's records (of runner.records of sam_tuning + configs); how many exist glued, the
        missing ones printed with the command that trains them."""
        self.records = {c.run_id: records[c.run_id] for c in runner.unique(configs)}
        self.have = run_tables.recorded_count(self.records)
        glue("followup_runs_have", self.have, display=False)
        glue("followup_runs_total", len(self.records), display=False)
        if self.have < len(self.records):
            print(f"{len(self.records) - self.have} of {len(self.records)} runs have no record here; train them with "
                  f"python -m saddle grid tune followups --scale {self.scale}")

    def tuning(self) -> HTML:
        """The tuning grids with the chosen radii, glued too, and whether one sits at its grid's edge: the table
        shown."""
        tuned = {m: grid.tuned_rho(m, self.scale, dataset=self.dataset) for m in TUNED}
        glue("tuned_radii", "; ".join(f"{m} {'tuning incomplete' if r is None else f'rho {r:g}'}"
                                      for m, r in tuned.items()), display=False)
        glue("edge_note", sam_radius.edge_sentence(tuned), display=False)
        rows = sam_radius.tuning_rows(TUNED, self.scale, self.dataset, mean=True)
        return HTML(page_tables.typeset(pd.DataFrame(rows)))

    def side_by_side(self) -> None:
        """The three methods as Table 1 shows them, at the chapter's epoch rule first, then at both."""
        for which in dict.fromkeys((self.epoch_rule, "final", "best_val")):
            display(Markdown(f"**{self.dataset}, validated protocol, {which} epoch ({self.have} of "
                             f"{len(self.records)} runs recorded)**"))
            display(HTML(page_tables.paper_table(scorecard.side_by_side(
                METHODS, self.scale, self.dataset, self.seeds, self.records, 1, epoch_rule=which,
                protocol="validated"))))

    def complete_runs(self):
        """(method, seed, record) of every complete run of the chapter's methods and seeds."""
        return scorecard.complete_runs(METHODS, self.scale, self.dataset, self.seeds, self.records)

    def tail_fit(self) -> None:
        """The tail's training and test accuracy per method, mean over the seeds that ran."""
        fit = pd.DataFrame([{"method": method, "seed": seed, "train tail": results.train_group_accuracy(record, "tail"),
                             "test tail": (record["metrics"].get(self.epoch_rule) or {}).get("tail")}
                            for method, seed, record in self.complete_runs()])
        if len(fit):
            display(HTML(page_tables.typeset(fit.groupby("method")[["train tail", "test tail"]].mean(), index=True)))
        else:
            print("no run recorded yet")

    def curvature(self) -> None:
        """The tail classes' spectra at the end of training, per method and class (mean over seeds)."""
        tail_spectra = {(method, seed): (record, analyse.STORED.spectra(
                            record, record["config"]["epochs"], record["groups"]["tail"], iters=self.iters, seed=seed,
                            max_per_class=self.max_per_class))
                        for method, seed, record in self.complete_runs()}
        self.curvature_rows = pd.DataFrame([{**row, "seed": seed} for (method, seed), (record, spectra)
                                            in tail_spectra.items() if spectra is not None
                                            for row in spectra_rows(spectra, record, method)])
        glue("curvature_iters", self.iters, display=False)
        if len(self.curvature_rows):
            display(HTML(page_tables.typeset(self.curvature_rows.groupby(["method", "class"], sort=False).agg(
                lambda_min=("lambda_min", "mean"), lambda_max=("lambda_max", "mean"), ratio=("ratio", "mean"),
                seeds=("seed", "nunique")), index=True)))
        else:
            print("no run recorded yet")

    def mechanism(self) -> None:
        """The tail group's mean lambda_min paired by seed, judged by the one rule: SAM against SGD first (the
        paper's mechanism, at the radius validation chose), then each follow-up against SAM."""
        by_seed = {m: spectra_claims.tail_lambda_min_by_seed(self.curvature_rows, m) for m in METHODS}
        rows = [rule.claim_row(f"{name} ends with a higher tail lambda_min than {than}",
                               {s: by_seed[method][s] - by_seed[base][s]
                                for s in set(by_seed[method]) & set(by_seed[base])}, "raises") | {"table": "beyond"}
                for name, than, method, base in
                [("SAM (tuned rho)", "SGD (CE+DRW)", "CE+DRW+SAM", "CE+DRW")] +
                [(m.split("+")[-1], "SAM (CE+DRW base)", m, "CE+DRW+SAM") for m in grid.FOLLOWUP_METHODS]]
        display(Markdown("\n".join(rule.sentence(row) for row in rows)))
        glue("sam_vs_drw_curvature", curvature_sentence(rows[0], grid.tuned_rho("CE+DRW+SAM", self.scale,
                                                                                   dataset=self.dataset)),
             display=False)

    def verdict_table(self) -> None:
        """The follow-ups' claims after Holm within their family, each glued for the prose, their counts, and the
        same comparisons at the other epoch rule."""
        verdicts = scorecard.assess_family(catalog.BEYOND_CLAIMS, self.scale, self.dataset, self.seeds, self.records,
                                           self.epoch_rule, "validated")
        for claim, (_, row) in zip(catalog.BEYOND_CLAIMS, verdicts.iterrows()):
            glue(f"beyond_{claim.id}", "not measured yet (no runs)" if pd.isna(row["ours"]) else
                 f"{rule.interval_text(row)} points over {rule.seeds_phrase([row['seeds']])}, {row['verdict']}",
                 display=False)
        for verdict, n in rule.count(verdicts).items():
            glue(f"beyond_{verdict.replace(' ', '_')}", n, display=False)
        display(HTML(page_tables.verdict_table(verdicts, [rule.sentence(row) for _, row in verdicts.iterrows()])))
        other = "best_val" if self.epoch_rule == "final" else "final"
        display(Markdown(f"The same comparisons at the {other} epoch:\n\n" + "\n".join(
            rule.sentence(row) for _, row in scorecard.assess_family(
                catalog.BEYOND_CLAIMS, self.scale, self.dataset, self.seeds, self.records, other,
                "validated").iterrows())))
