"""The CIFAR-10-LT (JPEG copy) mechanism family judged from made-up records and analyses: each claim reads what it
should, and without records every claim is 'not run here'."""
import pytest

from saddle import analyse, grid
from saddle_book import catalog, cifar


def spectra(record, ratios, lams, grads):
    """A stored spectra record of all ten classes: lambda_min, the ratio and the class gradient norm per class."""
    return {"spectra": {str(c): {"eigenvalues": [[lams[c], -lams[c] / ratios[c]]], "weights": [[0.5, 0.5]]}
                        for c in range(10)},
            "at_point": {str(c): {"loss": 0.1, "grad_norm": grads[c]} for c in range(10)}}


def record(label, seed, tail_fit):
    return {"label": label, "status": "complete", "class_names": [f"c{c}" for c in range(10)],
            "groups": {"head": [0, 1, 2], "mid": [3, 4, 5, 6], "tail": [7, 8, 9]},
            "config": {"epochs": 200, "seed": seed, "rho": 0.5 if "SAM" in label else 0.0},
            "metrics": {"train_final": {"per_class": [100.0] * 7 + [tail_fit] * 3},
                        "final": {"per_class": [90.0] * 7 + [50.0] * 3}}}


def test_no_records_reads_not_run_here():
    frame = cifar.mechanism_claims({0: {"CE+DRW": None, "CE+DRW+SAM": None}})
    assert list(frame.index) == list(catalog.CIFAR_MECHANISM_IDS) and set(frame["verdict"]) == {"not run here"}


def test_each_claim_reads_its_numbers_on_every_seed(monkeypatch):
    runs = {s: {"CE+DRW": record("CE+DRW", s, 99.0), "CE+DRW+SAM": record("CE+DRW+SAM", s, 95.0 + s)}
            for s in range(3)}
    head_ratio, tail_ratio = 0.01, 0.5

    def fake_spectra(rec, epoch, classes, compute, iters, seed, max_per_class):
        assert (epoch, classes, compute, iters, max_per_class) == (200, "all", False, 100, 256)
        assert seed == rec["config"]["seed"]
        sam = "SAM" in rec["label"]
        ratios = [head_ratio] * 7 + [tail_ratio * (0.5 if sam else 1.0)] * 3
        lams = [-0.1] * 7 + [(-1.0 if sam else -4.0) - 0.1 * seed] * 3
        return spectra(rec, ratios, lams, [2.0] * 7 + [0.5] * 3)

    def fake_split(rec, compute, seed, iters, **settings):
        losses = {7: 0.5, 8: 1.0, 9: 2.0}
        return {"class_names": rec["class_names"],
                "classes": {str(c): {"H_min": -l, "G_min": 0.0, "R_min": -l * 3, "H_max": 10.0, "loss": l,
                                     "grad_norm": 0.5} for c, l in losses.items()}}
    monkeypatch.setattr(analyse, "run_spectra", fake_spectra)
    monkeypatch.setattr(analyse, "split_record", fake_split)
    frame = cifar.mechanism_claims(runs)
    assert frame.loc["tail_saddle", "ours"] == pytest.approx(tail_ratio - head_ratio, abs=0.01)
    assert frame.loc["tail_stationary", "ours"] == pytest.approx(-1.5)
    assert frame.loc["sam_large_rho_tail_min", "ours"] == pytest.approx(3.0)
    assert frame.loc["sam_ratio", "ours"] == pytest.approx(-0.25, abs=0.01)
    assert frame.loc["regime_fit", "ours"] == pytest.approx(6.0) and frame.loc["regime_fit", "seeds"] == 3
    assert frame.loc["negative_in_residual", "ours"] == pytest.approx(1.0)
    assert frame.loc["sam_large_rho_tail_min", "verdict"] == "reproduced"
    assert "verdict (Holm)" in frame and grid.CIFAR_ANALYSES["iters"] == 100


def test_the_landing_line_gives_each_finished_run_beside_the_papers_mean_and_says_when_none_has():
    assert "no CIFAR-10-LT number" in cifar.recorded_line({0: {"CE+DRW": None, "CE+DRW+SAM": None}})
    finished = record("CE+DRW", 0, 99.0)
    finished["metrics"]["final"].update(acc=71.25, tail=48.5)
    line = cifar.recorded_line({0: {"CE+DRW": finished, "CE+DRW+SAM": None}})
    paper = cifar.paper_value("CE+DRW", 1, "cifar10-jpeg", "acc")
    assert paper is not None and line.startswith(f"CE+DRW seed 0: 71.2% overall, 48.5% tail (paper, mean of 3 "
                                                 f"seeds: {paper:.1f}%")
    assert "CE+DRW+SAM" not in line and line.endswith("(single runs: no verdict yet)")


