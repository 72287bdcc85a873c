import math

import pandas as pd
import pytest

from saddle import grid
from saddle_book import catalog, rule, scorecard
from saddle_book.catalog import Claim


def fake(method, seed, scale="cpu", dataset=None, rho=None, **metrics):
    """A record with given final metrics (acc/head/mid/tail), keyed as grid.collect keys it."""
    config = grid.method_config(method, scale, dataset=dataset, seed=seed, rho=rho)
    values = {"acc": 50.0, "head": 80.0, "mid": 50.0, "tail": 20.0, **metrics}
    return config.run_id, {"status": "complete", "label": method, "metrics": {"final": values, "best": values}}


def records(*entries):
    return dict(entries)


CLAIM = Claim("x", "SAM raises the tail accuracy of CE+DRW", 1, "CE+DRW+SAM", "CE+DRW", "tail")


def test_paper_values_come_from_the_papers_tables():
    assert scorecard.paper_value("CE+DRW+SAM", 1, "fashion-mnist", "tail") == 73.1  # the CIFAR-10 column
    assert scorecard.paper_value("CE+DRW+SAM", 1, "cifar100", "tail") == 20.7
    assert scorecard.paper_value("CE+DRW", 7, "cifar100", "acc", imbalance=10) == 58.1  # Table 8
    assert scorecard.paper_value("CE+DRW+SAM", "fig4", "cifar10", "tail", rho=0.8) == 73.0
    assert scorecard.paper_value("CE+DRW+SAM", "fig4", "cifar10", "tail", rho=0.5) == 73.1  # Table 1's rho
    assert scorecard.paper_value("CE+DRW+SAM", "fig4", "cifar10", "head", rho=0.8) is None  # not printed


@pytest.mark.parametrize("p,df,expected", [
    (0.975, 1, 12.7062), (0.975, 2, 4.3027), (0.975, 4, 2.7764), (0.95, 2, 2.9200), (0.95, 4, 2.1318),
    (0.975, 30, 2.0423), (0.995, 10, 3.1693), (0.025, 3, -3.1824), (0.5, 7, 0.0)])
def test_t_quantiles_match_the_tables(p, df, expected):
    assert rule.t_quantile(p, df) == pytest.approx(expected, abs=1e-4)


