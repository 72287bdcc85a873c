"""The chapter helpers (saddle_book.notebook, page_tables, sam_radius, run_tables) on small made-up records: the
phrases chapters 4 and 5 glue say what the numbers show."""
import re

import pandas as pd
import pytest

from saddle_book import notebook, page_tables, rule, run_tables, sam_radius


def record(label, tail_fit, dataset="fashion-mnist", status="complete"):
    return {"label": label, "status": status, "config": {"dataset": dataset}, "groups": {"tail": [8, 9]},
            "metrics": {"train_final": {"per_class": [100.0] * 8 + [tail_fit, tail_fit]}}}


def test_trend_words_are_strict_and_say_a_loss():
    assert run_tables.trend_words(pd.Series([1.0, 2.0, 3.0], index=[10, 50, 100])) == \
        "larger at 100 than at 10, rising at every step"
    assert run_tables.trend_words(pd.Series([1.0, 1.0, 3.0], index=[10, 50, 100])) == "larger at 100 than at 10"
    assert run_tables.trend_words(pd.Series([-1.0, -2.0], index=[10, 100])) == \
        "not larger at 100 than at 10, still a loss there"


def test_gain_lines_put_ours_beside_the_papers_row():
    gains = pd.DataFrame({10: [0.5, 1.0, 0.2], 100: [1.5, 2.0, None]},
                         index=pd.MultiIndex.from_tuples([("SAM", "tail", "ours"), ("SAM", "tail", "paper"),
                                                          ("VS", "tail", "ours")]))
    lines = run_tables.gain_lines(gains)
    assert lines == ["- **SAM, tail**: ours +0.5 / +1.5 at imbalance 10 / 100, larger at 100 than at 10, rising at "
                     "every step; paper +1.0 / +2.0, larger at 100 than at 10, rising at every step."]


def test_tail_fit_counts_complete_runs_on_the_data_set_and_the_answer_names_who_fits():
    runs = [record("A", 95.0), record("A", 85.0), record("B", 50.0), record("B", 99.0, dataset="cifar10"),
            record("C", 99.0, status="diverged"), None]
    fits = sam_radius.tail_fit(runs, "fashion-mnist")
    assert fits.loc["A", "mean"] == 90.0 and fits.loc["A", "count"] == 2 and "C" not in fits.index
    assert sam_radius.fit_text(fits, "A") == "90% (2 seeds)" and sam_radius.fit_text(fits, "C") == "no runs yet"
    assert sam_radius.fit_pair("A", 0.5, 0.5, fits, fits).endswith("at the same radius on the validated protocol")
    assert sam_radius.fit_answer(fits, ["A", "B", "C"]) == ("at 90% of the tail's training images as the bar, A fits its "
                                                      "tail at the tuned radius; B still falls short of it")
    assert sam_radius.fit_answer(fits, ["C"]).startswith("no SAM method")


def test_large_claims_are_not_run_without_records_and_judged_by_the_given_rule():
    empty = {d: {} for d in run_tables.LARGE_TABLES}
    claims = run_tables.large_claims(empty, rule.verdict)
    assert len(claims) == 8 and {c["verdict"] for c in claims} == {"not run here"}
    finals = {"CE+DRW": 60.0, "CE+DRW+SAM": 62.5}
    ran = {**empty, "inat2018": {m: {"metrics": {"final": {k: v for k in ("acc", "head", "mid", "tail")}}}
                                 for m, v in finals.items()}}
    claims = run_tables.large_claims(ran, rule.verdict)
    done = [c for c in claims if c["ours"]]
    assert [c["ours"] for c in done] == ["+2.5", "+2.5"] and {c["verdict"] for c in done} == {"not tested"}
    rows = run_tables.large_side_by_side(ran)
    assert [row["ours acc / head / mid / tail"] for row in rows if row["data set"] == "iNaturalist-2018"
            and row["method"] == "CE + DRW + SAM"] == ["62.5 / 62.5 / 62.5 / 62.5"]
    assert all(len(row) <= 8 for row in rows)  # a table that fits the page


