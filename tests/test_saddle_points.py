"""Chapter 2's modules (saddle_setup, saddle_points, saddle_story) and the spectra claims it shares (spectra_claims)
on made-up spectra records: group statistics, the per-seed differences each claim is judged on, the texts whose
directions the chapter states, and the Verdicts collector that judges them by the one rule."""
import math

import pandas as pd
import pytest

from saddle import grid
from saddle_book import (catalog, mechanism, notebook, page_tables, rule, saddle_points, saddle_setup, saddle_story,
                         spectra_claims, spectra_figures)

GROUPS = {"head": [0], "mid": [1], "tail": [2, 3]}


def result(extremes: dict) -> dict:
    """A spectra record whose class c has Ritz values (lambda_min, lambda_max) = extremes[c], equal weights."""
    return {"spectra": {str(c): {"eigenvalues": [[lo, 0.0, hi]], "weights": [[1 / 3] * 3]}
                        for c, (lo, hi) in extremes.items()}}


SGD = result({0: (-0.1, 10.0), 1: (-1.0, 20.0), 2: (-4.0, 40.0), 3: (-6.0, 30.0)})
SAM = result({0: (-0.2, 8.0), 1: (-0.5, 25.0), 2: (-2.0, 50.0), 3: (-3.0, 30.0)})


def test_group_stat_averages_over_the_whole_group():
    assert spectra_claims.stat(SGD, 2, "lambda_min") == -4.0
    assert spectra_claims.group_stat(SGD, GROUPS["tail"], "lambda_min") == -5.0
    assert spectra_claims.group_stat(SGD, GROUPS["tail"], "ratio") == pytest.approx((0.1 + 0.2) / 2)


def test_group_claims_pair_every_seed_that_has_spectra_and_skip_the_others():
    by_seed = {0: {"CE+DRW": {"all": SGD, "tail": SGD}, "CE+DRW+SAM": {"all": SAM, "tail": SAM}},
               1: {"CE+DRW": {"all": None, "tail": SGD}, "CE+DRW+SAM": {"all": None, "tail": SAM}}}
    claims = {key: (diffs, kind) for key, _, diffs, kind in spectra_claims.group_claims(by_seed, GROUPS, 4)}
    assert claims["sam_tail_min"] == ({0: 2.5, 1: 2.5}, "raises")  # -2.5 against -5.0 on both seeds
    assert claims["sam_tail_max"][0] == {0: 5.0, 1: 5.0}
    assert set(claims["sam_flatter"][0]) == {0}  # the head needs all-class spectra: seed 1 has none
    assert claims["sam_flatter"][0][0] == pytest.approx(-2.0)
    assert claims["tail_saddle"][0][0] == pytest.approx(0.15 - 0.01)
    assert claims["sam_shrinks_all"][0][0] == pytest.approx((-5.7 + 11.1) / 4)  # mean lambda_min, every class
    assert claims["tail_stationary"] == ({}, "lowers")  # these spectra records hold no gradient norms
    at_point = {str(c): {"loss": 0.1, "grad_norm": g} for c, g in enumerate((1.0, 2.0, 5.0, 7.0))}
    by_seed[0]["CE+DRW"]["all"] = {**SGD, "at_point": at_point}
    stationary = {key: diffs for key, _, diffs, _ in spectra_claims.group_claims(by_seed, GROUPS, 4)}
    assert stationary["tail_stationary"] == {0: pytest.approx(6.0 - 1.0)}  # tail mean minus head mean


def test_verdicts_judge_by_the_one_rule_show_each_verdict_and_correct_within_the_family():
    shown = {}
    verdicts = rule.Verdicts(show=lambda name, value, display: shown.update({name: value}))
    verdicts.judge("up", "SAM raises it", {0: 1.0, 1: 1.2, 2: 0.9, 3: 1.1}, "raises")
    verdicts.judge("one", "measured once", {0: 1.0}, "raises")
    verdicts.judge("units", "over radii", [0.01, -0.01, 0.0], "keeps", tolerance=0.15, unit="radii")
    assert shown == {}  # shown once the family is complete, with Holm's correction
    family = verdicts.frame()
    assert shown == {"verdict_up": "reproduced", "verdict_one": "not tested", "verdict_units": "reproduced"}
    assert list(family.index) == ["up", "one", "units"] and verdicts.keys() == {"up", "one", "units"}
    assert family.loc["units", "unit"] == "radii" and family.loc["units", "seeds"] == 3
    assert family.loc["up", "p (Holm)"] >= family.loc["up", "p"]
    assert math.isnan(family.loc["one", "p"]) or family.loc["one", "verdict (Holm)"] == "not tested"
    weak = rule.Verdicts(show=lambda name, value, display: shown.update({name: value}))
    weak.judge("barely", "SAM raises it", {0: 1.0, 1: 1.1, 2: 0.2, 3: 0.9}, "raises")  # p 0.03, 0.06 after Holm
    weak.judge("noise", "SAM raises it", {0: 1.0, 1: -1.0, 2: 0.5, 3: -0.4}, "raises")
    row = weak.frame().loc["barely"]
    assert row["verdict"] == "reproduced" and row["verdict (Holm)"] != "reproduced"
    assert shown["verdict_barely"] == f"reproduced before Holm's correction, {row['verdict (Holm)']} after it"


def test_spectrum_change_and_closing_state_the_directions_the_numbers_show():
    final = {"CE+DRW": SGD, "CE+DRW+SAM": SAM}
    texts = saddle_points.spectrum_change(final, 4, seed=0)
    # lambda_max falls in class 0 only; |lambda_min| shrinks in classes 1-3 and grows in class 0
    assert texts["max_falls_classes"] == "1 of 4" and texts["shrunk_classes"] == "3 of 4"
    assert texts["min_grows_classes"] == "1 of 4"
    assert texts["fig6_sentence"].endswith("SAM does not shrink the whole spectrum.")
    mostly = result({0: (-0.05, 5.0), 1: (-0.5, 10.0), 2: (-2.0, 20.0), 3: (-9.0, 30.0)})  # both shrink in 0-2
    assert saddle_points.spectrum_change({"CE+DRW": SGD, "CE+DRW+SAM": mostly}, 4, seed=0)["fig6_sentence"].endswith(
        "lambda_max falls with SAM in 3 of 4 classes and |lambda_min| shrinks in 3 of 4: SAM shrinks both sides of the "
        "spectrum in most classes, not in all.")