def test_paired_interval_pairs_by_seed():
    mean, low, high = rule.paired_interval([41, 43, 42], [30, 33, 31])  # differences 11, 10, 11
    assert mean == pytest.approx(32 / 3) and high - mean == pytest.approx(4.3027 * (1 / 3) ** 0.5 / 3 ** 0.5, abs=1e-3)
    assert (low, high) == pytest.approx((mean - (high - mean), high))
    with pytest.raises(ValueError, match="as many values"):
        rule.paired_interval([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        rule.paired_interval([1, float("nan")], [1, 2])


@pytest.mark.parametrize("diffs,kind,expected", [
    ([9, 10, 11], "raises", "reproduced"),
    ([-9, -10, -11], "raises", "contradicted"),
    ([1.5, -1.0, 4.0], "raises", "inconclusive"),
    ([5.0], "raises", "not tested"),  # one seed: no spread, no interval
    ([], "raises", "not tested"),
    ([-9, -10, -11], "lowers", "reproduced"),
    ([9, 10, 11], "lowers", "contradicted"),
    ([0.1, -0.2, 0.3, 0.0, -0.1], "keeps", "reproduced"),  # 5 seeds, 90% interval inside +-2
    ([5, 5.5, 6], "keeps", "contradicted"),  # 95% interval wholly above +2
    ([0, 4, 1], "keeps", "inconclusive"),  # mean 1.7, interval reaches past 2 and inside it
    ([2.5, 3.0, 2.7, 2.9, 2.6], "keeps", "contradicted"),
    ([1.0, 1.3, 0.9, 1.1, 1.2], "raises", "reproduced"),
])
def test_verdict_rule(diffs, kind, expected):
    assert rule.verdict(diffs, kind) == expected


def test_verdict_is_symmetric_in_sign_and_keeps_has_its_tolerance():
    noisy = [1.5, -1.0, 4.0]
    assert rule.verdict(noisy) == rule.verdict([-d for d in noisy], "lowers") == "inconclusive"
    assert rule.verdict([3, 3.2, 2.9], "keeps", tolerance=5) == "reproduced"
    assert rule.verdict([3, 3.2, 2.9], "keeps", tolerance=1) == "contradicted"
    with pytest.raises(ValueError, match="unknown kind 'improves'"):
        rule.verdict([1, 2], "improves")


def test_p_values_holm_and_seeds_needed():
    assert rule.p_value([9, 10, 11]) < 0.01 and rule.p_value([1.5, -1.0, 4.0]) > 0.05
    assert rule.holm_survivors([0.001, 0.02, 0.04, 0.5]) == 1  # 0.001 <= 0.05/4; 0.02 > 0.05/3
    assert rule.holm_survivors([0.01, 0.02]) == 2
    assert rule.seeds_needed([1.5, -1.0, 4.0]) > 3 and rule.seeds_needed([9, 10, 11]) == 2


def test_claims_are_paired_by_seed():
    def assess(sam_tails, drw_tails, claim=CLAIM):
        recs = records(*[fake("CE+DRW+SAM", s, tail=t) for s, t in enumerate(sam_tails) if t is not None],
                       *[fake("CE+DRW", s, tail=t) for s, t in enumerate(drw_tails) if t is not None])
        return scorecard.assess(claim, "cpu", "fashion-mnist", range(len(sam_tails)), recs)

    # seed-to-seed spread is large but each seed's SAM run beats its own baseline by about 10: paired, reproduced
    clear = assess([40, 51, 62], [30, 41, 51])
    assert clear["verdict"] == "reproduced" and clear["ours"] == pytest.approx(10.33, abs=0.01)
    assert clear["paper"] == 11.7 and clear["seeds"] == 3 and clear["agree"] == 3
    assert clear["ratio"] == pytest.approx(0.88, abs=0.01) and clear["low"] > 0
    assert assess([40], [30])["verdict"] == "not tested"
    assert assess([32, 40, 30], [30, 31, 32])["verdict"] == "inconclusive"
    assert assess([20, 21, 22], [30, 31, 32])["verdict"] == "contradicted"
    row = assess([40, None, 42], [30, 31, 32])  # seed 1 has no SAM run: the pair is left out
    assert row["seeds"] == 2 and row["ours"] == 10.0
    missing = scorecard.assess(CLAIM, "cpu", "fashion-mnist", [0], records(fake("CE+DRW", 0)))
    assert missing["verdict"] == "not run here" and missing["ours"] is None



def test_claims_carry_the_holm_verdict_of_their_declared_family_only():
    """assess_all gives raw rows (no family, no correction); assess_family corrects within the claims' declared
    family; holm_verdicts turns two p values of 0.04 and 0.03, each decided alone, into 0.06 and inconclusive."""
    recs = records(*[fake("CE+DRW+SAM", s, scale="smoke", tail=t) for s, t in enumerate([40, 51, 62, 44])],
                   *[fake("CE+DRW", s, scale="smoke", tail=t) for s, t in enumerate([30, 41, 51, 43])])
    both = [CLAIM, next(c for c in catalog.CLAIMS if c.id != CLAIM.id and c.table == 1)]
    raw = scorecard.assess_all(both, "smoke", "fashion-mnist", range(4), recs)
    assert "p (Holm)" not in raw.columns
    declared = scorecard.assess_family(both[1:], "smoke", "fashion-mnist", {t: range(4) for t in (1, 2, 4, 7, "fig4")},
                                       recs)
    assert set(declared["family"]) == {"accuracy, paper protocol"} and declared["p (Holm)"].iloc[0] >= declared["p"].iloc[0]
    adjusted = rule.holm_verdicts(raw.assign(p=[0.04, 0.03], verdict=["reproduced", "contradicted"]))
    assert list(adjusted["p (Holm)"]) == pytest.approx([0.06, 0.06])
    assert list(adjusted["verdict (Holm)"]) == ["inconclusive", "inconclusive"]


def test_sentences_carry_the_interval_and_the_agreeing_seeds():
    recs = records(*[fake("CE+DRW+SAM", s, tail=t) for s, t in enumerate([32, 40, 30])],
                   *[fake("CE+DRW", s, tail=t) for s, t in enumerate([30, 31, 32])])
    row = scorecard.assess(CLAIM, "cpu", "fashion-mnist", range(3), recs)
    text = rule.sentence(row)
    assert "ours +3.0 [" in text and "2 of 3 agreeing" in text and "*inconclusive*" in text and "seeds would make the interval exclude zero" in text


def test_rho_claims_use_their_own_radii():
    claim = next(c for c in catalog.CLAIMS if c.id == "f4-tail-rises")
    recs = records(fake("CE+DRW+SAM", 0, rho=0.8, tail=45), fake("CE+DRW+SAM", 0, rho=0.05, tail=40))
    row = scorecard.assess(claim, "cpu", "fashion-mnist", [0], recs)
    assert row["paper"] == 10.0 and row["ours"] == 5.0 and row["verdict"] == "not tested"


def test_cells_read_every_table_and_name_the_missing():
    recs = records(*[fake("CE", s, tail=20 + s, acc=60 + s) for s in (0, 1)],
                   *[fake("CE+DRW", s, tail=30 + s, acc=62 + s) for s in (0, 1)],
                   *[fake("CE+DRW+SAM", s, tail=25 + 9 * s, acc=65 + s) for s in (0, 1)])
    frame = scorecard.cells("cpu", "fashion-mnist", [0, 1], recs)
    t1 = frame[(frame.table == 1)].set_index(["method", "metric"])
    assert t1.loc[("CE", "tail"), "verdict"] == "reference"
    assert t1.loc[("CE+DRW", "tail"), "verdict"] == "reproduced"  # paper +9.1, ours +10 on both seeds
    assert t1.loc[("CE+DRW+SAM", "tail"), "verdict"] == "inconclusive"  # +5 and +13
    assert t1.loc[("CE+DRW+SAM", "acc"), "verdict"] == "reproduced"
    assert t1.loc[("VS", "acc"), "verdict"] == "not run here" and pd.isna(t1.loc[("VS", "acc"), "ours"])
    assert {3, 6, 9} <= set(frame.table) and (frame[frame.table == 3].verdict == "not run here").all()
    # the large-scale rows name their own data: iNaturalist 2018 is Table 3, ImageNet-LT the appendix's Table 6
    assert set(frame[frame.table == 3].data) == {"iNaturalist-2018"} and set(frame[frame.table == 6].data) == {"ImageNet-LT"}
    assert set(frame[frame.table == 1].data) == {"fashion-mnist"}
    assert set(frame.verdict) <= set(rule.VERDICTS) | {"reference", "no paper number"}


def test_cells_on_the_papers_data_compare_the_numbers_themselves():
    recs = records(*[fake("CE", s, scale="paper", dataset="cifar10", acc=71.2 + 0.1 * s) for s in (0, 1, 2)],
                   *[fake("CE+DRW", s, scale="paper", dataset="cifar10", acc=70.0 - 0.2 * s) for s in (0, 1, 2)])
    frame = scorecard.cells("paper", "cifar10", [0, 1, 2], recs).set_index(["table", "method", "metric"])
    assert frame.loc[(1, "CE", "acc"), "verdict"] == "reproduced"  # 71.2-71.4 against the paper's 71.7
    assert frame.loc[(1, "CE+DRW", "acc"), "verdict"] == "contradicted"  # about 70 against 75.5


def test_every_claim_names_a_table_of_the_paper_and_known_methods():
    for claim in catalog.CLAIMS:
        assert claim.table in (1, 2, 4, 7, "fig4") and claim.kind in ("raises", "lowers", "keeps")
        for method in (claim.method, claim.baseline):
            grid.method_config(method, "cpu")  # raises on an unknown method
    assert len({c.id for c in catalog.CLAIMS}) == len(catalog.CLAIMS)


def test_no_verdict_is_built_outside_the_rule():
    """Every verdict string in the chapters' code and the package comes from saddle_book.scorecard: no other file spells
    one as a string literal, and no page uses the retired words."""
    import json
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    literal = re.compile(r"""["'](reproduced|contradicted|inconclusive|not tested|not reproduced|direction """
                         r"""reproduced|partly reproduced)["']""")
    # declared.py quotes the rule's own lines of scorecard.py to date them in git; it builds no verdict
    sources = {p: p.read_text() for p in (root / "src" / "saddle").glob("*.py")
               if p.name not in ("scorecard.py", "declared.py")}
    pages = {}
    for nb in (root / "book").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        sources[nb] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        pages[nb] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for md in (root / "book").glob("*.md"):
        pages[md] = md.read_text()
    pages[root / "README.md"] = (root / "README.md").read_text()
    built = {str(p): literal.findall(text) for p, text in sources.items() if literal.search(text)}
    assert not built, built
    retired = {str(p) for p, text in pages.items() if re.search(r"direction reproduced|partly reproduced|\*\*partly\*\*",
                                                                 text)}
    assert not retired, retired


def test_beyond_the_paper_claims_read_the_validated_protocol(tmp_path, monkeypatch):
    """ImbSAM / CC-SAM against CE+DRW+SAM, each at its tuned rho, paired by seed; the paper has no number."""
    from saddle.results import record_path, write_record
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))

    def write(config, tail, val=70.0):
        write_record({"id": config.run_id, "status": "complete", "config": config.to_dict(), "curves": [],
                      "provenance": {"wall_time_s": 1.0},
                      "metrics": {"final": {"acc": 70.0, "tail": tail, "val": {"acc": val}}}},
                     record_path(config, tmp_path))
    for method, rhos in (("CE+DRW+SAM", grid.TUNE_RHOS), ("CE+DRW+ImbSAM", grid.FOLLOWUP_RHOS)):
        for seed in grid.TUNE_SEEDS[method]:
            for rho in rhos:
                write(grid.protocol_config(method, "cpu", seed=seed, rho=rho), 30.0, val=70.0 + (rho == 0.1))
    records = {}
    for seed, (sam, imb) in enumerate([(30, 35), (31, 37), (29, 33)]):
        for method, tail in (("CE+DRW+SAM", sam), ("CE+DRW+ImbSAM", imb)):
            config = grid.protocol_config(method, "cpu", seed=seed, rho=0.1)
            records[config.run_id] = {"status": "complete", "metrics": {"final": {"tail": tail, "acc": 70.0}}}
    claim = next(c for c in catalog.BEYOND_CLAIMS if c.method == "CE+DRW+ImbSAM" and c.metric == "tail")
    row = scorecard.assess(claim, "cpu", "fashion-mnist", [0, 1, 2], records, "final", "validated")
    assert row["paper"] is None and row["seeds"] == 3 and row["ours"] == pytest.approx(5.0)
    assert row["verdict"] == "reproduced" and "beyond the paper" in rule.sentence(row)


