"""Chapter 7's ledger on made-up records: the headline under both protocols, the CE+SAM reading, the counts."""
import pandas as pd

from saddle import grid
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


# ---- Chapter 7's cells as calls: the runs it reads, the tables it folds, Fig. 1's families ----

def test_epoch_rules_and_the_runs_the_scorecard_reads():
    assert summary.other_epoch_rule("final") == "best" and summary.other_epoch_rule("best") == "final"
    texts = summary.rule_texts("best")
    assert (texts["epoch_rule"], texts["other_rule"], texts["keeps_level"]) == ("best", "final", "90%")
    configs = summary.scorecard_configs("smoke", [0], [0], ["fashion-mnist"])
    assert {c.label for c in configs} >= set(grid.METHODS) and len(configs) == len(
        grid.table1("smoke", [0]) + grid.table2("smoke", [0]) + grid.table4("smoke", [0])
        + grid.tables7_8("smoke", [0]) + grid.figure4("smoke", [0]))


def _best_apart(method, seed, final_tail, best_tail):
    """A smoke record whose tail accuracy at the best test epoch differs from the final epoch's."""
    run_id, record = fake(method, seed, "smoke", tail=final_tail)
    best = {**record["metrics"]["best"], "tail": best_tail}
    return run_id, {**record, "metrics": {**record["metrics"], "best": best}}