def test_gradient_sentence_says_the_tail_is_on_a_slope_only_when_it_is():
    def table(tail_norm):
        return pd.DataFrame([{"method": "CE+DRW", "group": g, "loss": 0.1, "gradient norm": n}
                             for g, n in (("head", 1.0), ("tail", tail_norm))])
    assert "not a stationary point of the class loss" in saddle_points.gradient_sentence(table(3.0))
    assert "stationary" not in saddle_points.gradient_sentence(table(1.5))
    assert saddle_points.gradient_sentence(table(3.0).assign(loss=None)).endswith("no gradient norms yet.")


def test_over_training_compares_after_drw_with_its_start():
    epochs = [10, 160, 200]
    by_group = pd.DataFrame({10: [0.01, 0.02, 0.01, 0.01], 160: [0.03, 0.02, 0.02, 0.01],
                             200: [0.05, 0.02, 0.01, 0.01]},
                            index=pd.MultiIndex.from_tuples([("CE+DRW", "tail"), ("CE+DRW", "head"),
                                                             ("CE+DRW+SAM", "tail"), ("CE+DRW+SAM", "head")],
                                                            names=["method", "group"]))
    claims, texts = saddle_points.over_training(by_group, epochs, last=200, seed=0)
    assert claims[0][2] == {0: pytest.approx(0.02)}
    assert texts["drw_start"] == 160 and texts["drw_tail_direction"] == "rises"
    assert texts["sam_below_epochs"] == "2 of 3"


def test_radius_sweep_pairs_the_largest_radius_with_sgd_per_seed():
    rows = pd.DataFrame([{"seed": s, "rho": r, "class": c, "lambda_min": -5.0 + r * (s - 8) + (c == "9")}
                         for s in (10, 11) for r in (0.0, 0.1, 0.5) for c in ("8", "9")])
    claim, texts = saddle_points.radius_sweep(rows, [10, 11], n_tail=2)
    assert claim[0] == "rho_raises" and claim[2] == {10: pytest.approx(1.0), 11: pytest.approx(1.5)}
    assert texts["rho_raised_classes"] == "2 of 2" and texts["rho_max"] == "0.5"


def test_protocol_radius_and_run():
    assert grid.protocol_rho("CE+DRW+SAM", "smoke", "validated") == 0.5
    assert grid.protocol_rho("CE+DRW+SAM", "cpu", "paper") == grid.table5_rho("CE+DRW+SAM", grid.datasets("cpu")[0])
    tuned = grid.chapter_config("CE+DRW+SAM", "cpu", "validated", 3, 0.05)
    paper = grid.chapter_config("CE+DRW+SAM", "cpu", "paper", 3, 0.05)
    assert tuned.val_per_class > 0 and tuned.subset_seed == 3
    assert paper.val_per_class == 0 and paper.subset_seed == 0


def test_split_texts_read_each_radius_and_say_na_without_records():
    assert set(mechanism.split_texts(pd.DataFrame()).values()) == {"n/a", "0"}
    rows = pd.DataFrame([{"seed": s, "rho": rho, "class": "8 x", "H_min": -5.0 - rho, "R_min": -7.0, "G_min": -1e-6,
                          "loss": 0.1, "test acc": 40.0, "images": 5, "train acc": 90.0, "grad_norm": 3.0,
                          "H_max": 30.0, "lambda_min_over_grad": -1.0} for s in (0, 1) for rho in (0.0, 0.05, 0.5)])
    texts = mechanism.split_texts(rows)
    assert texts["split_large_hmin"] == "-5.5" and texts["split_tuned_hmin"] == "-5.05"
    assert texts["split_sgd_fit"] == "90" and texts["split_g_min"] == "-1e-06"
    assert texts["split_runs"] == "2 seeds of CE+DRW, 2 seeds of SAM at rho 0.05, 2 seeds of SAM at rho 0.5"



def test_curvature_points_rank_lambda_min_against_tail_accuracy():
    curvature = pd.DataFrame([{"rho": r, "seed": s, "class": c, "lambda_min": -4.0 + r + c / 10}
                              for r in (0.0, 0.1, 0.5) for s in (0,) for c in (8, 9)])
    runs = {(r, 0): {"metrics": {"final": {"tail": 40 - 10 * r}}} for r in (0.0, 0.1, 0.5)}
    per_run, correlation = spectra_claims.curvature_points(curvature, runs)
    assert list(per_run["lambda_min"]) == pytest.approx([-3.15, -3.05, -2.65])
    assert correlation == pytest.approx(-1.0)
    assert spectra_claims.correlation_words(correlation) == ("-1.00", "less negative curvature goes with lower "
                                                                     "tail accuracy")
    assert spectra_claims.correlation_words(float("nan"))[0] == "not defined"


def test_tail_lambda_min_by_seed_keeps_the_seeds_with_spectra():
    curvature = pd.DataFrame([{"method": m, "seed": s, "lambda_min": v} for m, s, v in
                              (("SAM", 0, -2.0), ("SAM", 0, -4.0), ("SAM", 2, -1.0), ("SGD", 0, -5.0))])
    assert spectra_claims.tail_lambda_min_by_seed(curvature, "SAM") == {0: -3.0, 2: -1.0}
    assert spectra_claims.tail_lambda_min_by_seed(curvature, "ImbSAM") == {}
    assert spectra_claims.tail_lambda_min_by_seed(pd.DataFrame(), "SAM") == {}


def test_side_of_zero_and_radius():
    assert rule.side_of_zero({"low": 0.5, "high": 2.0}) == "lies above zero"
    assert rule.side_of_zero({"low": -2.0, "high": -0.1}) == "lies below zero"
    assert rule.side_of_zero({"low": -1.0, "high": 1.0}) == "covers zero"
    assert grid.chapter_config("CE+DRW", "cpu", "validated", 0).radius == 0.0
    assert grid.chapter_config("CE+DRW+SAM", "cpu", "validated", 0, 0.2).radius == 0.2


