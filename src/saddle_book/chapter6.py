"""Chapter 6's page, one call per section, called in the page's order: each method shows or glues its section's
figures, tables and texts. Records and stored analyses in, nothing trained or computed: the notebook's one
`runner.records` call trains what the sweep and Table 4 miss, and `analyse.require` stops it with the command that
makes a missing spectrum."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from saddle import analyse, grid, runner
from saddle.results import load_records

from . import (accuracy_figures, catalog, figure_style, notebook, page_tables, rule, run_tables, sam_radius,
               scorecard, spectra_claims, spectra_figures, summary)


class Page:
    """The chapter's parameters checked and resolved for the scale, and the runs it reads: Fig. 4's radius sweep and
    Table 4's baselines (`configs`, trained by the notebook where missing when `trains`: the resolved train_missing
    parameter). Later sections read what earlier ones set: read() the records, rho_sweep() our rows (recipe),
    curvature() the sweep's runs and spectra (curvature_accuracy)."""

    def __init__(self, scale: str, seeds, rhos, dataset_names, epoch_rule: str, train, iters, max_per_class,
                 workers):
        notebook.check_parameters(scale, seeds=seeds, epoch_rule=epoch_rule, workers=workers, rhos=rhos,
                                  datasets=dataset_names)
        self.seeds, self.rhos, self.dataset_names, self.iters, self.max_per_class, self.trains = \
            notebook.chapter_settings(scale, seeds=seeds, rhos=rhos, dataset_names=dataset_names, iters=iters,
                                      max_per_class=max_per_class, train_missing=train)
        self.scale, self.epoch_rule = scale, epoch_rule
        glue("run_cost", run_tables.recorded_text(load_records(scale)), display=False)
        self.sweep = grid.figure4(scale, self.seeds, self.rhos, self.dataset_names)
        self.baselines = grid.table4(scale, self.seeds, self.dataset_names)

    @property
    def configs(self) -> list:
        """The sweep's and the baselines' runs, for the notebook's one training call."""
        return self.sweep + self.baselines

    def read(self, records: dict) -> None:
        """The sweep's and Table 4's records (runner.records of configs); the missing runs printed with the command
        that fills them."""
        self.records = records
        gap_lines, _ = run_tables.run_gaps({"figure4": self.sweep, "table4": self.baselines}, records, self.scale,
                                           {"figure4": self.seeds, "table4": self.seeds})
        print("\n".join(gap_lines or ["every run of the chapter has a record"]))

    def rho_sweep(self) -> HTML:
        """Fig. 4 per data set (the first captioned in the prose, a second shown here) and the sweep's summary:
        the table shown."""
        by_rho = scorecard.rho_sweep(self.sweep, self.rhos, self.dataset_names, self.records, self.epoch_rule)
        self.ours = by_rho[by_rho["source"] == "ours"] if len(by_rho) else by_rho
        for name in self.dataset_names:
            fig = accuracy_figures.accuracy_vs_rho(by_rho[by_rho["data"] == name].astype(
                {"acc": float, "head": float, "tail": float})) if len(self.ours) else None
            if name == self.dataset_names[0]:
                figure_style.publish("fig_06_accuracy_vs_rho", fig)
            elif fig is not None:
                display(fig)
                plt.close(fig)
        sweep_summary, texts = scorecard.rho_sweep_summary(self.ours, self.dataset_names[0])
        notebook.glue_texts(texts)
        return HTML(page_tables.typeset(sweep_summary, index=True))

    def train_test_curves(self) -> None:
        """Training and test accuracy over the epochs of the sweep's runs."""
        sweep_records = run_tables.recorded(self.sweep, self.records)
        figure_style.publish("fig_06_train_test_curves", accuracy_figures.train_test_curves(
            sweep_records) if sweep_records else None)

    def curvature(self) -> None:
        """The tail classes' lambda_min against rho on the first data set's sweep, as a figure and a table by
        class, and the radii that have spectra."""
        self.runs = {(c.radius, c.seed): self.records[c.run_id] for c in runner.unique(self.sweep)
                     if c.dataset == self.dataset_names[0]}
        curvature = pd.DataFrame(analyse.STORED.sweep_rows(self.runs, iters=self.iters,
                                                           max_per_class=self.max_per_class))
        if len(curvature):
            figure_style.publish("fig_06_lambda_min_vs_rho", spectra_figures.lambda_min_vs_rho(curvature))
            by_class = curvature.pivot_table(index="rho", columns="class", values=["lambda_min", "test acc"])
            by_class.columns = [f"{value}, class {label}" for value, label in by_class.columns]  # one header row
            display(HTML(page_tables.typeset(by_class, index=True)))
        else:
            figure_style.publish("fig_06_lambda_min_vs_rho")
        glue("curvature_rhos", ", ".join(f"{r:g}" for r in sorted(set(curvature["rho"]))) if len(curvature)
             else "none", display=False)
        self.sweep_curvature = curvature

    def curvature_accuracy(self) -> None:
        """Tail lambda_min against tail accuracy, one point per sweep run with spectra."""
        per_run, texts = spectra_claims.curvature_reading(self.sweep_curvature, self.runs, self.epoch_rule,
                                                          "curvature_accuracy")
        figure_style.publish("fig_06_curvature_vs_accuracy", None if per_run is None else
                             spectra_figures.curvature_vs_accuracy(per_run))
        notebook.glue_texts(texts)

    def tuned_curvature(self) -> None:
        """The same reading on the validated protocol's tuning runs (trained by `grid tune`, never here), within
        each seed."""
        tuning_runs = sam_radius.tuning_runs(self.scale, self.dataset_names[0])
        rows = pd.DataFrame(analyse.STORED.sweep_rows(tuning_runs, iters=self.iters,
                                                      max_per_class=self.max_per_class))
        points, texts = spectra_claims.curvature_reading(rows, tuning_runs, "final", "tuned_curvature",
                                                         within_seed=True)
        figure_style.publish("fig_06_tuned_curvature_vs_accuracy", None if points is None else
                             spectra_figures.curvature_vs_accuracy(points, marker="seed"),
                             empty="no tuning runs with spectra yet")
        notebook.glue_texts(texts)

    def recipe(self) -> HTML:
        """The paper's recipe for rho read off Fig. 4's runs: the table shown."""
        guidance = sam_radius.recipe_guidance(self.ours)
        notebook.glue_texts(sam_radius.recipe_texts(guidance))
        return HTML(page_tables.typeset(guidance))

    def tuning(self) -> HTML:
        """Each SAM method's radius (Table 5's beside the tuned one), whether a tuned one sits at its grid's edge,
        and the tuning runs behind them: the last table shown."""
        methods, name = grid.SAM_METHODS + grid.FOLLOWUP_METHODS, self.dataset_names[0]
        tuning = pd.DataFrame(sam_radius.tuning_rows(methods, self.scale, name))
        tuning = tuning[[c for c in tuning.columns if c != "chosen"] + ["chosen"]]
        display(HTML(page_tables.typeset(sam_radius.radii_table(methods, self.scale, name), index=True)))
        glue("tuning_edge", sam_radius.edge_sentence({m: grid.tuned_rho(m, self.scale, dataset=name)
                                                      for m in methods}), display=False)
        return HTML(page_tables.typeset(tuning))

    def table4(self) -> None:
        """Table 4 per data set beside the paper's, and its runs' accuracy by group."""
        for name in self.dataset_names:
            display(Markdown(f"**{name}, {self.epoch_rule} epoch**"))
            display(HTML(page_tables.paper_table(scorecard.side_by_side(
                grid.BASELINES, self.scale, name, self.seeds, self.records, 4, epoch_rule=self.epoch_rule))))
        baseline_records = run_tables.recorded(self.baselines, self.records)
        figure_style.publish("fig_06_table4_groups", accuracy_figures.group_accuracy(
            baseline_records, self.epoch_rule) if baseline_records else None)

    def verdict_table(self) -> None:
        """Fig. 4's and Table 4's claims, corrected within their declared family (all of the paper protocol's
        claims), as chapters 4 and 7 correct them."""
        claims = [c for c in catalog.CLAIMS if c.table in ("fig4", 4)]
        verdicts = summary.by_data(claims, self.scale, self.dataset_names, summary.paper_seeds(self.seeds),
                                   self.records, self.epoch_rule)
        display(HTML(page_tables.verdict_table(verdicts, [rule.sentence(row) for _, row in verdicts.iterrows()])))
