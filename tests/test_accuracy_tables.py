"""Chapter 4's tables (saddle_book.accuracy_tables) on made-up records: which tables each section shows and under
which title, the sections a run of the chapter leaves out, the validated protocol beside the paper's, and the
counts and texts the prose glues."""
import pandas as pd

from saddle import grid
from saddle_book import accuracy_tables, catalog, run_tables, summary
from test_scorecard import fake, records

DATA = ["fashion-mnist"]


def headline_records(scale="cpu", sam_tails=(30, 41, 52), drw_tails=(20, 30, 41)):
    """CE+DRW+SAM about 10 points above CE+DRW in the tail on seeds 0-2 (the headline reproduced)."""
    return records(*[fake("CE+DRW+SAM", s, scale, tail=t) for s, t in enumerate(sam_tails)],
                   *[fake("CE+DRW", s, scale, tail=t) for s, t in enumerate(drw_tails)])


def test_titles_and_the_validated_runs_follow_the_chapters_tables_and_methods():
    assert accuracy_tables.paper_protocol_title("d", "best", "cpu", "step profile, ") == (
        "d, step profile, best epoch (cpu scale, paper protocol)")
    assert accuracy_tables.validated_configs("cpu", [0], DATA, ["CE+DRW"], ["table2"]) == []
    configs = accuracy_tables.validated_configs("cpu", [0, 1], DATA, ["CE", "CE+DRW"], ["table1"])
    assert {c.label for c in configs} == {"CE", "CE+DRW"} and len(configs) == 4


def test_table1_is_shown_at_the_chosen_epoch_and_folded_at_the_other():
    recs = headline_records()
    title, table = accuracy_tables.table1(["CE+DRW", "CE+DRW+SAM"], "cpu", DATA[0], [0, 1, 2], recs, "final")
    assert title == "fashion-mnist, final epoch (cpu scale, paper protocol)" and table.count("<tr>") == 1 + 2
    other = accuracy_tables.table1_other_rule(["CE+DRW"], "cpu", DATA, [0, 1, 2], recs, "final", ["table1"])
    assert other.startswith("<p><b>fashion-mnist, best epoch") and other.count("<table") == 1
    assert accuracy_tables.table1_other_rule(["CE+DRW"], "cpu", DATA, [0], recs, "final", ["table2"]) == (
        "<p>Table 1 is not part of this run.</p>")


def test_a_radius_of_the_readers_own_is_one_precision_and_names_itself():
    configs = accuracy_tables.own_rho_configs("cpu", [0], DATA, 0.3, ["CE+DRW", "CE+DRW+SAM"], "bf16")
    assert {c.label for c in configs} == {"CE+DRW", "CE+DRW+SAM"} and {c.precision for c in configs} == {"bf16"}
    assert [c.rho for c in configs if c.label == "CE+DRW+SAM"] == [0.3]
    title, _ = accuracy_tables.own_rho_table(["CE+DRW"], "cpu", DATA[0], [0], {}, "final", 0.3, "bf16")
    assert title == "fashion-mnist, SAM at rho 0.3, bf16, final epoch"
    assert accuracy_tables.own_rho_table(["CE+DRW"], "cpu", DATA[0], [0], {}, "best", 0.3, "fp32")[0] == (
        "fashion-mnist, SAM at rho 0.3, best epoch")
    assert accuracy_tables.own_rho_text(None, "fp32").startswith("not set")
    assert accuracy_tables.own_rho_text(0.3, "bf16") == "0.3 (bf16)"
    verdicts = accuracy_tables.own_rho_verdicts(["CE+DRW", "CE+DRW+SAM"], 0.3, "cpu", DATA[0], [0], {}, "final",
                                                "fp32")
    assert len(verdicts) and set(verdicts["verdict"]) == {"not run here"}