def test_averages_pair_each_seed_over_all_its_cells_and_recompute_the_papers_mean():
    def record(method, seed, profile, tail):
        config = grid.method_config(method, "cpu", profile=profile, seed=seed)
        values = {"acc": 50.0, "head": 80.0, "mid": 50.0, "tail": tail}
        return config.run_id, {"status": "complete", "label": method, "metrics": {"final": values}}

    vs_tail = catalog.AVERAGES[2]
    assert vs_tail.source == "abstract" and vs_tail.metric == "tail"
    # gains by seed: exp +4, +6, +8 and step +2, +2, -10 -> per-seed means +3, +4, -1
    recs = dict([record("VS+SAM", s, "exp", 30 + g) for s, g in enumerate((4, 6, 8))]
                + [record("VS", s, p, 30) for s in range(3) for p in ("exp", "step")]
                + [record("VS+SAM", s, "step", 30 + g) for s, g in enumerate((2, 2, -10))])
    row = scorecard.assess_average(vs_tail, "cpu", "fashion-mnist", {1: [0, 1, 2], 2: [0, 1, 2]}, recs)
    assert row["ours"] == pytest.approx(2.0) and row["seeds"] == 3 and row["agree"] == 2
    assert row["verdict"] == "inconclusive"
    assert row["paper"] == pytest.approx(((78.0 - 70.3) + (72.3 - 62.3)) / 2, abs=0.01)  # CIFAR-10, Tables 1 and 2
    # a seed missing one cell drops out of the average entirely; with one seed left there is no interval
    only_seed_0 = scorecard.assess_average(vs_tail, "cpu", "fashion-mnist", {1: [0, 1, 2], 2: [0]}, recs)
    assert only_seed_0["seeds"] == 1 and only_seed_0["ours"] == pytest.approx(3.0)
    assert only_seed_0["verdict"] == "not tested"
    assert "(the abstract)" in rule.sentence(row)