def test_estimator_sentence_reads_the_probe_spread_and_the_longer_run():
    from saddle_book.saddle_points import estimator_sentence
    rows = pd.DataFrame([
        {"method": "a", "class": "8 Bag", "Lanczos steps": 100, "lambda_min": -2.0, "lambda_min spread": 0.2},
        {"method": "a", "class": "8 Bag", "Lanczos steps": 200, "lambda_min": -2.05, "lambda_min spread": 0.1},
        {"method": "b", "class": "8 Bag", "Lanczos steps": 100, "lambda_min": -1.0, "lambda_min spread": 0.3},
        {"method": "b", "class": "8 Bag", "Lanczos steps": 200, "lambda_min": -1.5, "lambda_min spread": 0.0}])
    assert estimator_sentence(rows) == ("At 100 Lanczos steps the probes put a tail class's lambda_min at most 0.3 "
                                        "apart (30% of its size at most); 200 steps move the probes' mean by at most "
                                        "0.5.")
    tiny = rows.assign(**{"lambda_min spread": 1.31e-4, "lambda_min": -8.0})
    assert "at most 0.00013 apart (0.0016% of its size at most)" in estimator_sentence(tiny)
    assert estimator_sentence(tiny).endswith("200 steps leave the probes' mean where it was (to the stored precision).")
    assert estimator_sentence(rows.iloc[:0]) == "The estimator check has no spectra at this scale yet."


def test_chapter2_parameters_resolve_by_protocol_and_refuse_bad_values():
    seeds, sweep_seeds, rho_sweep, rho, estimator = saddle_setup.resolve_parameters(
        "cpu", "paper", None, None, None, None, None, None)
    assert seeds == list(grid.SEEDS) and sweep_seeds == seeds and 0 not in rho_sweep
    assert rho == grid.table5_rho("CE+DRW+SAM", "fashion-mnist") and estimator.iters == 100
    assert estimator.seed == seeds[0] and estimator.max_per_class is None
    smoke = saddle_setup.resolve_parameters("smoke", "validated", None, None, None, None, None, None)
    assert smoke[:4] == ([0], [10], [0.5], 0.5) and smoke[4].iters == 4
    mine = saddle_setup.resolve_parameters("cpu", "validated", 0.3, [0.1], [11], [2], 50, 8)
    assert mine[:4] == ([2], [11], [0.1], 0.3) and (mine[4].iters, mine[4].max_per_class) == (50, 8)
    with pytest.raises(ValueError, match="protocol 'fancy'"):
        saddle_setup.resolve_parameters("cpu", "fancy", None, None, None, None, None, None)
    with pytest.raises(ValueError, match="rho"):
        saddle_setup.resolve_parameters("cpu", "paper", None, [0.1, -1.0], None, None, None, None)


def test_chapter2_reads_the_regime_scale_under_the_validated_protocol_only():
    seeds, sweep_seeds, rho_sweep, rho, estimator = saddle_setup.resolve_parameters(
        grid.REGIME_SCALE, "validated", 0.05, None, None, None, None, None)
    assert (rho_sweep, sweep_seeds) == (list(grid.REGIME_TUNE_RHOS), list(grid.REGIME_TUNE_SEEDS))
    assert seeds == list(grid.PROTOCOL_SEEDS) and estimator.max_per_class == grid.REGIME_MAX_PER_CLASS
    assert notebook.scale_words("cpu") == "Fashion-MNIST-LT, cpu scale"
    assert notebook.scale_words(grid.REGIME_SCALE).endswith("r8-n5000 scale (ResNet-8, 5,000-image head)")
    with pytest.raises(ValueError, match="protocol 'paper' has no runs at scale r8-n5000"):
        saddle_setup.resolve_parameters(grid.REGIME_SCALE, "paper", 0.5, None, None, None, None, None)
    with pytest.raises(ValueError, match="scale 'r32-n500'"):
        saddle_setup.resolve_parameters("r32-n500", "validated", 0.5, None, None, None, None, None)


def _record(tail_acc: float) -> dict:
    """A run record with the fields spectra_rows reads, classes 0-3 in GROUPS."""
    return {"groups": GROUPS, "metrics": {"final": {"acc": 80.0, "per_class": [90.0, 80.0, tail_acc, tail_acc]},
                                          "train_final": {"per_class": [99.0, 98.0, 95.0, 90.0]}}}


def test_side_comparisons_say_they_are_not_trained_at_the_regime_scale():
    final = {m: {**r, "settings": {"epoch": 200}, "class_names": list("abcd")} for m, r in (("CE+DRW", SGD),
                                                                                         ("CE+DRW+SAM", SAM))}
    records = {"CE+DRW": _record(40.0), "CE+DRW+SAM": _record(50.0)}
    assert not saddle_setup.comparisons_trained(grid.REGIME_SCALE) and saddle_setup.comparisons_trained("cpu")
    ce = saddle_points.ce_comparison(grid.REGIME_SCALE, "validated", 0, None, records, final, 200)
    assert "Plain CE is not trained at scale r8-n5000" in ce["note"] and ce["claim"][2] == {}
    assert set(ce["rows"]["method"]) == {"CE+DRW", "CE+DRW+SAM"} and ce["texts"]["ce_sentence"] == ce["note"]
    ldam = saddle_points.ldam_comparison(grid.REGIME_SCALE, "validated", 0, None, [0, 3], list("abcd"), 200)
    assert ldam["panels"] == {} and all(values == {} for _, _, values, _ in ldam["claims"])
    assert "LDAM+DRW is not trained" in ldam["note"] and ldam["rows"].empty
    assert spectra_figures.spectral_densities(ldam["panels"]) is None  # publish draws the note instead