def test_a_verdict_the_other_epoch_rule_changes_is_listed():
    # at the final epoch SAM's tail is about 10 points above CE+DRW's; at the best epoch about 20 below
    recs = records(*[_best_apart("CE+DRW+SAM", s, t, t - 30) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE+DRW", s, "smoke", tail=t) for s, t in enumerate([20, 30, 41])])
    seeds = summary.paper_seeds([0, 1, 2])
    claims = summary.by_data(catalog.CLAIMS, "smoke", ["fashion-mnist"], seeds, recs, "final")
    changes = summary.epoch_rule_changes(claims, "smoke", ["fashion-mnist"], seeds, recs, "final")
    assert f"{summary.HEADLINE.text} (reproduced -> contradicted)" in changes
    assert summary.epoch_rule_changes(claims, "smoke", ["fashion-mnist"], seeds, recs, "best") == []


def test_the_ce_sam_reading_and_the_averages_read_the_records_given():
    recs = records(*[fake("CE+SAM", s, tail=t) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE", s, tail=t) for s, t in enumerate([20, 30, 41])])
    text = summary.ce_sam_tail("cpu", "fashion-mnist", [0, 1, 2], recs, {}, "final")
    assert text.startswith("Without re-weighting") and "lies above zero" in text
    averages = summary.assess_averages(catalog.AVERAGES, "smoke", ["fashion-mnist"], summary.paper_seeds([0]), {},
                                       "final")
    assert len(averages) == len(catalog.AVERAGES) and set(averages["data"]) == {"fashion-mnist"}
    assert set(averages["verdict"]) == {"not run here"}


def test_claims_by_source_cells_by_part_and_the_dirty_records():
    claims = pd.DataFrame({"table": [7, "fig4", 1, 2, 1], "verdict": ["reproduced"] * 5})
    by_source, order = summary.verdicts_by_source(claims)
    assert list(by_source["source"]) == ["Table 7", "Fig. 4", "Table 1", "Table 2", "Table 1"]
    assert order == ["Table 1", "Table 2", "Table 7", "Fig. 4"]
    assert summary.cell_part(7, "d", "exp", 10.0) == "Table 7, d, exp profile, imbalance 10"
    assert summary.cell_part(3, "ImageNet-LT", None, float("nan")) == "Table 3, ImageNet-LT"
    cells = pd.DataFrame({"table": [1, 1, 3], "data": ["d", "d", "i"], "profile": ["exp", "exp", None],
                          "imbalance": [100.0, 100.0, None], "verdict": ["reproduced", "not run here", "not run here"],
                          "method": ["A", "B", "C"], "metric": ["acc"] * 3, "paper": [1.0, 2.0, 3.0],
                          "ours": [1.0, None, None], "std": [0.1, None, None], "seeds": [3, 0, 0]})
    counts = summary.cell_counts(cells)
    assert counts.loc[1].tolist() == [1, 1] and counts.loc[3].tolist() == [1, 0]
    page = summary.cells_table(cells, "cpu")
    assert "scorecard_cells_cpu.csv" in page and page.count("<table") == 2
    assert "<b>Table 1, d, exp profile, imbalance 100</b>" in page
    assert summary.dirty_count([]) == "none at this scale" and summary.dirty_table([], "cpu") == (
        "<p>None at this scale.</p>")
    dirty = [{"run": "r1", "method": "CE", "seed": 0, "commit": "abc123", "date": "2026-01-02", "diff kept": False,
              "retrained at": "", "identical": ""}]
    assert summary.dirty_count(dirty) == "1 record at this scale still names a commit with uncommitted changes"
    retrained = [dict(dirty[0], run=f"r{i}", **{"retrained at": "fed987", "identical": same})
                 for i, same in ((2, "yes"), (3, "no"))]
    assert summary.dirty_count(dirty + retrained) == (
        "1 record at this scale still names a commit with uncommitted changes; 2 records were retrained at a clean "
        "commit and 1 of them came out identical in metrics, curves and snapshot tensors")
    assert summary.dirty_count(retrained[:1]) == ("1 record was retrained at a clean commit and it came out "
                                                  "identical in metrics, curves and snapshot tensors")
    assert summary.dirty_count(dirty * 2 + retrained[:1] * 2).startswith(
        "2 records at this scale still name a commit")
    assert "and all of them came out identical" in summary.dirty_count(retrained[:1] * 2)
    threads = [dict(retrained[1], identical="no: the original ran on 2 threads")]
    assert summary.dirty_count(retrained[:1] + threads).endswith(
        "1 of them came out identical in metrics, curves and snapshot tensors; the other had first trained on another "
        "number of threads, which changes the arithmetic")
    assert summary.dirty_count(threads).endswith("it did not come out identical in metrics, curves and snapshot "
                                                 "tensors; it had first trained on another number of threads, which "
                                                 "changes the arithmetic")
    assert "; they had first trained" in summary.dirty_count(threads * 2)
    assert "threads" not in summary.dirty_count(retrained + threads)  # one differs for no stated reason
    page = summary.dirty_table(dirty, "cpu")
    assert "dirty_records_cpu.csv" in page and "abc123<br>2026-01-02" in page and ">seed</th>" not in page


def test_figure_1s_families_and_the_scorecard_table(monkeypatch):
    monkeypatch.setattr(summary, "recorded_mechanism", lambda scale: scale)
    monkeypatch.setattr(summary, "mechanism_verdicts", lambda frame, scale: pd.DataFrame({"verdict": [scale]}))
    mechanism_at = summary.mechanism_by_scale("cpu")
    assert list(mechanism_at) == ["cpu", grid.REGIME_SCALE]
    assert list(summary.mechanism_by_scale(grid.REGIME_SCALE)) == [grid.REGIME_SCALE]
    recs = records(*[fake("CE+DRW+SAM", s, "smoke", tail=t) for s, t in enumerate([30, 41, 52])],
                   *[fake("CE+DRW", s, "smoke", tail=t) for s, t in enumerate([20, 30, 41])])
    claims = summary.by_data([summary.HEADLINE], "smoke", ["fashion-mnist"], [0, 1, 2], recs, "final")
    validated = summary.validated_claims("smoke", ["fashion-mnist"], {})
    assert set(summary.validated_at(validated, "best_val")["rule"]) == {"best_val"}
    families = summary.families(claims, validated, mechanism_at, claims.iloc[:0], "cpu")
    assert list(families)[2:4] == ["mechanism, this scale (ch. 2)", f"mechanism, {grid.REGIME_SCALE} (ch. 2)"]
    assert list(families["mechanism, this scale (ch. 2)"]["verdict"]) == ["cpu"]
    rows, bars = summary.overview(families)
    assert bars == [*families, summary.OWN_HYPOTHESES_BAR] and len(rows) == sum(len(f) for f in families.values())
    averages = summary.assess_averages(catalog.AVERAGES, "smoke", ["fashion-mnist"], summary.paper_seeds([0]), {},
                                       "final")
    page = summary.scorecard_table(claims, averages, validated, claims.iloc[:0], "smoke", "final")
    assert "scorecard_claims_smoke.csv" in page and page.count("colspan") == 4  # the empty group is left out
    assert summary.paper_protocol_group("smoke", "final").startswith("Paper protocol (smoke scale, Table 5's radii")
    assert summary.averages_group("cpu", "best", "x; ") == (
        "The paper's averages (x; cpu scale, paper protocol, best epoch): not counted, raw p")


def test_recomputed_analyses_counts_recomputed_identical_and_still_dirty(tmp_path):
    import json
    folder = tmp_path / "cpu" / "hessian"
    folder.mkdir(parents=True)
    provenances = {"a": {"git_commit": "abc", "recomputed_from": {"git_commit": "x-dirty", "identical": True,
                                                                  "largest_relative_change": 0.0}},
                   "b": {"git_commit": "abc", "recomputed_from": {"git_commit": "x-dirty", "identical": False,
                                                                  "largest_relative_change": 5.4e-6}},
                   "c": {"git_commit": "y-dirty"}, "d": {"git_commit": "abc"},
                   "e": {"git_commit": "abc", "recomputed_from": {"git_commit": "abc", "identical": False}}}
    for name, provenance in provenances.items():
        (folder / f"{name}.json").write_text(json.dumps({"run_id": name, "provenance": provenance}))
    (tmp_path / "cpu" / "e.json").write_text(json.dumps({"provenance": {"git_commit": "z-dirty"}}))  # a run record
    counts = summary.recomputed_analyses("cpu", tmp_path)  # e: recomputed from a clean origin (a changed snapshot)
    assert counts == {"recomputed": 2, "identical": 1, "largest_change": 5.4e-6, "dirty": 1}
    assert summary.analyses_count(counts) == (
        "2 analysis records (spectra, curvature splits) computed from such a tree were recomputed at a clean commit, "
        "1 of them identical in every value, the others' named values (lambda_min, lambda_max, loss, gradient norm, "
        "the split's extremes) within a relative 5e-06 of the first computation; 1 analysis record still names a "
        "dirty commit")
    assert summary.analyses_count({"recomputed": 1, "identical": 1, "largest_change": 0.0, "dirty": 0}) == (
        "1 analysis record (spectra, curvature splits) computed from such a tree was recomputed at a clean commit, "
        "identical in every value")
    assert summary.analyses_count({"recomputed": 0, "identical": 0, "largest_change": 0.0, "dirty": 51}) == (
        "51 analysis records still name a dirty commit")
    assert summary.analyses_count(dict.fromkeys(counts, 0)) == "no analysis record names a dirty commit"
    assert summary.analyses_count(dict(counts, identical=0, dirty=0)).endswith(
        "recomputed at a clean commit, none identical bit for bit, their named values (lambda_min, lambda_max, loss, "
        "gradient norm, the split's extremes) within a relative 5e-06 of the first computation")