def test_appendix_f_averages_are_the_papers_own():
    """App. F states +3.9 overall and +8.6 tail on CIFAR-10-LT, +3.2 and +3.9 on CIFAR-100-LT: the same means of
    its Tables 7 and 8, recomputed from the tables' cells."""
    for dataset, expected in (("cifar10", (3.9, 8.6)), ("cifar100", (3.2, 3.9))):
        rows = [scorecard.assess_average(a, "paper", dataset, {7: [0]}, {}) for a in catalog.AVERAGES[:2]]
        assert [round(r["paper"], 1) for r in rows] == list(expected)
        assert all(r["verdict"] == "not run here" for r in rows)


def test_the_control_protocol_reads_the_class_order_control_runs(monkeypatch):
    monkeypatch.setattr(grid, "tuned_rho", lambda method, scale, root=None, dataset=None: 0.2)
    control = {(c.label, c.seed): c.run_id for c in grid.order_control("cpu")}
    for (method, seed), run_id in control.items():
        config = scorecard.run_config(method, "cpu", "fashion-mnist", seed, protocol="control")
        assert config.run_id == run_id and config.class_order == "natural"
        tuned = scorecard.run_config(method, "cpu", "fashion-mnist", seed, protocol="validated")
        assert tuned.class_order == "calibrated" and tuned.run_id != run_id
    assert len(control) == 6
    with pytest.raises(ValueError, match="protocol"):
        scorecard.run_config("CE+DRW", "cpu", "fashion-mnist", 0, protocol="natural")


