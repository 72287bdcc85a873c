"""Chapter 7's ledger on made-up records: the headline under both protocols, the CE+SAM reading, the counts."""
import pandas as pd

from saddle import scorecard, summary
from test_scorecard import fake, records


def test_the_ledger_counts_and_the_ce_sam_reading_follow_the_rows():
    recs = records(*[fake("CE+SAM", s, tail=t) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE", s, tail=t) for s, t in enumerate([20, 30, 41])])
    claims = summary.by_data([summary.CE_SAM_TAIL], "cpu", ["fashion-mnist"], [0, 1, 2], recs, "final")
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
        [c for c in scorecard.CLAIMS if c.table == 1]) and texts["headline_tuned_rho"] == "not tuned yet"