def test_chapter_settings_resolve_none_by_scale_in_the_order_asked(monkeypatch):
    from saddle import grid
    from saddle_book.notebook import chapter_settings
    monkeypatch.delenv("SADDLE_READ_ONLY", raising=False)
    assert chapter_settings("smoke", seeds=None, iters=None, train_missing=None) == ([0], 4, True)
    assert chapter_settings("cpu", iters=None, seeds=None, train_missing=None) == (100, list(grid.SEEDS), False)
    assert chapter_settings("cpu", validated_seeds=None) == list(grid.PROTOCOL_SEEDS)  # one name: its value
    assert chapter_settings("cpu", seeds=[3], train_missing=True, max_per_class=8) == ([3], True, 8)
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    assert chapter_settings("smoke", train_missing=True) is False  # a read-only build never trains
    with pytest.raises(ValueError, match="iters must be a positive integer or None, got 0"):
        chapter_settings("cpu", iters=0)
    with pytest.raises(ValueError, match="unknown chapter setting"):
        chapter_settings("cpu", epochs=3)


def test_recipe_guidance_stops_before_the_first_drop_and_shows_the_hindsight_best():
    from saddle_book.sam_radius import recipe_guidance
    ours = pd.DataFrame({"data": "d", "rho": [0.0, 0.05, 0.1, 0.2, 0.5, 0.05],
                         "acc": [60.0, 62.0, 63.0, 61.0, 65.0, 62.0], "tail": [10.0, 20.0, 22.0, 18.0, 30.0, 20.0]})
    row = recipe_guidance(ours).iloc[0]
    assert row["recipe picks"] == 0.1 and row["its acc"] == 63.0  # 0.2 drops below 0.1: stop at 0.1
    assert row["best rho"] == 0.5 and row["best acc"] == 65.0 and row["SGD acc"] == 60.0
    assert row["radii tried"] == "0.05, 0.1, 0.2, 0.5"
    rising = ours[ours["rho"] != 0.2]
    assert recipe_guidance(rising).iloc[0]["recipe picks"] == 0.5  # no drop: the largest radius
    assert recipe_guidance(ours.iloc[:0]).empty


def test_paper_rows_of_the_sweeps_are_labelled_with_the_papers_data_set():
    from saddle import grid
    from saddle_book import scorecard
    sweep = grid.figure4("cpu", seeds=(0,))
    rows = scorecard.rho_sweep(sweep, grid.FIGURE4_RHOS, ["fashion-mnist"], {c.run_id: None for c in sweep}, "final")
    assert set(rows["source"]) == {"paper"} and 0.5 in set(rows["rho"])
    paper = rows.set_index("rho").loc[0.5]
    assert paper["acc"] == scorecard.paper_value("CE+DRW+SAM", "fig4", "fashion-mnist", "acc", rho=0.5)
    configs = grid.tables7_8("cpu", seeds=(0,))
    gains = scorecard.imbalance_gains(grid.METHODS, "cpu", ["fashion-mnist"], grid.IMBALANCES, [0],
                                      {c.run_id: None for c in configs}, "final")
    assert set(gains["source"]) == {"paper"} and gains["low"].isna().all()
    assert set(gains["line"]) == {"CE+DRW (paper, CIFAR-10)", "LDAM+DRW (paper, CIFAR-10)"}


def test_recorded_run_cost_counts_only_whole_one_thread_runs():
    def record(optimizer, seconds, **made):
        return {"status": "complete", "config": {"optimizer": optimizer},
                "provenance": {"threads": 1, "wall_time_s": seconds, "resumed_from_epoch": None, **made}}
    records = [record("sgd", 480), record("pgd", 600), record("sgd", 540), record("sam", 780), record("ccsam", 900),
               record("sam", 60, resumed_from_epoch=190), record("sgd", 60, threads=4), record("sam", 30, stacked_runs=4),
               {**record("sgd", 10), "status": "diverged"},
               {**record("sgd", 60), "config": {"optimizer": "sgd", "precision": "bf16"}}]
    assert run_tables.recorded_minutes(records) == {"one pass": 9.0, "two passes": 14.0}
    assert run_tables.recorded_text(records) == ("about 9 minutes a run without SAM and 14 with it (one thread; medians "
                                            "of the committed records)")
    assert run_tables.recorded_text(records[3:5]) == "about 14 minutes a run with SAM (one thread; medians of the committed records)"
    assert run_tables.recorded_text([]) == "a time no committed record shows yet"