def test_multiplicity_names_the_claims_that_survive_holm():
    verdicts = pd.DataFrame({"claim": ["a", "b", "c", "d"], "p": [0.001, 0.04, 0.5, float("nan")],
                             "verdict": ["reproduced", "reproduced", "inconclusive", "not tested"]})
    line = rule.multiplicity(verdicts)
    # 3 tested; b passes alone (0.04 < 0.05) but not Holm's second step (0.04 > 0.05 / 2)
    assert line.startswith("3 claims were tested") and "2 reached a decision" in line
    assert line.endswith("1 remains significant: a (reproduced).")


def test_a_sentence_says_when_more_seeds_would_decide_against_the_paper():
    against = rule.claim_row("SAM raises x", {0: -3.0, 1: -1.0, 2: 0.5}, "raises", paper=2.0)
    text = rule.sentence({**against, "table": 1})
    assert against["verdict"] == "inconclusive" and text.endswith("on the side against the claim.")
    one = rule.sentence({**rule.claim_row("SAM raises x", {0: 1.5}, "raises"), "table": 1})
    assert "ours +1.5 on one seed (no interval), 1 of 1 agreeing: *not tested*." in one


def test_the_abstracts_averages_are_the_papers_own():
    """The abstract: SAM adds 6.2 points to VS's tail and about 4 overall, the mean over CIFAR-10 and CIFAR-100 of
    the exponential (Table 1) and step (Table 2) profiles; each data set's half is one AVERAGES row."""
    for average, expected in ((catalog.AVERAGES[2], 6.2), (catalog.AVERAGES[3], 3.9)):
        halves = [scorecard.assess_average(average, "paper", d, {1: [0], 2: [0]}, {})["paper"]
                  for d in ("cifar10", "cifar100")]
        assert round(sum(halves) / 2, 1) == expected


def test_verdict_changes_names_each_changed_claim_and_skips_claims_without_an_interval():
    before = pd.DataFrame({"claim": ["a", "b", "c", "d", "e"],
                           "verdict": ["reproduced", "inconclusive", "not run here", "contradicted", "contradicted"]})
    after = pd.DataFrame({"claim": ["a", "b", "c", "d", "e"],
                          "verdict": ["reproduced", "reproduced", "inconclusive", "not run here", "not tested"]})
    assert scorecard.verdict_changes(before, after) == ["b (inconclusive -> reproduced)"]
    assert scorecard.verdict_changes(before, before) == []
    with pytest.raises(ValueError, match="same claims"):
        scorecard.verdict_changes(before, after.iloc[::-1])


def test_equivalence_margins_are_half_the_smallest_gain_the_paper_reports():
    from saddle_book.catalog import equivalence_margin
    assert equivalence_margin("acc") == 0.7  # CE -> CE+SAM, +1.4
    assert equivalence_margin("head") == 1.25  # CE -> CE+SAM, +2.5 (the DRW rows' -0.2 .. +0.1 are no change)
    assert equivalence_margin("tail") == 3.85  # VS -> VS+SAM, +7.7 (CE's -0.6 is no gain)


