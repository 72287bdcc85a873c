"""One Holm family per claim on every page (issue 48): a claim's adjusted p and verdict after Holm are the same
wherever the book prints them, because every page corrects within the claim's declared family (catalog.FAMILIES)
through one function (rule.holm_within). The pages are rebuilt here through the book-layer calls their notebooks
make, on the committed cpu records (read only: nothing trains)."""
import math

import pandas as pd
import pytest

from saddle import grid
from saddle.results import find_record
from saddle_book import catalog, rule, saddle_story, scorecard, summary
from test_scorecard import fake, records

SCALE, DATA, SEEDS, TABLE2_SEEDS = "cpu", ["fashion-mnist"], [0, 1, 2], [0]  # the chapters' defaults at cpu


def read(configs) -> dict:
    """The committed records of `configs` by run id (None where missing), as a read-only chapter holds them."""
    return {c.run_id: find_record(c) for c in configs}


def chapter_4(tables=("table1", "table2", "tables7-8"), methods=grid.METHODS):
    """Chapter 4's claim list ("The claims, one by one"): its own tables' runs read, its claims judged."""
    tables, methods = list(tables), list(methods)
    configs = grid.chapter4(SCALE, SEEDS, TABLE2_SEEDS, list(grid.IMBALANCES), DATA, tables, methods)
    runs = read(sum(configs.values(), []))
    table_seeds = summary.paper_seeds(SEEDS, TABLE2_SEEDS)
    return summary.by_data(catalog.claims_for(tables, methods), SCALE, DATA, table_seeds, runs, "final")


def chapter_6():
    """Chapter 6's verdicts: Fig. 4's and Table 4's claims, on the sweep's and Table 4's runs."""
    runs = read(grid.figure4(SCALE, SEEDS, dataset_names=DATA) + grid.table4(SCALE, SEEDS, DATA))
    claims = [c for c in catalog.CLAIMS if c.table in ("fig4", 4)]
    return summary.by_data(claims, SCALE, DATA, summary.paper_seeds(SEEDS), runs, "final")


def chapter_7():
    """Chapter 7's scorecard: every accuracy claim, on the runs of all the paper's tables."""
    configs = (grid.table1(SCALE, SEEDS, DATA) + grid.table2(SCALE, TABLE2_SEEDS, DATA) + grid.table4(SCALE, SEEDS, DATA)
               + grid.tables7_8(SCALE, SEEDS, dataset_names=DATA) + grid.figure4(SCALE, SEEDS, dataset_names=DATA))
    return summary.by_data(catalog.CLAIMS, SCALE, DATA, summary.paper_seeds(SEEDS, TABLE2_SEEDS),
                           read(configs), "final")


