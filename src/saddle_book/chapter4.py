"""Chapter 4's page, one call per section, called in the page's order: each method shows or glues its section's
tables, figures and texts. Records in, nothing trained: the notebook's `runner.records` calls train what the
tables (and a radius of one's own) miss, and hand the records to the page."""
from __future__ import annotations

from IPython.display import HTML, display
from myst_nb import glue

from saddle import grid, runner
from saddle.results import load_records

from . import (accuracy_figures, accuracy_tables, catalog, cifar, figure_style, notebook, page_tables, run_tables,
               sam_radius, summary)
from . import precision as precision_claims


class Page:
    """The chapter's parameters checked and resolved for the scale, the runs its tables read (`configs`, trained by
    the notebook where missing when `trains`: the resolved train_missing parameter) and the validated protocol's
    (trained by `grid tune table1-validated`, only read). Later sections read what earlier ones set: read() the
    records (every table), cifar_progress() the CIFAR records, table1() SAM's tail fit (validated), tables7_8() the
    gains (gain_lines), validated() the tuned family (headline_variants, verdict_table)."""

    def __init__(self, scale: str, seeds, table2_seeds, imbalances, tables, methods, rho, precision, dataset_names,
                 epoch_rule: str, validated_seeds, train, workers):
        notebook.check_parameters(scale, rho=rho, seeds=seeds, epoch_rule=epoch_rule, imbalances=imbalances,
                                  tables=tables, workers=workers, datasets=dataset_names, methods=methods)
        self.precision = notebook.chapter_precision(precision)
        notebook.check_parameters(scale, seeds=table2_seeds)
        notebook.check_parameters(scale, seeds=validated_seeds)
        (self.seeds, self.validated_seeds, self.imbalances, self.dataset_names, self.trains, self.tables,
         self.methods) = notebook.chapter_settings(
            scale, seeds=seeds, validated_seeds=validated_seeds, imbalances=imbalances, dataset_names=dataset_names,
            train_missing=train, tables=tables, methods=methods)
        self.scale, self.table2_seeds, self.rho, self.epoch_rule = scale, table2_seeds, rho, epoch_rule
        self.configs = grid.chapter4(scale, self.seeds, table2_seeds, self.imbalances, self.dataset_names,
                                     self.tables, self.methods)
        self.table_seeds = summary.paper_seeds(self.seeds, table2_seeds)  # every table of the family, as chapter 7
        own = rho is not None and "table1" in self.tables
        self.own_configs = accuracy_tables.own_rho_configs(
            scale, self.seeds, self.dataset_names, rho, self.methods, self.precision) if own else []
        glue("run_cost", run_tables.recorded_text(load_records(scale)), display=False)

    @property
    def all_configs(self) -> list:
        """Every table's runs, for the notebook's one training call."""
        return sum(self.configs.values(), [])

    def read(self, records: dict) -> None:
        """The tables' records (runner.records of all_configs) and the validated protocol's; a table's missing runs
        printed with the command that fills it."""
        self.records = records
        self.tuned_records = runner.records(accuracy_tables.validated_configs(
            self.scale, self.validated_seeds, self.dataset_names, self.methods, self.tables))
        gap_lines, gaps_text = run_tables.run_gaps(
            self.configs, records, self.scale,
            {"table1": self.seeds, "table2": self.table2_seeds, "tables7-8": self.seeds})
        notebook.glue_texts({"runs_have": run_tables.recorded_count(records), "runs_total": len(records),
                             "runs_gaps_text": gaps_text})
        if gap_lines:
            print("\n".join(gap_lines))

    def cifar_progress(self) -> None:
        """CIFAR-10-LT (JPEG copy): how far its grid is (read only: never trains)."""
        self.cifar_records = accuracy_tables.cifar_records()
        notebook.glue_texts(accuracy_tables.cifar_progress_texts(self.cifar_records))

    def cifar_table1(self) -> None:
        """Its Table 1 rows beside the paper's."""
        for title, table in accuracy_tables.cifar_table1(self.cifar_records):
            page_tables.show(title, table)

    def cifar_verdicts(self) -> None:
        """Its accuracy claims, judged where seeds pair up (glued for a dropdown: cifar_verdicts)."""
        notebook.glue_tables(cifar_verdicts=page_tables.verdict_first(
            accuracy_tables.cifar_verdicts(self.cifar_records), paper=True))

    @staticmethod
    def cifar_mechanism() -> None:
        """Its mechanism claims, from the declared analyses of the headline runs (glued: cifar_mechanism)."""
        notebook.glue_tables(cifar_mechanism=page_tables.verdict_first(cifar.mechanism_claims(cifar.headline_runs())))

    def table1(self) -> None:
        """Table 1 per data set, the other epoch rule's table, SAM's tail fit, and Table 1's two figures."""
        for name in self.dataset_names if "table1" in self.tables else []:
            page_tables.show(*accuracy_tables.table1(self.methods, self.scale, name, self.seeds, self.records,
                                                     self.epoch_rule))
        notebook.glue_tables(table1_other=accuracy_tables.table1_other_rule(
            self.methods, self.scale, self.dataset_names, self.seeds, self.records, self.epoch_rule, self.tables))
        table1_records = run_tables.recorded(self.configs.get("table1", []), self.records)
        self.paper_fit = sam_radius.tail_fit(table1_records, self.dataset_names[0])
        notebook.glue_texts(sam_radius.fit_texts(self.paper_fit, "fit_"))
        figure_style.publish("fig_04_group_accuracy", accuracy_figures.group_accuracy(
            table1_records, self.epoch_rule) if table1_records else None)
        figure_style.publish("fig_04_train_test_curves", accuracy_figures.train_test_curves(
            table1_records) if table1_records else None)

    def own_rho(self, own_records: dict | None) -> None:
        """Table 1's SAM methods at the reader's radius (their records, trained by the notebook), with verdicts."""
        if own_records is not None:
            for name in self.dataset_names:
                page_tables.show(*accuracy_tables.own_rho_table(
                    self.methods, self.scale, name, self.seeds, own_records, self.epoch_rule, self.rho,
                    self.precision))
            display(HTML(page_tables.verdict_first(accuracy_tables.own_rho_verdicts(
                self.methods, self.rho, self.scale, self.dataset_names[0], self.seeds, own_records,
                self.epoch_rule, self.precision), paper=True)))
        glue("own_rho_text", accuracy_tables.own_rho_text(self.rho, self.precision), display=False)

    def table2(self) -> None:
        """Table 2, the step profile."""
        notebook.glue_tables(table2_table=accuracy_tables.table2(
            self.methods, self.scale, self.dataset_names, self.table2_seeds, self.records, self.epoch_rule,
            self.tables))

    def tables7_8(self) -> None:
        """Tables 7 and 8: the gains over imbalance, as a figure and a table beside the paper's."""
        gains = accuracy_tables.imbalance_gains(self.methods, self.scale, self.dataset_names, self.imbalances,
                                                self.seeds, self.records, self.epoch_rule, self.tables)
        figure_style.publish("fig_04_gains", accuracy_tables.gains_figure(gains))
        self.gains = run_tables.gain_table(gains)
        notebook.glue_tables(tables78=accuracy_tables.tables7_8(
            self.methods, self.scale, self.dataset_names, self.imbalances, self.seeds, self.records,
            self.epoch_rule, self.tables, self.gains))

    def gain_lines(self) -> None:
        """Ours against the paper's gains, per method and metric, as a list glued for Tables 7 and 8's dropdown
        (gain_lines; empty where no gain was measured)."""
        lines = run_tables.gain_lines(self.gains) if len(self.gains) else []
        notebook.glue_tables(gain_lines=page_tables.bullet_list(lines) if lines else "")

    def validated(self) -> None:
        """The validated protocol: tuned radii and tail fit, its tables, the two protocols side by side, and their
        verdicts, both at the final epoch, each corrected within its declared family (all of the paper protocol's
        claims; the validated protocol's Table 1)."""
        name = self.dataset_names[0]
        self.tuned_rhos = sam_radius.tuned_radii(self.methods, self.scale, name)
        tuned_fit = sam_radius.tail_fit(self.tuned_records.values(), name)
        if not run_tables.recorded_count(self.tuned_records):
            print(accuracy_tables.no_validated_runs(self.scale))
        claims = catalog.claims_for(["table1"], self.methods)
        notebook.glue_tables(validated_tables=page_tables.blocks([
            accuracy_tables.fit_block(self.tuned_rhos, name, self.paper_fit, tuned_fit),
            *accuracy_tables.validated_blocks(self.methods, self.scale, self.dataset_names, self.validated_seeds,
                                              self.tuned_records),
            accuracy_tables.protocols_block(claims, self.scale, name, accuracy_tables.protocol_reads(
                self.epoch_rule, self.records, self.seeds, self.tuned_records, self.validated_seeds))], ""))
        self.tuned_family, self.tuned_final, changes = accuracy_tables.protocol_verdicts(
            claims, self.scale, name, self.table_seeds, self.records, self.validated_seeds, self.tuned_records)
        notebook.glue_texts(accuracy_tables.validated_texts(self.tuned_rhos, name, self.paper_fit, tuned_fit,
                                                            changes, self.seeds, self.validated_seeds))

    def headline_variants(self) -> None:
        """The headline's radius and its variants beside the pre-declared primary claim."""
        headline_rho, variants_html = accuracy_tables.headline_variants(
            self.tuned_family, self.scale, self.dataset_names[0], self.tuned_rhos)
        glue("headline_rho", headline_rho, display=False)
        notebook.glue_tables(variants_table=variants_html)

    @staticmethod
    def bf16() -> None:
        """The bf16 twins of the cpu scale's headline runs against their float32 records."""
        verdicts = precision_claims.verdicts("cpu")
        notebook.glue_texts(precision_claims.chapter_texts(verdicts, precision_claims.dirty_twins("cpu")))
        notebook.glue_tables(bf16_table=precision_claims.verdict_table(verdicts))

    def verdict_table(self) -> None:
        """The family's verdicts, and the paper's averages (abstract, App. F) where the chapter ran all their cells
        (in no family: their cells are counted already)."""
        verdicts = summary.by_data(catalog.claims_for(self.tables, self.methods), self.scale, self.dataset_names,
                                   self.table_seeds, self.records, self.epoch_rule)
        notebook.glue_texts(accuracy_tables.family_texts(verdicts))
        averages = summary.assess_averages(catalog.averages_for(self.tables, self.methods), self.scale,
                                           self.dataset_names, self.table_seeds, self.records, self.epoch_rule)
        notebook.glue_tables(verdict_table=accuracy_tables.verdict_groups(
            verdicts, self.tuned_final, self.tuned_records, averages, self.scale, self.epoch_rule))