def test_every_claim_has_one_declared_family_and_primaries_belong_to_theirs():
    from saddle_book.catalog import BEYOND_CLAIMS, CLAIMS, FAMILIES, HEADLINE_ID, PRIMARY
    assert set(FAMILIES["accuracy, paper protocol"]) == {c.id for c in CLAIMS}
    assert set(FAMILIES["after the paper"]) == {c.id for c in BEYOND_CLAIMS}
    assert HEADLINE_ID in FAMILIES["accuracy, validated protocol"]
    for family, ids in PRIMARY.items():
        assert set(ids) <= set(FAMILIES[family]), family


def test_equivalence_is_one_tost_at_90_percent_on_both_sides():
    from saddle_book.rule import interval, p_value, verdict
    inside = [0.1, -0.2, 0.3, 0.0, 0.1]
    assert verdict(inside, "keeps", 2.0) == "reproduced" and p_value(inside, "keeps", 2.0) < 0.05
    above = [3.0, 3.5, 4.4, 2.9, 4.1]  # the 90% interval wholly above +2
    assert interval(above, 0.90)[1] > 2.0
    assert verdict(above, "keeps", 2.0) == "contradicted" and p_value(above, "keeps", 2.0) < 0.05
    below = [-d for d in above]  # ... or wholly below -2: contradicted too
    assert verdict(below, "keeps", 2.0) == "contradicted"
    # the case: 90% interval [+2.43, +5.70] lies beyond +2, though the 95% interval reaches below it
    straddle = [2.0, 6.4, 2.6, 5.6, 3.4]
    _, low90, _ = interval(straddle, 0.90)
    _, low95, _ = interval(straddle, 0.95)
    assert low90 > 2.0 > low95 and verdict(straddle, "keeps", 2.0) == "contradicted"
    assert verdict([1.0, 3.0, 2.5, 1.5], "keeps", 2.0) == "inconclusive"


def test_holm_adjusted_p_values_match_a_worked_example():
    from saddle_book.rule import holm_adjusted, holm_survivors
    # m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 4 x 0.01 = 0.04, 3 x 0.02 = 0.06, max(0.06, 2 x 0.03) = 0.06, 0.5
    p = [0.03, 0.5, 0.01, 0.02]
    assert holm_adjusted(p) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert holm_survivors(p) == 1 == sum(q < 0.05 for q in holm_adjusted(p))
    assert math.isnan(holm_adjusted([0.01, math.nan])[1]) and holm_adjusted([0.01, math.nan])[0] == 0.01


def test_holm_verdicts_demote_decisions_that_do_not_survive_their_family():
    from saddle_book.rule import holm_verdicts
    frame = pd.DataFrame({"claim": list("abcd"), "p": [0.011, 0.04, 0.3, math.nan],
                          "verdict": ["reproduced", "contradicted", "inconclusive", "not run here"]})
    out = holm_verdicts(frame)  # m = 3: 3 x 0.011 = 0.033 survives; 2 x 0.04 = 0.08 does not
    assert list(out["verdict (Holm)"]) == ["reproduced", "inconclusive", "inconclusive", "not run here"]
    assert list(out["p (Holm)"][:3]) == pytest.approx([0.033, 0.08, 0.3])


def test_size_word_compares_the_papers_effect_with_our_interval():
    from saddle_book.rule import size_word
    assert size_word(11.7, 1.07, 4.66) == "smaller than the paper's"  # the headline
    assert size_word(3.0, 1.07, 4.66) == "as large as the paper's"
    assert size_word(0.5, 1.07, 4.66) == "larger than the paper's"
    assert size_word(-2.0, -1.5, -0.5) == "smaller than the paper's"  # a 'lowers' claim: by magnitude
    assert size_word(None, 1.0, 2.0) is None and size_word(3.0, None, None) is None


def test_order_control_without_records_says_not_run_here(tmp_path, monkeypatch):
    from saddle_book import scorecard
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))
    rows, texts = scorecard.order_control("cpu")
    assert [r["claim"].rsplit(", ", 1)[1] for r in rows] == ["calibrated class order", "natural class order"]
    assert all(r["verdict"] == "not run here" for r in rows)
    assert texts == {"control_calibrated": "not run here", "control_natural": "not run here",
                     "calibrated_drw_tail": "not run here", "control_drw_tail": "not run here", "control_runs": 0}