def test_across_scales_sets_each_claim_beside_its_other_scale_with_holm_per_scale():
    def frame(diffs):
        return pd.DataFrame([{"key": key, **rule.claim_row(key, d, "raises")} for key, d in diffs.items()]
                            ).set_index("key")
    decided = {s: 1.0 + 0.01 * s for s in range(5)}
    cpu = frame({"tail_saddle": decided, "sam_tail_min": {s: -1.0 - 0.01 * s for s in range(5)},
                 "negative_in_residual": {0: 0.5}})
    regime = frame({"tail_saddle": {0: 0.2, 1: -0.1, 2: 0.05}})
    table = saddle_story.across_scales({"cpu": cpu, "r8-n5000": regime})
    assert list(table.index) == ["tail_saddle", "sam_tail_min", "negative_in_residual"]  # MECHANISM_CLAIMS' order
    assert table.loc["tail_saddle", "cpu"].startswith("+1.02 [") and "reproduced (5 seeds)" in table.loc[
        "tail_saddle", "cpu"]
    assert "contradicted (5 seeds)" in table.loc["sam_tail_min", "cpu"]
    assert table.loc["tail_saddle", "r8-n5000"].endswith("inconclusive (3 seeds)")
    assert table.loc["sam_tail_min", "r8-n5000"] == "not measured"
    cells = saddle_story.scale_cells(table, "r8-n5000", ["tail_saddle", "lmin_tracks_tail_acc"])
    assert cells == {"tail_saddle": table.loc["tail_saddle", "r8-n5000"], "lmin_tracks_tail_acc": "not measured yet"}
    assert saddle_story.scale_cells(pd.DataFrame(), "r8-n5000", ["tail_saddle"]) == {"tail_saddle": "not measured yet"}
    one_seed = table.loc["negative_in_residual", "cpu"]
    assert "[" not in one_seed and one_seed.endswith("(1 seed)")
    # Holm runs over the scale's whole declared family, rows the table does not show included (as chapter 2 does):
    # a weak claim's raw "reproduced" (p about 0.02) survives alone, not beside eleven more claims of its family.
    weak = {0: 0.3, 1: 1.9, 2: 0.6, 3: 1.5, 4: 0.9}
    alone = saddle_story.across_scales({"cpu": frame({"tail_saddle": weak})})
    family = frame({"tail_saddle": weak, **{k: {0: 0.1, 1: -0.1, 2: 0.05} for k in catalog.MECHANISM_IDS
                                               if k not in saddle_story.MECHANISM_CLAIMS},
                    "not_in_the_family": decided})
    beside = saddle_story.across_scales({"cpu": family})
    assert list(beside.index) == ["tail_saddle"] and "reproduced (5 seeds)" in alone.loc["tail_saddle", "cpu"]
    assert "reproduced before Holm's correction, inconclusive after it" in beside.loc["tail_saddle", "cpu"]


def test_held_counts_leave_the_books_own_hypothesis_out_and_the_reach_depends_on_gradient_against_curvature():
    cpu = pd.DataFrame([{"key": "tail_saddle", **rule.claim_row("t", {s: 1.0 + 0.01 * s for s in range(5)},
                                                                     "raises")}]).set_index("key")

    def split(grad, h_min):
        return pd.DataFrame({"grad_norm": [grad], "H_min": [h_min], "lambda_min_over_grad": [h_min / grad]},
                            index=pd.MultiIndex.from_tuples([("cpu", 0.0)], names=["scale", "rho"]))
    # the book's own hypothesis (the G/R split) is shown but never counted for or against the paper
    own = pd.concat([cpu, pd.DataFrame([{"key": "negative_in_residual", **rule.claim_row(
        "r", {s: -1.0 - 0.01 * s for s in range(5)}, "raises")}]).set_index("key")])
    assert own.loc["negative_in_residual", "verdict"] == "contradicted"
    assert saddle_story.held_counts({"cpu": own}) == saddle_story.held_counts({"cpu": cpu})
    assert "about 1.00" in saddle_story.stationary_reach(split(4.0, -8.0))
    near = saddle_story.stationary_reach(split(1.0, -8.0))  # 2 * 1 / 8 = 0.25 < 0.5
    assert "about 0.25" in near and near.endswith("feels the curvature before the slope.")


def test_images_sentence_says_which_way_the_test_images_move_lambda_min():
    rows = pd.DataFrame([{"method": "CE+DRW", "class": c, "images": images, "lambda_min": lam, "loss": loss}
                         for c in ("8 x", "9 y") for images, lam, loss in (("train", -4.0, 0.1), ("test", -2.0, 1.5))])
    sam_train_only = rows[rows["images"] == "train"].assign(method="CE+DRW+SAM")
    assert saddle_points.images_sentence(pd.concat([rows, sam_train_only])).endswith(
        "Not computed on test images yet: CE+DRW+SAM.")  # a method without test images is named, not a KeyError
    assert saddle_points.images_sentence(rows) == ("Means over the tail classes. CE+DRW: lambda_min -2 on test images "
                                                   "against -4 on training images (less negative), loss 1.5 against "
                                                   "0.1.")


def test_checkpoint_rows_pair_the_last_epoch_with_a_kept_best_validation_snapshot(monkeypatch):
    from saddle import checkpoints
    best = {0: 150, 1: 200, 2: 120}  # seed 1's best epoch is its last; seed 2 kept no snapshot at 120
    monkeypatch.setattr(saddle_points, "find_record", lambda config: {"metrics": {
        "best_val": {"epoch": best[config.seed], "tail": 50.0}, "final": {"tail": 45.0}}})

    def path(run_id, epoch):
        if epoch == 120:
            raise FileNotFoundError("no checkpoint")
    monkeypatch.setattr(checkpoints, "checkpoint_path", path)
    monkeypatch.setattr(saddle_setup.Estimator, "of", lambda self, record, epoch, which, seed:
                        result({c: (-1.0 if epoch == 200 else -2.0, 10.0) for c in which}))
    estimator = saddle_setup.Estimator(iters=4, max_per_class=None, seed=0)
    rows = saddle_points.checkpoint_rows("cpu", "validated", [0, 1, 2], 0.05, estimator, [8, 9])
    assert list(rows["seed"]) == [0, 0] and list(rows["method"]) == ["CE+DRW", "CE+DRW+SAM"]
    assert list(rows["lambda_min, last epoch"]) == [-1.0, -1.0] and list(rows["lambda_min, best validation"]) == [
        -2.0, -2.0] and set(rows["best-validation epoch"]) == {150}
    assert not rows["DRW on"].any()  # epoch 150 of 200: before the switch at 160


