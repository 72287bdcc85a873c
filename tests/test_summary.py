"""Chapter 7's ledger on made-up records: the headline under both protocols, the CE+SAM reading, the counts."""
import pandas as pd

from saddle_book import catalog, saddle_story, scorecard, summary
from test_scorecard import fake, records


def test_the_ledger_counts_and_the_ce_sam_reading_follow_the_rows():
    recs = records(*[fake("CE+SAM", s, tail=t) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE", s, tail=t) for s, t in enumerate([20, 30, 41])])
    # CE_SAM_TAIL is the text's reading, in no declared family: judged raw, as chapter 7 judges it
    claims = scorecard.assess_all([summary.CE_SAM_TAIL], "cpu", "fashion-mnist", [0, 1, 2], recs).assign(
        data="fashion-mnist")
    assert list(claims["data"]) == ["fashion-mnist"] and claims.loc[0, "verdict"] == "reproduced"
    row = scorecard.assess(summary.CE_SAM_TAIL, "cpu", "fashion-mnist", [0, 1, 2], recs, "final")
    missing = scorecard.assess(summary.CE_SAM_TAIL, "cpu", "fashion-mnist", [0, 1, 2], {}, "final", "validated")
    text = summary.ce_sam_tail_text(row, missing)
    assert text.startswith("Without re-weighting") and "lies above zero" in text and "validated" not in text
    assert summary.ce_sam_tail_text(missing | {"ours": None}, missing) == "no CE+SAM and CE runs to compare"
    cells = pd.DataFrame({"verdict": ["reproduced", "not run here"]})
    timed = {k: r | {"curves": [{}] * 4, "provenance": {"wall_time_s": 1800.0}} for k, r in recs.items()}
    texts = summary.ledger_texts(claims, ["a (x -> y)"], timed, {"r1": None, "r2": {}}, cells)
    assert texts["claims_reproduced"] == 1 and texts["claims_total"] == 1 and texts["changed_list"] == "a (x -> y)"
    assert texts["cells_run"] == 1 and texts["runs_have"] == 6 and texts["grid_hours"] == "3.0"
    assert texts["tuned_have_text"].startswith("1 of its 2 runs have records so far")


def test_headline_texts_read_both_protocols_and_say_when_runs_are_missing():
    recs = records(*[fake("CE+DRW+SAM", s, tail=t) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE+DRW", s, tail=t) for s, t in enumerate([20, 30, 41])])
    claims = summary.by_data([summary.HEADLINE], "cpu", ["fashion-mnist"], [0, 1, 2], recs, "final")
    validated = summary.validated_claims("smoke", ["fashion-mnist"], {})
    texts = summary.headline_texts(claims, validated, "smoke", "fashion-mnist")
    assert texts["headline_verdict"] == "reproduced" and texts["headline_paper"].startswith("+")
    assert texts["headline_tuned_interval"] == "no runs yet" and texts["headline_best_val"] == "no runs yet"
    family = int((validated["rule"] == "final").sum())
    assert f"within its family of {family} claims" in texts["headline_tuned_holm"] and family == len(
        [c for c in catalog.CLAIMS if c.table == 1]) and texts["headline_tuned_rho"] == "not tuned yet"


def test_the_landing_findings_quote_holm_verdicts_and_say_what_is_missing():
    import math
    regime = pd.DataFrame({"ours": [8.1, 5.53, 0.031, 1.0], "low": [5.36, 3.8, 0.021, -2.0],
                           "high": [10.83, 7.25, 0.041, 4.0], "seeds": [5, 5, 5, 5], "p": [0.001, 0.001, 0.002, 0.3],
                           "verdict": ["reproduced", "contradicted", "contradicted", "inconclusive"]},
                          index=pd.Index(["sam_large_rho_tail_min", "tail_stationary", "sam_ratio", "not_declared"]))
    family = saddle_story.mechanism_verdicts(regime, "r8-n5000")
    assert list(family.index) == ["sam_ratio", "sam_large_rho_tail_min", "tail_stationary"]  # declared order
    assert set(family["family"]) == {"mechanism, r8-n5000"}
    texts = summary.mechanism_findings(family, 0.05)
    assert texts["landing_lift"] == "+8.1 [+5.4, +10.8] (5 seeds)" and texts["landing_ratio"].startswith("+0.03 [+0.02")
    assert texts["landing_lift_verdict"] == "reproduced after Holm" and texts["landing_saddle_seeds"] == "5 seeds"
    assert texts["landing_saddle_verdict"] == "contradicted after Holm" and "seeds" not in texts["landing_stationary"]
    missing = summary.mechanism_findings(saddle_story.mechanism_verdicts(regime.iloc[:0], "r8-n5000"), None)
    assert missing["landing_lift"] == "not measured yet" and missing["landing_ratio_rho"] == "not tuned yet"
    assert missing["landing_saddle_verdict"] == "not measured yet"
    # the accuracy headline: the most seeds at each radius, final epoch; Holm's verdict first, the raw one beside it
    variants = pd.DataFrame([
        {"rho": 0.05, "epoch": e, "seeds": n, "ours": o, "low": o - 1.3, "high": o + 1.3, "p": 0.01,
         "verdict": "reproduced", "p (Holm)": 0.06, "verdict (Holm)": "inconclusive"}
        for e in ("final", "best_val") for n, o in ((5, 2.9), (10, 2.0))] + [
        {"rho": 0.5, "epoch": "final", "seeds": 5, "ours": -2.9, "low": -9.4, "high": 3.5, "p": 0.3,
         "verdict": "inconclusive", "p (Holm)": 0.6, "verdict (Holm)": "inconclusive"}])
    acc = summary.accuracy_findings(variants)
    assert acc["landing_acc_tuned"] == "+2.0 [+0.7, +3.3] points (10 seeds)" and acc["landing_tuned_rho"] == "0.05"
    assert acc["landing_acc_large"] == "-2.9 [-9.4, +3.5] (5 seeds)" and acc["landing_large_rho"] == "0.5"
    assert acc["landing_acc_verdict"] == "inconclusive after Holm (reproduced before Holm)"
    assert summary.accuracy_findings(None)["landing_acc_tuned"] == "no runs yet"
    # Fig. 1 counts each family's verdicts after Holm (the raw verdict where a frame has no Holm column)
    rows = summary.after_holm({"a": family, "b": pd.DataFrame({"verdict": ["not run here"]})})
    assert list(rows["family"]) == ["a"] * 3 + ["b"] and "not run here" in set(rows["verdict"])
    assert not math.isnan(family["p (Holm)"].iloc[0])