def test_table2_and_tables_7_8_show_what_the_chapter_ran():
    assert accuracy_tables.table2(["CE"], "cpu", DATA, [0], {}, "final", ["table1"]) == (
        "<p>Table 2 is not part of this run.</p>")
    page = accuracy_tables.table2(["CE", "CE+DRW"], "cpu", DATA, [0], {}, "final", ["table2"])
    assert page.startswith("<p><b>fashion-mnist, step profile, final epoch") and page.count("<table") == 1
    assert accuracy_tables.imbalance_gains(["CE+DRW"], "cpu", DATA, [100], [0], {}, "final", ["table1"]).empty
    assert accuracy_tables.gains_figure(pd.DataFrame()) is None
    none = run_tables.gain_table(pd.DataFrame())
    assert accuracy_tables.tables7_8(["CE+DRW"], "cpu", DATA, [10, 100], [0], {}, "final", [], none) == (
        "<p>Tables 7 and 8 are not part of this run.</p>")
    gains = run_tables.gain_table(pd.DataFrame({"method": ["SAM"] * 2, "metric": ["tail"] * 2,
                                                "source": ["ours"] * 2, "imbalance": [10, 100], "gain": [0.25, 1.35]}))
    page = accuracy_tables.tables7_8(["CE+DRW", "CE+DRW+SAM", "CE"], "cpu", DATA, [10, 100], [0], {}, "final",
                                     ["tables7-8"], gains)
    assert page.startswith("<p><b>SAM's gain (points) by imbalance factor</b></p>") and page.count("<table") == 3
    assert "imbalance 10, final epoch" in page and page.count("<tr>") == 2 + 2 * 3  # a header and its rows


def test_cifar_cost_and_progress_read_the_headline_records():
    headline = grid.cifar_headline()
    empty = {c.run_id: None for c in grid.cifar_headline() + grid.cifar_ldam() + grid.cifar_table1()}
    assert accuracy_tables.cifar_cost(empty) == accuracy_tables.CIFAR_COST_BEFORE
    timed = dict(empty) | {headline[0].run_id: {"provenance": {"wall_time_s": 18000.0}},
                           headline[1].run_id: {"provenance": {"wall_time_s": 3600.0, "resumed_from_epoch": 100}}}
    assert accuracy_tables.cifar_cost(timed) == f"5.0 hours ({headline[0].label})"
    texts = accuracy_tables.cifar_progress_texts(empty)
    assert (texts["cifar_have"], texts["cifar_total"]) == ("0", str(len(headline)))
    assert texts["cifar_fit_ce_drw"] == texts["cifar_fit_ce_drw_sam"] == "not run here"
    tables = accuracy_tables.cifar_table1(empty)
    assert [title.split(", ")[2].split(" (")[0] for title, _ in tables] == ["final epoch", "best test epoch"]
    assert all(table.count("<tr>") == 1 + len(grid.METHODS) for _, table in tables)
    assert list(accuracy_tables.cifar_verdicts(empty)["id"]) == list(catalog.CIFAR_ACCURACY_IDS)


def test_the_validated_section_shows_its_tables_only_with_records():
    assert accuracy_tables.validated_blocks(["CE"], "cpu", DATA, [0], {"r": None}) == []
    blocks = accuracy_tables.validated_blocks(["CE"], "cpu", DATA, [0], {"r": {}})
    assert [b.split("</b>")[0].removeprefix("<p><b>") for b in blocks] == [
        "fashion-mnist, validated protocol, final epoch (cpu scale)",
        "fashion-mnist, validated protocol, best_val epoch (cpu scale)"]
    reads = accuracy_tables.protocol_reads("final", {}, [0, 1], {"r": None}, [0])
    assert [(p, r) for p, r, _, _ in reads] == [("paper", "final")]
    reads = accuracy_tables.protocol_reads("best", {}, [0, 1], {"r": {}}, [0])
    assert [(p, r) for p, r, _, _ in reads] == [("paper", "best"), ("validated", "final"), ("validated", "best_val")]
    assert accuracy_tables.no_validated_runs("cpu").endswith("table1-validated --scale cpu")