def test_checkpoint_sentence_reads_each_run_without_averaging_methods():
    rows = pd.DataFrame({"seed": [0, 0, 1], "method": ["CE+DRW", "CE+DRW+SAM", "CE+DRW"],
                         "best-validation epoch": [50, 170, 120], "lambda_min, last epoch": [-4.0, -8.0, -5.0],
                         "lambda_min, best validation": [-28.0, -7.0, None], "DRW on": [False, True, False]})
    assert saddle_points.checkpoint_sentence(rows) == (
        "Tail lambda_min at the best-validation checkpoint against the last epoch: seed 0 CE+DRW (epoch 50, before "
        "DRW switches on) -28 "
        "against -4; seed 0 CE+DRW+SAM (epoch 170) -7 against -8.")
    assert saddle_points.checkpoint_sentence(rows.iloc[:0]).startswith("No run here has a best-validation snapshot")


def test_both_scales_glues_the_regime_cells_and_the_closing_paragraph(monkeypatch):
    frame = pd.DataFrame([{"key": "tail_stationary", **rule.claim_row("t", {0: 1.0, 1: 1.2, 2: 1.1}, "lowers")}]
                         ).set_index("key")
    monkeypatch.setattr(saddle_story, "recorded_mechanism", lambda scale: frame if scale == "r8-n5000" else
                        frame.iloc[:0])
    monkeypatch.setattr(mechanism, "summary_across_scales", lambda by_scale: pd.DataFrame())
    table, split, texts = saddle_story.both_scales()
    assert list(table.index) == ["tail_stationary"] and split.empty
    assert texts["regime_tail_stationary"] == table.loc["tail_stationary", "r8-n5000"]
    assert texts["regime_tail_saddle"] == "not measured yet" and texts["evidence_counts"].startswith(
        "at cpu none is measured yet")
    assert {f"regime_{key}" for key in saddle_story.MECHANISM_CLAIMS} <= set(texts)
    assert texts["regime_large_fit"] == "n/a"
    fits = pd.DataFrame({"train acc": [93.9, 59.6]},
                        index=pd.MultiIndex.from_tuples([("r8-n5000", 0.0), ("r8-n5000", 0.5)], names=["scale", "rho"]))
    monkeypatch.setattr(mechanism, "summary_across_scales", lambda by_scale: fits)
    assert saddle_story.both_scales()[2]["regime_large_fit"] == "60%"


def test_classes_out_of_range_are_named():
    saddle_setup.check_classes(10, 0, 9)
    with pytest.raises(ValueError, match="class 10 out of range; accepted: 0..9"):
        saddle_setup.check_classes(10, 0, 10)


def test_seeds_with_spectra_need_both_runs():
    per_seed = {0: {"CE+DRW": {"all": SGD}, "CE+DRW+SAM": {"all": SAM}},
                1: {"CE+DRW": {"all": SGD}, "CE+DRW+SAM": {"all": None}}}
    assert saddle_setup.seeds_with_spectra(per_seed) == "0"
    assert saddle_setup.seeds_with_spectra({1: per_seed[1]}) == "none"


def test_curvature_reading_texts_with_and_without_spectra():
    curvature = pd.DataFrame([{"rho": r, "seed": s, "class": 9, "lambda_min": -4.0 + r}
                              for r in (0.0, 0.5) for s in (10, 11)])
    runs = {(r, s): {"metrics": {"final": {"tail": 40 - 10 * r + s}}} for r in (0.0, 0.5) for s in (10, 11)}
    points, texts = spectra_claims.curvature_reading(curvature, runs, "final", "k", within_seed=True)
    assert len(points) == 4 and texts["k_runs"] == 4
    assert texts["k_within_seed"] == "seed 10: -1.00; seed 11: -1.00"
    none, empty = spectra_claims.curvature_reading(curvature.iloc[:0], runs, "final", "k")
    assert none is None and empty == {"k_rank": "not computed", "k_runs": 0, "k_reading": "no spectra to compare"}


def test_figure_seeds_name_the_seeds_each_figure_rests_on():
    texts = saddle_points.figure_seeds(0, [], {})
    assert set(texts) == {"spectra_seeds", "all_class_seeds", "plot_seed"}
    assert texts["spectra_seeds"] == "none" and texts["all_class_seeds"] == "none" and texts["plot_seed"] == 0


def test_estimator_reading_names_the_plotted_seeds_runs_at_both_radii_and_shortens_smoke():
    seen = {}

    class FakeSource:  # reads through whatever source the notebook hands it
        def estimator_rows(self, runs, classes, iters):
            seen.update(runs=runs, iters=iters)
            return [{"method": name, "class": "2 x", "Lanczos steps": s, "lambda_min": -1.0, "lambda_min spread": 0.1}
                    for name in runs for s in iters]

    runs = {(0.0, 3): "drw", (0.05, 3): "tuned", (grid.MECHANISM_RHO, 3): "large", (0.05, 4): "other seed"}
    table, text = saddle_points.estimator_reading(runs, 0.05, 3, "cpu", 100, [2], FakeSource())
    assert seen["runs"] == {"CE+DRW": "drw", "CE+DRW+SAM rho 0.05": "tuned",
                            f"CE+DRW+SAM rho {grid.MECHANISM_RHO:g}": "large"}
    assert seen["iters"] == (50, 100, 200) and len(table) == 9
    assert text.startswith("At 100 Lanczos steps")
    saddle_points.estimator_reading(runs, 0.05, 3, "smoke", 4, [2], FakeSource())
    assert seen["iters"] == (4, 8)


def test_fig6_panels_title_each_class_with_its_group_for_each_method():
    record = {"class_names": ["a", "b", "c", "d"], "groups": GROUPS}
    panels = saddle_points.fig6_panels({"CE+DRW": record, "CE+DRW+SAM": record}, {"CE+DRW": SGD, "CE+DRW+SAM": SAM},
                                       [0, 2])
    assert list(panels) == ["CE+DRW: class 0 a (head)", "CE+DRW: class 2 c (tail)", "CE+DRW+SAM: class 0 a (head)",
                            "CE+DRW+SAM: class 2 c (tail)"]
    assert panels["CE+DRW+SAM: class 2 c (tail)"].lambda_min == -2.0
    assert "validation split" in saddle_setup.protocol_words("validated")
    assert "Table 5's rho" in saddle_setup.protocol_words("paper")