def test_verdict_table_is_compact_with_the_sentences_folded_below():
    frame = pd.DataFrame({"claim": ["SAM raises the tail", "PGD keeps the head"], "ours": [2.87, None],
                          "low": [1.07, None], "high": [4.66, None], "paper": [11.7, None],
                          "verdict": ["reproduced", "not run here"], "verdict (Holm)": ["inconclusive", "not run here"]})
    page = page_tables.verdict_table(frame, ["- **SAM raises the tail**: ours +2.9: *reproduced*."])
    assert "+2.87 [+1.07, +4.66]" in page and "not run here" in page and "+11.70" in page
    assert "<th>after Holm</th>" in page  # shown because Holm changes a verdict
    assert "<li><b>SAM raises the tail</b>: ours +2.9: <i>reproduced</i>.</li>" in page and "<details>" in page
    assert "<td>SAM raises the tail</td>" in page  # the claim wraps; the numbers do not
    same = page_tables.verdict_table(frame.assign(**{"verdict (Holm)": frame["verdict"]}))
    assert "after Holm" not in same and "<details>" not in same


def test_fit_table_and_pairs_say_where_the_two_protocols_part():
    paper = sam_radius.tail_fit([record("CE+DRW+SAM", 55.0), record("CE+SAM", 60.0)], "fashion-mnist")
    tuned = sam_radius.tail_fit([record("CE+DRW+SAM", 98.0)], "fashion-mnist")
    assert sam_radius.fit_percent(paper, "CE+DRW+SAM") == "55%" and sam_radius.fit_percent(tuned, "CE+SAM") == "not run here"
    table = sam_radius.fit_table({"CE+DRW+SAM": 0.05, "CE+SAM": None}, "fashion-mnist", paper, tuned)
    assert table.loc["CE+SAM", "tuned rho (validation)"] == "tuning incomplete"
    assert table.loc["CE+DRW+SAM", "tail fitted (tuned rho)"] == "98% (1 seed)"
    text = sam_radius.fit_pairs({"CE+DRW+SAM": 0.05, "CE+SAM": None}, "fashion-mnist", paper, tuned)
    assert text.startswith("CE+DRW+SAM 55% (1 seed) at Table 5's") and "98% (1 seed) at the tuned 0.05" in text
    assert "CE+SAM" not in text
    assert sam_radius.fit_pairs({}, "fashion-mnist", paper, tuned) == "no SAM method has runs on both protocols yet"


def test_gain_table_rounds_as_the_lines_print():
    gains = pd.DataFrame({"method": ["SAM"] * 2, "metric": ["tail"] * 2, "source": ["ours"] * 2,
                          "imbalance": [10, 100], "gain": [0.25, 1.35]})
    table = run_tables.gain_table(gains)
    assert list(table.columns) == [10, 100] and table.loc[("SAM", "tail", "ours")].tolist() == [0.2, 1.4]


def test_run_gaps_name_each_table_with_missing_runs_and_its_command():
    from saddle import grid
    configs = grid.chapter4("smoke", [0], [0], [100], ["fashion-mnist"], ["table1", "tables7-8"], ["CE", "CE+DRW"])
    assert set(configs) == {"table1", "tables7-8"} and {c.label for c in configs["table1"]} == {"CE", "CE+DRW"}
    records = {c.run_id: None for cs in configs.values() for c in cs}
    records[configs["table1"][0].run_id] = {"status": "complete"}
    lines, text = run_tables.run_gaps(configs, records, "smoke", {"table1": [0], "tables7-8": [0]})
    assert len(lines) == 2 and lines[0].startswith("table1: 1 of 2 runs not run here; train them with")
    assert text.startswith("table1, tables7-8 have gaps")
    done = {k: {"status": "complete"} for k in records}
    assert run_tables.run_gaps(configs, done, "smoke", {"table1": [0], "tables7-8": [0]}) == (
        [], "every table of the chapter has all its runs")