def same_p(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


def disagreements(*pages) -> list[str]:
    """Every claim printed on two of the pages whose adjusted p or verdict after Holm differs between them."""
    found = []
    for (name_a, a), (name_b, b) in ((x, y) for i, x in enumerate(pages) for y in pages[i + 1:]):
        both = a.merge(b, on="id", suffixes=(" a", " b"))
        for _, row in both.iterrows():
            if not same_p(row["p (Holm) a"], row["p (Holm) b"]) or row["verdict (Holm) a"] != row["verdict (Holm) b"]:
                found.append(f"{row['id']}: {name_a} p (Holm) {row['p (Holm) a']:.3g} ({row['verdict (Holm) a']}), "
                             f"{name_b} {row['p (Holm) b']:.3g} ({row['verdict (Holm) b']})")
    return found


@pytest.fixture(scope="module")
def pages():
    return {"chapter 4": chapter_4(), "chapter 6": chapter_6(), "chapter 7": chapter_7()}


def test_every_claim_has_the_same_holm_p_and_verdict_on_chapters_4_6_and_7(pages):
    shared = set(pages["chapter 4"]["id"]) & set(pages["chapter 7"]["id"])
    assert len(shared) == 27 and set(pages["chapter 6"]["id"]) < set(pages["chapter 7"]["id"])
    assert not disagreements(*pages.items())
    # the family is the declared one, whole, on every page: Holm's m counts all its tested claims
    full = pages["chapter 7"]
    assert set(full["id"]) == set(catalog.FAMILIES["accuracy, paper protocol"])
    for frame in pages.values():
        assert set(frame["family"]) == {"accuracy, paper protocol"}
        assert set(frame["tests in family"]) == {int(full["p"].notna().sum())}


def test_a_chapter_run_on_part_of_its_grid_still_corrects_within_the_whole_family(pages):
    """Chapter 4 with -p methods '["CE+DRW", "CE+DRW+SAM"]' -p tables '["table1"]' shows four claims, each with the
    adjusted p it has on the full scorecard."""
    part = chapter_4(tables=["table1"], methods=["CE+DRW", "CE+DRW+SAM"])
    assert len(part) == 4 and not disagreements(("chapter 4, part", part), ("chapter 7", pages["chapter 7"]))


@pytest.mark.slow  # about 6 s: the validated protocol's tuned radii are read from the tuning records per run
def test_the_validated_protocol_and_the_methods_after_the_paper_agree_between_pages():
    tuned_records = read(grid.table1_validated(SCALE, list(grid.PROTOCOL_SEEDS), DATA))
    chapter_7 = summary.validated_claims(SCALE, DATA, tuned_records)  # chapter 7's section and the landing page
    chapter_4 = scorecard.assess_family(catalog.family_claims("accuracy, validated protocol"), SCALE, DATA[0],
                                        list(grid.PROTOCOL_SEEDS), tuned_records, "final", "validated")
    assert not disagreements(("chapter 4", chapter_4), ("chapter 7", chapter_7[chapter_7["rule"] == "final"]))
    followups = read(grid.followups(SCALE, list(grid.PROTOCOL_SEEDS)))
    beyond_7 = summary.by_data(catalog.BEYOND_CLAIMS, SCALE, DATA, list(grid.PROTOCOL_SEEDS), followups, "final",
                               "validated")
    beyond_8 = scorecard.assess_family(catalog.BEYOND_CLAIMS, SCALE, DATA[0], list(grid.PROTOCOL_SEEDS), followups,
                                       "final", "validated")
    assert not disagreements(("chapter 7", beyond_7), ("chapter 8", beyond_8))


def test_part_of_a_family_is_corrected_as_the_whole_on_made_up_records():
    """Two pages showing different parts of the paper protocol's family give each claim the adjusted p of the whole
    family, not of the part (on made-up smoke records of CE+DRW and CE+DRW+SAM: the four Table 1 claims on these
    runs are tested, the family's others have no runs, so m = 4)."""
    recs = records(*[fake("CE+DRW+SAM", s, scale="smoke", tail=t, acc=a)
                     for s, (t, a) in enumerate([(40, 50), (51, 52), (62, 55), (44, 50)])],
                   *[fake("CE+DRW", s, scale="smoke", tail=t, acc=a)
                     for s, (t, a) in enumerate([(30, 49), (41, 50), (51, 52), (43, 48)])])
    tail, acc = (next(c for c in catalog.CLAIMS if c.id == f"t1-ce+drw-sam-{m}-exp-100") for m in ("tail", "acc"))
    seeds = summary.paper_seeds(range(4))
    alone = [scorecard.assess_family([c], "smoke", "fashion-mnist", seeds, recs) for c in (tail, acc)]
    both = scorecard.assess_family([tail, acc], "smoke", "fashion-mnist", seeds, recs)
    assert list(both["id"]) == [tail.id, acc.id] and set(both["tests in family"]) == {4}
    assert list(both["p (Holm)"]) == [frame["p (Holm)"].iloc[0] for frame in alone]
    whole = scorecard.assess_family(catalog.family_claims("accuracy, paper protocol"), "smoke", "fashion-mnist",
                                    seeds, recs).set_index("id")
    assert list(both["p (Holm)"]) == pytest.approx(list(whole.loc[[tail.id, acc.id], "p (Holm)"]))
    assert list(whole["p (Holm)"]) == pytest.approx(rule.holm_adjusted(list(whole["p"])), nan_ok=True)
    assert both["p (Holm)"].iloc[0] > rule.holm_adjusted(list(both["p"]))[0]  # the part alone would correct less
    raw = scorecard.assess_all([tail], "smoke", "fashion-mnist", seeds, recs)
    assert "p (Holm)" not in raw  # no correction outside a declared family


def test_holm_runs_within_one_declared_family_only():
    frame = pd.DataFrame({"p": [0.01, 0.04], "verdict": ["reproduced", "reproduced"]},
                         index=pd.Index(["tail_saddle", "t1-ce-sam-tail"]))
    with pytest.raises(ValueError, match="not in the declared family 'mechanism, cpu'"):
        rule.holm_within("mechanism, cpu", frame)
    with pytest.raises(ValueError, match="no declared family"):
        rule.holm_within("mechanism, smoke", frame.iloc[:1])
    with pytest.raises(ValueError, match="2 declared families"):
        scorecard.assess_family([catalog.CLAIMS[0], catalog.BEYOND_CLAIMS[0]], SCALE, DATA[0], [0], {})
    own = catalog.claims_at_rho(catalog.CLAIMS[:1], 0.3)[0]  # a radius of one's own: a claim of no family
    assert catalog.accuracy_family(own.id, SCALE) == "accuracy, paper protocol"  # the id is the declared claim's
    with pytest.raises(ValueError, match="not in the declared family"):
        catalog.accuracy_family("t4-pgd-tail", SCALE, "validated")
    assert catalog.accuracy_family(catalog.HEADLINE_ID, grid.CIFAR_SCALE) == f"accuracy, {grid.CIFAR_SCALE}"
    assert catalog.mechanism_family("cpu") == "mechanism, cpu" and catalog.mechanism_family("smoke") is None
    assert catalog.mechanism_family("cpu", "paper") is None


def test_prose_takes_the_keeps_levels_and_margins_from_the_code():
    """Issue 48's stale sentences: a keeps claim is decided by the 90% interval both ways (rule.verdict), its margins
    are equivalence_margin's, and no page types either by hand."""
    import json
    from pathlib import Path
    assert rule.EQUIVALENCE_LEVEL == 0.90 and rule.keeps_rule_text().count("90% interval") == 2
    assert rule.verdict([4.0, 4.1, 3.9], "keeps", tolerance=3.0) == "contradicted"  # the 90% interval, outside
    assert catalog.margins_text() == "0.7 points overall, 1.25 head, 3.85 tail"
    row = {"ours": 5.0, "low": 1.0, "high": 9.0, "seeds": 3}
    text = summary.ce_sam_tail_text(row, {"ours": None, "low": None, "high": None, "seeds": 0})
    assert f"within ±{catalog.equivalence_margin('tail'):g} points" in text and "±2 points" not in text
    book = Path(__file__).resolve().parents[1] / "book"
    stale = ("95% interval lies wholly outside", "Holm's correction within the six", "0.7 points overall, 1.25 head",
             "within ±2 points", "this family of six")
    for page in [*book.glob("*.ipynb"), *book.glob("*.md")]:
        text = page.read_text() if page.suffix == ".md" else "".join(
            "".join(c["source"]) for c in json.loads(page.read_text())["cells"])
        assert not [s for s in stale if s in text], page.name


def test_the_books_own_hypothesis_is_no_primary_claim_and_no_count_of_the_papers():
    """negative_in_residual is the book's hypothesis (catalog.OWN_HYPOTHESES): in its declared family for Holm's
    correction, but no primary claim of the paper's mechanism and in no bar of the paper's claims on Fig. 1."""
    for family, ids in catalog.PRIMARY.items():
        assert not set(ids) & set(catalog.OWN_HYPOTHESES), family
    assert set(catalog.OWN_HYPOTHESES) <= set(catalog.MECHANISM_IDS)  # still corrected within its family
    rows = {"tail_saddle": (0.001, "reproduced"), "sam_large_rho_tail_min": (0.002, "reproduced"),
            "negative_in_residual": (0.001, "contradicted")}
    frame = pd.DataFrame([{"claim": k, "ours": 1.0, "low": 0.5, "high": 1.5, "seeds": 5, "p": p, "verdict": v}
                          for k, (p, v) in rows.items()],
                         index=pd.Index(list(rows)))
    family = saddle_story.mechanism_verdicts(frame, "cpu")
    assert family.loc["tail_saddle", "tests in family"] == 3  # the hypothesis weighs in Holm's m, as declared
    bars = summary.after_holm({"mechanism, cpu (ch. 2)": family})
    papers = bars[bars["family"] == "mechanism, cpu (ch. 2)"]
    assert list(papers["verdict"]) == ["reproduced", "reproduced"]  # no contradicted claim against the paper
    assert list(bars.loc[bars["family"] == summary.OWN_HYPOTHESES_BAR, "verdict"]) == ["contradicted"]
    assert saddle_story.held_counts({"cpu": family}) == "at cpu 2 of 2 hold and 0 run against the paper"