def test_recorded_mechanism_at_cpu_judges_the_family_chapter_2_judges_from_committed_records():
    """The side-by-side table's Holm family is the chapter's: with the radius sweep's claim (tuning seeds 10, 11)."""
    frame = saddle_story.recorded_mechanism("cpu")
    assert set(saddle_story.MECHANISM_CLAIMS) <= set(frame.index) <= set(catalog.MECHANISM_IDS)
    assert frame.loc["rho_raises", "seeds"] == 2 and frame.loc["sam_ratio", "seeds"] == 5


def _frame(claims: dict) -> pd.DataFrame:
    """Verdict rows by key from {key: ({seed: difference}, kind)}."""
    return pd.DataFrame([{"key": key, **rule.claim_row(key, diffs, kind)} for key, (diffs, kind) in
                         claims.items()]).set_index("key")


def test_evidence_gathers_each_claim_from_its_family_with_the_split_numbers_and_correlations_per_arm():
    seeds = range(5)
    declared = _frame({"tail_stationary": ({s: 5.0 + 0.1 * s for s in seeds}, "lowers"),
                       "sam_large_rho_tail_min": ({s: 8.0 + 0.2 * s for s in seeds}, "raises"),
                       "sam_ratio": ({s: 0.03 + 0.001 * s for s in seeds}, "lowers"),
                       "negative_in_residual": ({s: -0.8 - 0.01 * s for s in seeds}, "raises")})
    after = rule.holm_verdicts(_frame({"large_rho_tail_acc": ({s: -15.0 - s for s in seeds}, "raises"),
                                            "large_rho_acc": ({0: -5.0}, "raises")}))
    rows = pd.DataFrame([{"seed": s, "rho": rho, "class": f"{c} x", "H_min": -3.0 * (c - 6) * (2 if rho else 1),
                          "H_max": 10.0 if rho else 40.0, "R_min": -1.0 * c, "loss": 0.1 * c * (1 if rho else -1),
                          "test acc": 40.0 - c, "train acc": 60.0 if rho else 90.0}
                         for s in (0, 1) for rho in (0.0, 0.5) for c in (7, 8, 9)])
    table, texts = saddle_story.evidence({"r8-n5000": declared}, {"r8-n5000": after}, {"r8-n5000": rows})
    assert list(table.index) == list(saddle_story.EVIDENCE) and list(table.columns) == ["claim", "family", "r8-n5000"]
    assert table.loc["negative_in_residual", "family"] == "declared; the book's own hypothesis"
    assert table.loc["large_rho_acc", "family"] == "added after its data"
    assert texts["story_regime_tail_stationary"] == table.loc["tail_stationary", "r8-n5000"]
    assert texts["story_regime_tail_stationary"].startswith("+5.20 [") and texts[
        "story_regime_tail_stationary_verdict"] == "contradicted"
    assert texts["story_regime_sam_large_rho_tail_min_verdict"] == "reproduced"
    assert texts["story_regime_large_rho_tail_acc_verdict"] == "contradicted"
    assert texts["story_regime_large_rho_acc_verdict"] == "not tested"  # one seed
    assert texts["story_regime_sam_large_rho_ratio"] == "not measured"  # not in the frame given
    assert texts["story_regime_negative_in_residual_verdict"] == "contradicted"
    # the split: the tail group's mean per run, then over seeds; ratio |lambda_min/lambda_max| per class, averaged
    assert texts["story_regime_sgd_hmin"] == "-6" and texts["story_regime_sgd_hmax"] == "40"
    assert texts["story_regime_large_hmin"] == "-12" and texts["story_regime_large_hmax"] == "10"
    assert texts["story_regime_sgd_ratio"] == "0.150" and texts["story_regime_large_ratio"] == "1.200"
    assert texts["story_regime_sgd_fit"] == "90" and texts["story_regime_large_fit"] == "60"
    # lambda_min falls and test accuracy falls with the class in every run (+1 within each arm); |R_min| rises with
    # the class while the loss falls with it under SGD (-1) and rises with it under SAM (+1)
    assert texts["story_regime_lmin_tracks_tail_acc_arms"] == "CE+DRW +1.00, SAM 0.5 +1.00"
    assert texts["story_regime_negative_in_residual_arms"] == "CE+DRW -1.00, SAM 0.5 +1.00"
    # pooled over both runs the two opposite orders cancel: what a within-run correlation keeps apart
    assert abs(float(texts["story_regime_negative_in_residual_pooled"])) < 1e-9
    empty, none = saddle_story.evidence({"cpu": declared.iloc[:0]}, {}, {})
    assert set(empty["cpu"]) == {"not measured"} and none["story_cpu_sgd_hmax"] == "n/a"
    assert none["story_cpu_lmin_tracks_tail_acc_arms"] == "n/a"


@pytest.mark.slow  # reads both scales' committed records (over 5 s of one core)
def test_recorded_evidence_reads_both_scales_from_the_committed_records():
    """The section's numbers at r8-n5000 (5 seeds each): SAM at rho 0.5 costs tail and overall accuracy and raises the
    tail's |lambda_min/lambda_max|, contradicting the paper's direction after Holm within the added family."""
    table, texts, by_scale = saddle_story.recorded_evidence()
    assert set(by_scale) == {"cpu", "r8-n5000"}
    assert texts["story_regime_large_rho_tail_acc"] == "-15.25 [-20.36, -10.14], contradicted (5 seeds)"
    assert texts["story_regime_large_rho_acc"] == "-4.86 [-6.48, -3.24], contradicted (5 seeds)"
    assert texts["story_regime_sam_large_rho_ratio_verdict"] == "contradicted"
    assert texts["story_regime_sam_large_rho_tail_min_verdict"] == "reproduced"
    assert texts["story_regime_sam_ratio_verdict"] == "contradicted"
    assert texts["story_regime_tail_stationary_verdict"] == "contradicted"
    assert texts["story_regime_sgd_hmax"] == "232" and texts["story_regime_large_hmax"] == "11.9"
    assert texts["story_cpu_lmin_tracks_tail_acc_pooled"] == "+0.29"  # how the book read it before: pooled runs
    assert texts["story_cpu_lmin_tracks_tail_acc"].startswith("+0.40 [")
    assert table.loc["negative_in_residual", "family"].endswith("the book's own hypothesis")