def test_each_claim_reads_its_verdict_over_its_interval_per_protocol():
    columns = pd.MultiIndex.from_tuples([("ours [95% interval]", "paper rho, final"),
                                         ("ours [95% interval]", "validated rho, final"),
                                         ("verdict", "paper rho, final"), ("verdict", "validated rho, final")])
    protocols = pd.DataFrame([["+1.0 [+0.5, +1.5]", "not run here", "reproduced", "not run here"]],
                             index=pd.Index(["claim A"], name="claim"), columns=columns)
    table = accuracy_tables.verdict_over_interval(protocols)
    assert list(table.columns) == ["paper rho, final", "validated rho, final", "claim"]
    assert table.iloc[0].tolist() == ["reproduced\n+1.0 [+0.5, +1.5]", "not run here\nnot run here", "claim A"]
    page = accuracy_tables.protocols_block(catalog.claims_for(["table1"], ["CE+DRW", "CE+DRW+SAM"]), "cpu",
                                           DATA[0], [("paper", "final", headline_records(), [0, 1, 2])])
    assert page.startswith("<p><b>Table 1's claims on each protocol") and "reproduced<br>+" in page


def test_protocol_verdicts_keep_the_chapters_claims_of_the_validated_family_and_skip_untested_changes():
    claims = catalog.claims_for(["table1"], ["CE+DRW", "CE+DRW+SAM"])
    family, tuned, changes = accuracy_tables.protocol_verdicts(  # smoke: no committed record joins them
        claims, "smoke", DATA[0], summary.paper_seeds([0, 1, 2]), headline_records("smoke"), [0], {})
    assert sorted(family["id"]) == sorted(catalog.FAMILIES["accuracy, validated protocol"])
    assert list(tuned["id"]) == [c.id for c in catalog.family_claims("accuracy, validated protocol")
                                 if c.id in {k.id for k in claims}]
    assert changes == []  # the validated protocol has no runs: untested, not a changed verdict


def test_validated_texts_variants_and_the_family_counts():
    texts = accuracy_tables.validated_texts({}, "d", pd.DataFrame(), pd.DataFrame(columns=["mean"]),
                                            ["a (x -> y)"], [0, 1, 2], [0, 1, 2, 3, 4])
    assert texts["tuned_seeds_text"] == "0, 1, 2, 3, 4" and texts["tuned_changes_count"] == "1"
    assert (texts["paper_seeds_count"], texts["tuned_seeds_count"]) == (3, 5)
    assert texts["tuned_changes_text"] == "a (x -> y)"
    variants = pd.DataFrame({"rho": [0.05, 0.5], "epoch": ["final", "best_val"], "validated": [True, False]})
    assert accuracy_tables.variant_labels(variants) == ["rho 0.05, final epoch",
                                                        "rho 0.5, best_val epoch, not the validated choice"]
    rho, page = accuracy_tables.headline_variants(pd.DataFrame(), "cpu", "d", {"CE+DRW+SAM": None})
    assert rho == "no radius yet" and page.startswith("<p>The headline has no tuned radius")
    verdicts = summary.by_data([summary.HEADLINE], "cpu", DATA, [0, 1, 2], headline_records(), "final")
    counts = accuracy_tables.family_texts(verdicts)
    assert counts["count_reproduced"] == 1 and counts["count_not_run_here"] == 0
    assert {"multiplicity", "keeps_rule", "keeps_margins"} <= set(counts)
    averages = summary.assess_averages(catalog.averages_for(["table1"], ["CE+DRW", "CE+DRW+SAM"]), "cpu", DATA,
                                       summary.paper_seeds([0, 1, 2]), {}, "final")
    validated = summary.validated_claims("smoke", DATA, {})
    page = accuracy_tables.verdict_groups(verdicts, summary.validated_at(validated, "final"), {"r": None},
                                          averages, "cpu", "final")
    assert page.count("colspan") == 1 + (len(averages) > 0)  # the validated group: no runs, left out
    with_runs = accuracy_tables.verdict_groups(verdicts, summary.validated_at(validated, "final"), {"r": {}},
                                               averages, "cpu", "final")
    assert with_runs.count("colspan") == 2 + (len(averages) > 0)
