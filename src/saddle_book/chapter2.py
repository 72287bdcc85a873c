"""Chapter 2's page, one call per section, called in the page's order: each method publishes its section's figures,
glues its texts and typeset tables for the prose, and judges its claims in the chapter's family. Records and
stored analyses in, nothing trained or computed: the notebook's one `runner.records` call trains what a new rho
needs, and `analyse.require` stops it with the command that makes a missing analysis."""
from __future__ import annotations

from IPython.display import HTML
from myst_nb import glue

from saddle import analyse, grid

from . import (catalog, cifar, figure_style, mechanism, notebook, page_tables, rule, saddle_points, saddle_setup,
               saddle_story, spectra_claims, spectra_figures)


class Page:
    """The plotted seed's pair and the chapter's settings, and the verdicts its sections judge (the scale's declared
    mechanism family: Holm's correction within it, as on every page). Later sections read what earlier ones set:
    story() the other scale's split (curvature_split), last_epoch() the spectra and group claims (comparisons,
    verdict_table)."""

    def __init__(self, scale: str, protocol: str, rho: float, seeds, sweep_seeds, rho_sweep, estimator, epochs,
                 head_class: int, tail_class: int, fig6_classes, ldam_classes):
        self.scale, self.protocol, self.rho, self.estimator = scale, protocol, rho, estimator
        self.seeds, self.seed, self.sweep_seeds, self.rho_sweep = seeds, seeds[0], sweep_seeds, rho_sweep
        self.head_class, self.tail_class = head_class, tail_class
        self.fig6_classes, self.ldam_classes = fig6_classes, ldam_classes
        self.records, self.last = saddle_setup.plotted_runs(scale, protocol, self.seed, rho)
        self.run_epochs = saddle_setup.run_epochs(epochs, self.last)
        self.classes = self.records["CE+DRW"]["class_names"]
        self.groups = self.records["CE+DRW"]["groups"]
        saddle_setup.check_classes(len(self.classes), head_class, tail_class, *fig6_classes, *ldam_classes)
        notebook.glue_texts(saddle_setup.chapter_texts(scale, protocol, rho))
        self.verdicts = rule.Verdicts(show=glue, family=catalog.mechanism_family(scale, protocol))

    def story(self) -> HTML:
        """Both scales' committed evidence on the saddle story, whatever the chapter's scale: the table shown."""
        story, story_texts, by_scale = saddle_story.recorded_evidence()
        across, self.split_by_scale, across_texts = saddle_story.both_scales(by_scale=by_scale)
        notebook.glue_texts(story_texts | across_texts)
        shown = saddle_story.evidence_display(saddle_story.evidence_table(story, across))
        return HTML(page_tables.typeset(shown, wrap=tuple(shown.columns)))

    def last_epoch(self) -> None:
        """Fig. 2 and the class table at the last epoch, two checks on the plotted seed (the tail's spectra on its
        test images, and at the best-validation checkpoint), and the group claims judged on every seed whose
        spectra exist (the tail classes: chapters 6 and 8 computed them; all classes: where committed)."""
        records, estimator, last, tail = self.records, self.estimator, self.last, self.groups["tail"]
        self.final, average = saddle_points.last_epoch_spectra(records, estimator, last)
        figure_style.publish("fig_02_fig2_spectra", spectra_figures.spectral_densities(saddle_points.fig2_panels(
            records, self.final, average, self.head_class, self.tail_class)))
        at_point = saddle_points.at_point(self.final, records)
        images = saddle_points.train_and_test_images(records, estimator, last, tail)
        checkpoints = saddle_points.checkpoint_rows(self.scale, self.protocol, self.seeds, self.rho, estimator, tail)
        notebook.glue_texts({"gradient_sentence": saddle_points.gradient_sentence(at_point),
                             "images_sentence": saddle_points.images_sentence(images),
                             "checkpoint_sentence": saddle_points.checkpoint_sentence(checkpoints)}
                            | saddle_points.fig2_texts(self.final, average, self.groups, self.head_class,
                                                       self.tail_class, self.classes))
        notebook.glue_tables(
            class_table=page_tables.typeset_by(saddle_points.class_table(records, self.final, average, at_point),
                                               "method"),
            images_table=page_tables.typeset_by(images, "method", columns=saddle_points.IMAGES_COLUMNS,
                                                empty="<p>Not computed here.</p>"),
            checkpoint_table=page_tables.typeset_by(checkpoints, "method"))
        self.per_seed = estimator.per_seed(self.scale, self.protocol, self.seeds, self.rho, last, tail)
        self.group_claims = spectra_claims.group_claims(self.per_seed, self.groups, len(self.classes))
        self.verdicts.judge_all(self.group_claims[:-1])  # the last, all classes: judged with Fig. 6
        self.verdicts.judge(*saddle_points.average_claim(self.final, average, tail, self.seed))

    def over_training(self) -> None:
        """Fig. 3's ratio over training on the plotted seed (its claims not tested: one seed)."""
        over = saddle_points.spectra_over_training(self.records, self.estimator, self.run_epochs)
        figure_style.publish("fig_02_ratio_over_training", spectra_figures.ratio_over_training(
            over, drw_epoch=saddle_points.drw_epoch(self.last)))
        by_group = saddle_points.ratio_by_group(over)
        claims, texts = saddle_points.over_training(by_group, self.run_epochs, self.last, self.seed)
        self.verdicts.judge_all(claims)
        notebook.glue_texts(texts)
        notebook.glue_tables(by_group_table=page_tables.typeset_by(saddle_points.epochs_as_columns(by_group), "method"))

    def radius_sweep(self) -> None:
        """Fig. 3 C: the tail's lambda_min against SAM's radius, on the sweep's seeds."""
        rho_table = saddle_setup.sweep_table(self.scale, self.protocol, self.sweep_seeds, self.rho_sweep,
                                             self.estimator)
        claim, texts = saddle_points.radius_sweep(rho_table, self.sweep_seeds, len(self.groups["tail"]))
        self.verdicts.judge(*claim)
        figure_style.publish("fig_02_lambda_min_vs_rho", spectra_figures.lambda_min_vs_rho(rho_table,
                                                                                          each_seed=True))
        notebook.glue_texts(texts)
        notebook.glue_tables(rho_table=page_tables.typeset_levels(saddle_points.radius_means(rho_table), "class"))

    def comparisons(self) -> None:
        """CE against CE+DRW, Fig. 6's spectra judged on every class (the paper's claim is about head, mid and
        tail alike, not the three plotted), and LDAM's pair (Fig. 7); a missing comparison says why."""
        ce = saddle_points.ce_comparison(self.scale, self.protocol, self.seed, self.estimator, self.records,
                                         self.final, self.last)
        if ce["note"]:
            print(ce["note"])
        figure_style.publish("fig_02_class_ratio_bars", spectra_figures.class_ratio_bars(ce["rows"]))
        self.verdicts.judge(*ce["claim"])
        notebook.glue_texts(ce["texts"])
        figure_style.publish("fig_02_fig6_spectra", spectra_figures.spectral_densities(
            saddle_points.fig6_panels(self.records, self.final, self.fig6_classes)))
        self.verdicts.judge(*self.group_claims[-1])
        notebook.glue_texts(saddle_points.spectrum_change(self.final, len(self.classes), self.seed))
        ldam = saddle_points.ldam_comparison(self.scale, self.protocol, self.seed, self.estimator,
                                             self.ldam_classes, self.classes, self.last)
        if ldam["note"]:
            print(ldam["note"])
        figure_style.publish("fig_02_ldam_spectra", spectra_figures.spectral_densities(ldam["panels"]),
                             empty=ldam["note"])
        self.verdicts.judge_all(ldam["claims"])
        notebook.glue_texts(ldam["texts"])
        notebook.glue_tables(ldam_table=page_tables.typeset_by(
            ldam["rows"], "method", columns=saddle_points.LDAM_COLUMNS, empty="<p>Not run here.</p>"))

    def curvature_split(self) -> None:
        """The Gauss-Newton/residual split of the tail at the chapter's radius and the mechanism's, beside the other
        scale's (from story()), the regime calibration, and the estimator's check."""
        glue("regime_text", mechanism.regime_text(mechanism.regime_calibration()), display=False)
        runs = mechanism.runs(self.scale, self.seeds, sorted({self.rho, grid.MECHANISM_RHO}))
        split = mechanism.split_rows(runs, analyse.STORED, iters=self.estimator.iters)
        self.verdicts.add_new(mechanism.claims(split, self.rho))  # sam_tail_min: judged above
        figure_style.publish("fig_02_curvature_split", spectra_figures.curvature_split(split))
        notebook.glue_texts(mechanism.split_texts(split))
        table, text = saddle_points.estimator_reading(runs, self.rho, self.seed, self.scale, self.estimator.iters,
                                                      self.groups["tail"])
        glue("estimator_sentence", text, display=False)
        notebook.glue_tables(
            split_table=page_tables.typeset_levels(saddle_story.split_beside(
                self.split_by_scale, self.scale, mechanism.summary(split)), "scale"),
            estimator_table=page_tables.typeset_by(table, "method", empty="<p>Not computed here.</p>"))

    @staticmethod
    def cifar() -> None:
        """CIFAR-10-LT (JPEG copy): the stored analyses of the headline runs, whatever the chapter's scale."""
        runs = cifar.headline_runs()
        over = cifar.over_training(runs)
        figure_style.publish("fig_02_cifar_over_training", spectra_figures.ratio_over_training(
            over, drw_epoch=cifar.DRW_EPOCH) if len(over) else None,
            empty="no CIFAR-10-LT (JPEG copy) run analysed yet")
        last = cifar.last_epoch(runs)
        notebook.glue_texts(cifar.story_texts(over, last, cifar.tail_split(runs)) | cifar.sam_texts(last))
        notebook.glue_tables(cifar_class_table=page_tables.typeset(cifar.class_table(last)))

    def verdict_table(self) -> None:
        """The family's verdicts after Holm, verdict first, and the seeds each figure shows."""
        family = self.verdicts.frame()
        notebook.glue_texts(saddle_points.figure_seeds(self.seed, self.sweep_seeds, self.per_seed))
        notebook.glue_tables(verdict_table=page_tables.verdict_first(family))