def test_chapter_claims_and_averages_follow_its_tables_and_methods():
    table1 = catalog.claims_for(["table1"], grid.METHODS)
    assert table1 and {c.table for c in table1} == {1}
    assert all(c.method in grid.METHODS and c.baseline in grid.METHODS for c in table1)
    without_ldam = catalog.claims_for(["table1", "tables7-8"], [m for m in grid.METHODS if "LDAM" not in m])
    assert {c.table for c in without_ldam} <= {1, 7} and not any("LDAM" in c.method + c.baseline
                                                                  for c in without_ldam)
    assert catalog.claims_for([], grid.METHODS) == []
    every = catalog.averages_for(["table1", "table2", "tables7-8"], grid.METHODS)
    assert every and len(catalog.averages_for(["table1"], grid.METHODS)) < len(every)
    assert catalog.averages_for(["table1", "table2", "tables7-8"], ["CE"]) == []
    moved = catalog.claims_at_rho(table1[:2], 0.3)
    assert [c.rho for c in moved] == [0.3, 0.3] and moved[0].text == f"{table1[0].text}, SAM at rho 0.3"
    assert [c.id for c in moved] == [c.id for c in table1[:2]]


def test_protocol_columns_put_each_rules_interval_and_verdict_side_by_side():
    recs = records(*[fake("CE+DRW+SAM", s, tail=t) for s, t in enumerate([40, 51, 62])],
                   *[fake("CE+DRW", s, tail=t) for s, t in enumerate([30, 41, 51])])
    table = scorecard.protocol_columns([CLAIM], "cpu", "fashion-mnist",
                                       [("paper", "final", recs, [0, 1, 2]), ("paper", "best", {}, [0, 1, 2])])
    assert table.loc[CLAIM.text, ("verdict", "paper rho, final")] == "reproduced"
    assert table.loc[CLAIM.text, ("verdict", "paper rho, best")] == "not run here"
    assert table.loc[CLAIM.text, ("ours [95% interval]", "paper rho, best")] == "not run here"
    assert table.loc[CLAIM.text, ("ours [95% interval]", "paper rho, final")].startswith("+10.3")


def test_a_cell_stated_by_a_claim_takes_the_claims_verdict():
    recs = records(*[fake("CE+SAM", s, tail=t) for s, t in enumerate([21.0, 22.5, 19.0])],
                   *[fake("CE", s, tail=t) for s, t in enumerate([20.0, 20.0, 20.0])])
    claim = next(c for c in catalog.CLAIMS if (c.method, c.baseline, c.metric, c.table) == ("CE+SAM", "CE", "tail", 1))
    row = scorecard.assess(claim, "cpu", "fashion-mnist", [0, 1, 2], recs)
    cells = scorecard.cells("cpu", "fashion-mnist", [0, 1, 2], recs)
    cell = cells[(cells["table"] == 1) & (cells["method"] == "CE+SAM") & (cells["metric"] == "tail")].iloc[0]
    assert cell["verdict"] == row["verdict"]


def test_complete_runs_yield_each_recorded_complete_run_once():
    recs = records(fake("CE", 0), fake("CE", 1), fake("CE+DRW", 0))
    recs[grid.method_config("CE", "cpu", seed=1).run_id]["status"] = "diverged"
    found = [(m, s) for m, s, _ in scorecard.complete_runs(["CE", "CE+DRW"], "cpu", "fashion-mnist", [0, 1], recs,
                                                           protocol="paper")]
    assert found == [("CE", 0), ("CE+DRW", 0)]


def test_sign_flip_p_is_exact_and_floored_by_the_number_of_seeds():
    from saddle_book.rule import sign_flip_floor, sign_flip_p
    # five positive differences: only the all-positive and all-negative patterns are as extreme, 2 of 32
    assert sign_flip_p([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2 / 32) == sign_flip_floor(5)
    # one negative among them: the patterns at least as far from 0, counted by hand below
    diffs = [1.0, 2.0, -0.5, 3.0]
    import itertools
    extreme = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= abs(sum(diffs)) - 1e-12
                  for signs in itertools.product((-1, 1), repeat=4))
    assert sign_flip_p(diffs) == pytest.approx(extreme / 16)
    assert math.isnan(sign_flip_p([1.0, 2.0], "keeps")) and math.isnan(sign_flip_p([1.0]))
    row = rule.claim_row("c", {s: 1.0 + s for s in range(5)}, "raises")
    assert row["p (sign-flip)"] == pytest.approx(0.0625) and row["verdict"] == "reproduced"
    words = rule.sign_flip_words(row)
    assert "0.0625" in words and "normality" in words
    assert "normality" not in rule.sign_flip_words(rule.claim_row("c", {s: 1.0 + s for s in range(6)},
                                                                             "raises"))