def test_held_counts_and_the_stationarity_sentence_are_the_evidence_paragraphs_own_clauses():
    cpu = pd.DataFrame([{"key": "tail_saddle", **rule.claim_row("t", {s: 1.0 + 0.01 * s for s in range(5)},
                                                                     "raises")}]).set_index("key")
    split = pd.DataFrame({"grad_norm": [4.0], "H_min": [-8.0], "lambda_min_over_grad": [-2.0]},
                         index=pd.MultiIndex.from_tuples([("cpu", 0.0)], names=["scale", "rho"]))
    counts = saddle_story.held_counts({"cpu": cpu, "r8-n5000": cpu.iloc[:0]})
    assert counts == "at cpu 1 of 1 holds and 0 run against the paper; at r8-n5000 none is measured yet"
    reach = saddle_story.stationary_reach(split)
    assert "up to a step of about 1.00" in reach and reach.endswith("fails the first condition of a saddle.")
    assert saddle_story.stationary_reach(split.iloc[:0]) == ""


def test_evidence_table_adds_the_claims_across_scales_lacks_once_each_in_the_storys_order():
    story = pd.DataFrame({"claim": ["stationary", "cost"], "family": ["declared", "added after its data"],
                          "cpu": ["a", "b"], "r8-n5000": ["c", "d"]},
                         index=pd.Index(["tail_stationary", "large_rho_acc"], name="key"))
    across = pd.DataFrame({"claim": ["at a saddle", "stationary, worded apart"], "cpu": ["e", "a"],
                           "r8-n5000": ["f", "c"]}, index=pd.Index(["tail_saddle", "tail_stationary"], name="key"))
    table = saddle_story.evidence_table(story, across)
    assert list(table.index) == ["tail_saddle", "tail_stationary", "large_rho_acc"]
    assert list(table.columns) == ["claim", "family", "cpu", "r8-n5000"]
    assert table.loc["tail_saddle", "family"] == "declared" and table.loc["tail_stationary", "claim"] == "stationary"


def test_split_beside_adds_the_chapters_own_scale_once():
    index = pd.MultiIndex.from_tuples([("cpu", 0.0), ("cpu", 0.5)], names=["scale", "rho"])
    both = pd.DataFrame({"H_min": [-6.8, -5.5]}, index=index)
    own = pd.DataFrame({"H_min": [-1.0]}, index=pd.Index([0.0], name="rho"))
    assert saddle_story.split_beside(both, "cpu", own) is both  # cpu is already there
    beside = saddle_story.split_beside(both, "smoke", own)
    assert list(beside.index) == [("cpu", 0.0), ("cpu", 0.5), ("smoke", 0.0)]
    assert saddle_story.split_beside(both, "smoke", pd.DataFrame()) is both


def test_evidence_display_names_the_family_in_the_claim_and_breaks_each_cell_in_two_lines():
    table = pd.DataFrame({"claim": ["stationary", "cost", "R"],
                          "family": ["declared", "added after its data", "declared; the book's own hypothesis"],
                          "cpu": ["+3.20 [+1.41, +4.98], contradicted before Holm's correction, inconclusive after it "
                                  "(5 seeds)", "not measured", "+0.40, not tested (1 seed)"]},
                         index=pd.Index(["tail_stationary", "large_rho_acc", "negative_in_residual"], name="key"))
    shown = saddle_story.evidence_display(table)
    assert list(shown.columns) == ["claim", "cpu"]
    assert list(shown["claim"]) == ["stationary", "cost (added after its data)", "R (the book's own hypothesis)"]
    nbsp = chr(0xA0)  # the interval never breaks
    assert list(shown["cpu"]) == [f"inconclusive after Holm (contradicted before)\n+3.20{nbsp}[+1.41,{nbsp}+4.98] "
                                  "(5 seeds)", "not measured", "not tested\n+0.40 (1 seed)"]
    assert saddle_story.evidence_display(table.assign(claim="SAM at rho 0.5 raises lambda_min"))["claim"].iloc[0] == \
        "SAM at ρ 0.5 raises λmin"
    assert "<br>" in page_tables.typeset(shown)
    same = table.iloc[[0, 0]].assign(cpu=[table["cpu"].iloc[0], table["cpu"].iloc[0].replace("contradicted", "x")])
    shown = saddle_story.evidence_display(same)
    assert list(shown.columns) == ["claim", "cpu, 5 seeds"] and not shown["cpu, 5 seeds"].str.contains("seeds").any()


# ---- Chapter 2's cells as calls: the plotted runs, the last epoch's tables, Fig. 3's frames (made-up spectra) ----

NAMES = ["a", "b", "c", "d"]


def _run(label: str) -> dict:
    """A record of four classes (GROUPS) with per-class test and training accuracy."""
    return {"label": label, "class_names": NAMES, "groups": GROUPS,
            "metrics": {"final": {"acc": 60.0, "per_class": [90.0, 70.0, 40.0, 30.0]},
                        "train_final": {"acc": 99.0, "per_class": [100.0, 100.0, 95.0, 90.0]}}}


class _Estimator:
    """Estimator.of on made-up spectra: SGD's or SAM's extremes (lambda_min scaled by epoch / 100), each class's
    loss 0.1 c and gradient norm 1 + c; `which` [AVERAGE]: the average loss's spectrum alone."""

    def of(self, record, epoch, which="all", **settings):
        from saddle.spectra import AVERAGE
        base = SGD if record["label"] == "CE+DRW" else SAM
        spectra = {k: {"eigenvalues": [[v["eigenvalues"][0][0] * epoch / 100, 0.0, v["eigenvalues"][0][2]]],
                       "weights": v["weights"]} for k, v in base["spectra"].items()}
        if which != "all":
            spectra = {AVERAGE: spectra["2"]}
        return {"spectra": spectra, "settings": {"epoch": epoch}, "class_names": NAMES,
                "at_point": {str(c): {"loss": 0.1 * c, "grad_norm": 1.0 + c} for c in range(4)}}


RUNS = {"CE+DRW": _run("CE+DRW"), "CE+DRW+SAM": _run("CE+DRW+SAM")}


