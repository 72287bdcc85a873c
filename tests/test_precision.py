"""bf16 against fp32: the pairs are twins that differ in precision alone, and the family is judged by the one rule."""
import pytest

from saddle import analyse, grid
from saddle_book import catalog, precision


def test_twins_differ_in_precision_alone():
    pairs = precision.twins()
    assert len(pairs) == 2 * len(grid.PROTOCOL_SEEDS)
    for _, _, fp32, bf16 in pairs:
        a, b = fp32.to_dict(), bf16.to_dict()
        assert b.pop("precision") == "bf16" and "precision" not in a and a == b
    assert {c.run_id for *_, c in pairs} == {c.run_id for c in grid.bf16_twins()}


def fake_record(acc, tail, seed=0):
    return {"metrics": {"final": {"acc": acc, "tail": tail}}, "groups": {"tail": [7, 8, 9]},
            "config": {"epochs": 200, "seed": seed}}


def test_verdicts_judge_each_claim_at_its_declared_margin(monkeypatch):
    """bf16 within 0.1 points of fp32 on every seed: equivalent (keeps, reproduced); the tail's lambda_min 3 apart:
    beyond its margin of 1.0 (contradicted); no record: not run here."""
    by_id = {}
    for method, seed, fp32, bf16 in precision.twins():
        by_id[fp32.run_id] = fake_record(80.0 + seed, 60.0 + seed, seed)
        by_id[bf16.run_id] = None if method == "CE+DRW+SAM" else fake_record(80.05 + seed, 60.0 + seed, seed)

    def spectra(record, epoch, classes, seed, compute, **settings):
        assert (epoch, classes, compute, settings) == (200, [7, 8, 9], False, precision.TAIL_SPECTRA)
        shift = 3.0 if record["metrics"]["final"]["acc"] % 1 else 0.0  # the bf16 twin's
        return {"spectra": {str(c): {"lambda_min": -10.0 + shift + 0.1 * seed} for c in classes}}

    monkeypatch.setattr(precision, "find_record", lambda config: by_id[config.run_id])
    monkeypatch.setattr(analyse, "run_spectra", spectra)  # what analyse.STORED reads through
    frame = precision.verdicts()
    assert list(frame.index) == list(catalog.PRECISION_IDS)
    assert frame.loc["bf16-ce+drw-acc", "verdict"] == "reproduced"
    assert frame.loc["bf16-ce+drw-acc", "margin"] == catalog.equivalence_margin("acc")
    assert frame.loc["bf16-ce+drw-tail", "verdict"] == "reproduced"
    assert frame.loc["bf16-ce+drw-tail_lambda_min", "ours"] == pytest.approx(3.0)
    assert frame.loc["bf16-ce+drw-tail_lambda_min", "verdict"] == "contradicted"
    assert frame.loc["bf16-ce+drw+sam-acc", "verdict"] == "not run here"


def test_chapter_texts_count_the_accuracy_pairs_and_name_each_verdict():
    import pandas as pd
    family = pd.DataFrame({"seeds": [5, 4, 5, 5], "verdict (Holm)": ["reproduced", "inconclusive", "not run here",
                                                                      "contradicted"],
                           "claim": ["a", "b", "c", "d"], "verdict": ["reproduced"] * 4, "ours": [0.1] * 4,
                           "low": [0.0] * 4, "high": [0.2] * 4, "p (Holm)": [0.01] * 4},
                          index=pd.Index(["bf16-ce+drw-acc", "bf16-ce+drw+sam-acc", "bf16-ce+drw-tail",
                                          "bf16-ce+drw-tail_lambda_min"], name="key"))
    texts = precision.chapter_texts(family, [("CE+DRW", 3)])
    assert texts["bf16_pairs"] == "9" and texts["bf16_dirty"] == "CE+DRW seed 3"
    assert texts["bf16_ce_drw_sam_acc"] == "inconclusive" and texts["bf16_ce_drw_tail_lambda_min"] == "contradicted"
    assert texts["bf16_family_size"] == str(len(catalog.PRECISION_IDS)) and texts["bf16_level"] == "90%"
    assert precision.chapter_texts(family, [])["bf16_dirty"] == "none"
    page = precision.verdict_table(family)
    assert page.count("colspan") == 1 and page.count("<tr>") == 1 + 1 + 4