def test_the_chapter_reads_figure_3s_classes_at_the_declared_epochs_and_leaves_out_what_is_not_analysed(monkeypatch):
    runs = {0: {"CE+DRW": record("CE+DRW", 0, 99.0), "CE+DRW+SAM": None}}
    plan = grid.CIFAR_ANALYSES
    analysed = set(plan["fig3_epochs"][:3])  # later epochs not analysed yet

    def fake_spectra(rec, epoch, classes, compute, iters, seed, max_per_class):
        assert not compute and (iters, max_per_class, seed) == (plan["iters"], plan["max_per_class"], 0)
        if epoch not in analysed or (classes == "all" and epoch != 200):
            return None
        ratios = [0.1 * (c + 1) * (epoch / 100 if c in rec["groups"]["tail"] else 100 / epoch) for c in range(10)]
        found = spectra(rec, ratios, [-float(epoch)] * 10, [2.0] * 7 + [0.5] * 3)
        keep = range(10) if classes == "all" else classes
        return {**found, "class_names": rec["class_names"], "settings": {"epoch": epoch},
                "spectra": {str(c): found["spectra"][str(c)] for c in keep}}
    monkeypatch.setattr(analyse, "run_spectra", fake_spectra)
    over = cifar.over_training(runs)
    assert sorted(set(over["epoch"])) == sorted(analysed) and len(over) == 2 * len(analysed)  # no 200 yet
    assert set(over["class"]) == {f"{c} c{c}" for c in plan["fig3_classes"]} and set(over["seed"]) == {0}
    assert cifar.last_epoch(runs).empty  # the last epoch's spectra of all classes not stored yet
    analysed.add(200)
    last = cifar.last_epoch(runs)
    assert len(last) == 10 and (last["lambda_min"] == -200.0).all() and last["grad_norm"].tolist()[-1] == 0.5
    assert last.set_index("class")["ratio"].iloc[-1] == pytest.approx(2.0)
    texts = cifar.story_texts(cifar.over_training(runs), last, cifar.tail_split({}))
    assert (texts["cifar_tailclass_drw"], texts["cifar_tailclass_end"], texts["cifar_tailclass_moves"]) == (
        "1.600", "2.000", "rises")
    assert (texts["cifar_headclass_drw"], texts["cifar_headclass_end"], texts["cifar_headclass_moves"]) == (
        "0.062", "0.050", "falls")
    assert texts["cifar_tail_vs_head"] == "above" and texts["cifar_grad_vs_head"] == "smaller"
    assert texts["cifar_mech_have"] == "CE+DRW seed 0" and texts["cifar_split_H_min"] == "not analysed yet"


def test_sam_against_ce_drw_reads_the_tail_on_the_seeds_both_methods_have():
    import pandas as pd
    tails = {"CE+DRW": [(-0.4, 0.01), (-0.2, 0.05)], "CE+DRW+SAM": [(-0.1, 0.01), (-0.3, 0.02)]}  # two tail classes
    rows = [dict(method=m, seed=0, group="tail", lambda_min=low, ratio=ratio) for m in tails for low, ratio in tails[m]]
    rows += [dict(method=m, seed=0, group="head", lambda_min=-50.0, ratio=0.9) for m in tails]  # never read
    rows.append(dict(method="CE+DRW", seed=1, group="tail", lambda_min=-9.0, ratio=0.5))  # seed 1: no SAM pair
    texts = cifar.sam_texts(pd.DataFrame(rows))
    assert texts["cifar_pair_seeds"] == "seed 0" and texts["cifar_pair_rho"] == f"{cifar.RHO:g}"
    assert (texts["cifar_pair_sam_min"], texts["cifar_pair_ce_min"], texts["cifar_pair_min_moves"]) == (
        "-0.200", "-0.300", "higher than")
    # the claims' arithmetic mean over the classes (0.015 against 0.03), not a geometric one (0.014 against 0.022)
    assert (texts["cifar_pair_sam_ratio"], texts["cifar_pair_ce_ratio"], texts["cifar_pair_ratio_moves"]) == (
        "0.0150", "0.0300", "lower than")
    none = cifar.sam_texts(pd.DataFrame(rows[:2]))  # CE+DRW alone
    assert none["cifar_pair_min_moves"] == "not analysed yet" and none["cifar_pair_seeds"] == "no seed"
    assert cifar.sam_texts(pd.DataFrame())["cifar_pair_ratio_moves"] == "not analysed yet"


def test_a_direction_word_agrees_with_the_numbers_as_printed():
    import numpy as np
    assert cifar._compared(np.float64(-0.9700), np.float64(-0.9705), "higher", "lower", 3) == "lower"  # -0.971
    assert cifar._compared(-0.2370, -0.2374, "higher", "lower", 3) == "the same as"  # both -0.237
    assert cifar._compared(0.5, 0.6, "higher", "lower", 1) == "higher"