def test_class_table_has_every_class_and_the_average_per_method_with_the_point_beside_them():
    final, average = saddle_points.last_epoch_spectra(RUNS, _Estimator(), 100)
    assert set(final) == set(average) == set(RUNS) and list(average["CE+DRW"]["spectra"]) == ["average"]
    table = saddle_points.class_table(RUNS, final, average, saddle_points.at_point(final, RUNS))
    assert list(table.columns) == saddle_points.CLASS_COLUMNS and len(table) == 2 * (4 + 1)
    row = table[(table["method"] == "CE+DRW") & (table["class"] == "2 c")].iloc[0]
    assert (row["lambda_min"], row["gradient norm"], row["test acc"]) == (pytest.approx(-4.0), 3.0, 40.0)
    assert table[table["class"] == "average"]["gradient norm"].isna().all()


def test_fig2_texts_name_the_plotted_classes():
    final, average = saddle_points.last_epoch_spectra(RUNS, _Estimator(), 100)
    average = {m: {"spectra": {"average": final[m]["spectra"]["0"]}} for m in final}
    texts = saddle_points.fig2_texts(final, average, GROUPS, 0, 2, NAMES)
    assert (texts["tail_name"], texts["head_name"]) == ("2 c", "0 a")
    assert texts["drw_tailgroup_ratio"] == "0.150" and texts["drw_avg_ratio"] == "0.010"


def test_ratio_over_training_averages_each_group_per_epoch():
    rows = saddle_points.spectra_over_training(RUNS, _Estimator(), [100, 200])
    assert len(rows) == 2 * 2 * 4 and set(rows["epoch"]) == {100, 200}
    by_group = saddle_points.ratio_by_group(rows)
    assert by_group.shape == (6, 2)
    assert by_group.loc[("CE+DRW", "tail")].tolist() == [pytest.approx(0.15), pytest.approx(0.3)]
    table = saddle_points.epochs_as_columns(by_group)
    assert list(table.columns) == ["method", "group", "100", "200"] and len(table) == 6
    assert saddle_points.drw_epoch(200) == 160 and saddle_points.drw_epoch(10) == 8


def test_radius_means_average_each_class_and_radius_over_the_seeds():
    rows = pd.DataFrame({"class": ["8", "8", "8"], "rho": [0.0, 0.0, 0.5], "seed": [10, 11, 10],
                         "lambda_min": [-4.0, -2.0, -1.0], "train acc": [100.0, 90.0, 50.0],
                         "test acc": [20.0, 30.0, 10.0]})
    means = saddle_points.radius_means(rows)
    assert list(means.columns) == ["lambda_min", "train acc", "test acc"]
    assert means.loc[("8", 0.0)].tolist() == [-3.0, 95.0, 25.0] and len(means) == 2


def test_run_epochs_scale_the_papers_epochs_to_the_run_and_keep_each_once():
    assert saddle_setup.run_epochs([10, 50, 160, 170, 190, 200], 200) == [10, 50, 160, 170, 190, 200]
    assert saddle_setup.run_epochs([10, 50, 160, 170, 190, 200], 20) == [1, 5, 16, 17, 19, 20]
    assert saddle_setup.run_epochs([10, 50, 160, 200], 2) == [1, 2]


def test_chapter_texts_and_the_plotted_runs(monkeypatch):
    from saddle import runs
    texts = saddle_setup.chapter_texts("cpu", "paper", 0.05)
    assert texts["chapter_rho"] == "0.05" and texts["chapter_scale"] == "Fashion-MNIST-LT, cpu scale"
    assert texts["chapter_protocol"].startswith("the paper's protocol")
    monkeypatch.setattr(runs, "require_record", lambda config: {"label": config.label, "rho": config.rho})
    records, last = saddle_setup.plotted_runs("smoke", "validated", 0, 0.5)
    assert list(records) == ["CE+DRW", "CE+DRW+SAM"] and records["CE+DRW+SAM"]["rho"] == 0.5
    assert last == dict(saddle_setup.chapter_pair("smoke", "validated", 0, 0.5))["CE+DRW"].epochs


def test_sweep_table_reads_every_run_of_the_sweep_with_the_chapters_settings(monkeypatch):
    asked = {}

    class Stored:
        def sweep_rows(self, runs, **settings):
            asked.update(runs=runs, settings=settings)
            return [{"rho": rho, "seed": seed, "lambda_min": -1.0} for rho, seed in runs]
    monkeypatch.setattr(saddle_setup, "STORED", Stored())
    monkeypatch.setattr(saddle_setup, "find_record", lambda config: {"run": config.run_id})
    table = saddle_setup.sweep_table("smoke", "validated", [10, 11], [0.5], saddle_setup.Estimator(4, 16, 0))
    assert asked["settings"] == {"iters": 4, "max_per_class": 16}
    assert set(asked["runs"]) == {(0.0, 10), (0.5, 10), (0.0, 11), (0.5, 11)} and len(table) == 4


def test_the_split_summary_of_no_rows_is_empty_and_verdicts_add_only_new_claims():
    assert mechanism.summary(pd.DataFrame()).empty
    verdicts = rule.Verdicts()
    verdicts.judge("sam_tail_min", "SAM raises the tail", {0: 1.0, 1: 2.0, 2: 1.5}, "raises")
    judged = pd.DataFrame({"claim": ["again", "new"], "verdict": ["inconclusive", "reproduced"]},
                          index=["sam_tail_min", "negative_in_residual"])
    verdicts.add_new(judged)
    assert [row["key"] for row in verdicts.rows] == ["sam_tail_min", "negative_in_residual"]
    assert verdicts.rows[0]["claim"] == "SAM raises the tail" and verdicts.rows[1]["verdict"] == "reproduced"


def test_typeset_by_keeps_the_columns_asked_and_says_so_when_empty():
    frame = pd.DataFrame({"method": ["A", "B"], "lambda_min": [-1.0, -2.0], "x": [1.0, 2.0]})
    page = page_tables.typeset_by(frame, "method", columns=["method", "lambda_min"])
    assert page.count("<table") == 2 and ">x</th>" not in page and "λmin" in page
    assert page_tables.typeset_by(frame.iloc[:0], "method", empty="<p>none</p>") == "<p>none</p>"
    assert page_tables.typeset_by(pd.DataFrame(), "method") == ""
    assert page_tables.titled("T", "<table/>") == "<p><b>T</b></p><table/>"
    assert page_tables.blocks([], "<p>none</p>") == "<p>none</p>" and page_tables.blocks(["a", "b"], "") == "a\nb"