def test_chapter_parameters_refuse_an_unknown_data_set_or_method_by_name():
    notebook.check_parameters("cpu", datasets=["fashion-mnist"], methods=["CE+DRW+SAM"])
    with pytest.raises(ValueError, match="dataset"):
        notebook.check_parameters("cpu", datasets=["fashion-mnist", "mnist-lt"])
    with pytest.raises(ValueError, match="CE\\+FOO"):
        notebook.check_parameters("cpu", methods=["CE+FOO"])


def test_class_order_table_and_the_control_off_fashion_mnist():
    from saddle_book import scorecard
    table = run_tables.class_order_table("cpu", 100)
    assert list(table.columns) == ["calibrated order", "natural order", "training images"]
    assert table["training images"].iloc[0] == 500 and table["training images"].iloc[-1] == 5
    rows, texts = scorecard.order_control("paper")
    assert rows == [] and texts["control_runs"] == 0 and texts["control_natural"] == "not run at this scale"


def test_rho_sweep_summary_and_recipe_texts():
    from saddle import grid
    from saddle_book import scorecard
    ours = pd.DataFrame({"data": "d", "rho": [0.0, 0.0, 0.5], "acc": [60.0, 62.0, 65.0], "head": 80.0,
                         "tail": [10.0, 12.0, 30.0], "train acc": 99.0, "train tail": [98.0, 96.0, 55.0]})
    table, texts = scorecard.rho_sweep_summary(ours, "d")
    assert table.loc[("d", 0.0), "seeds"] == 2 and table.loc[("d", 0.0), "acc"] == 61.0
    assert texts == {"seeds_run": "1 to 2 seeds", "fit_tail": "97 % at rho 0; 55 % at rho 0.5"}
    assert scorecard.rho_sweep_summary(ours.iloc[:0], "d")[1] == {"seeds_run": "no runs", "fit_tail": "not run here"}
    guidance = sam_radius.recipe_guidance(ours.assign(rho=[0.0, 0.05, 0.5]))
    assert sam_radius.recipe_texts(guidance) == {"recipe_rho": "0.5", "recipe_gap": "0.0", "best_rho": "0.5"}
    assert sam_radius.recipe_texts(guidance.iloc[:0])["best_rho"] == "not run here"
    radii = sam_radius.radii_table(["CE+DRW+SAM", "CE+DRW+ImbSAM"], "smoke", "fashion-mnist")
    assert radii.loc["CE+DRW+ImbSAM", "Table 5 (CIFAR-10)"] == "none"
    with pytest.raises(ValueError, match=re.escape("rho must be a finite number in [0, 100], got -1.0")):
        notebook.check_parameters("cpu", rhos=[0.1, -1.0])


def test_edge_sentence_names_the_radii_at_the_lower_edge_of_their_grid():
    assert sam_radius.edge_sentence({"CE+DRW+SAM": 0.05, "CE+DRW+ImbSAM": None, "VS+SAM": 0.2}).startswith(
        "CE+DRW+SAM chose the smallest radius tried (0.05)")
    assert sam_radius.edge_sentence({"CE+DRW+SAM": 0.1}) == "No tuned radius lies at the lower edge of its grid."


def test_fit_texts_name_each_method_and_the_records_a_chapter_has():
    fits = sam_radius.tail_fit([record("CE+DRW", 99.4), record("CE+DRW+SAM", 55.0)], "fashion-mnist")
    assert sam_radius.fit_texts(fits, "fit_") == {"fit_ce_drw": "99%", "fit_ce_drw_sam": "55%"}
    assert sam_radius.fit_texts(fits.iloc[:0], "cifar_fit_", ["CE+DRW"]) == {"cifar_fit_ce_drw": "not run here"}
    radii = sam_radius.tuned_radii(["CE", "CE+DRW+SAM"], "smoke", "fashion-mnist")
    assert list(radii) == ["CE+DRW+SAM"]  # SAM methods only
    from saddle import grid
    configs = grid.table1("smoke", [0])[:3]
    found = {configs[0].run_id: {"status": "complete"}, configs[1].run_id: None, configs[2].run_id: {"x": 1}}
    assert run_tables.recorded_count(found) == 2
    assert run_tables.recorded(configs + configs[:1], found) == [{"status": "complete"}, {"x": 1}]
    assert run_tables.gain_table(pd.DataFrame()).empty
