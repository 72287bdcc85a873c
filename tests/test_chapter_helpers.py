"""The chapter helpers in saddle.book on small made-up records: the phrases chapters 4 and 5 glue say what the
numbers show."""
import pandas as pd

from saddle import book, scorecard


def record(label, tail_fit, dataset="fashion-mnist", status="complete"):
    return {"label": label, "status": status, "config": {"dataset": dataset}, "groups": {"tail": [8, 9]},
            "metrics": {"train_final": {"per_class": [100.0] * 8 + [tail_fit, tail_fit]}}}


def test_trend_words_are_strict_and_say_a_loss():
    assert book.trend_words(pd.Series([1.0, 2.0, 3.0], index=[10, 50, 100])) == \
        "larger at 100 than at 10, rising at every step"
    assert book.trend_words(pd.Series([1.0, 1.0, 3.0], index=[10, 50, 100])) == "larger at 100 than at 10"
    assert book.trend_words(pd.Series([-1.0, -2.0], index=[10, 100])) == \
        "not larger at 100 than at 10, still a loss there"


def test_gain_lines_put_ours_beside_the_papers_row():
    gains = pd.DataFrame({10: [0.5, 1.0, 0.2], 100: [1.5, 2.0, None]},
                         index=pd.MultiIndex.from_tuples([("SAM", "tail", "ours"), ("SAM", "tail", "paper"),
                                                          ("VS", "tail", "ours")]))
    lines = book.gain_lines(gains)
    assert lines == ["- **SAM, tail**: ours +0.5 / +1.5 at imbalance 10 / 100, larger at 100 than at 10, rising at "
                     "every step; paper +1.0 / +2.0, larger at 100 than at 10, rising at every step."]


def test_tail_fit_counts_complete_runs_on_the_data_set_and_the_answer_names_who_fits():
    runs = [record("A", 95.0), record("A", 85.0), record("B", 50.0), record("B", 99.0, dataset="cifar10"),
            record("C", 99.0, status="diverged"), None]
    fits = book.tail_fit(runs, "fashion-mnist")
    assert fits.loc["A", "mean"] == 90.0 and fits.loc["A", "count"] == 2 and "C" not in fits.index
    assert book.fit_text(fits, "A") == "90% (2 seeds)" and book.fit_text(fits, "C") == "no runs yet"
    assert book.fit_pair("A", 0.5, 0.5, fits, fits).endswith("at the same radius on the validated protocol")
    assert book.fit_answer(fits, ["A", "B", "C"]) == ("at 90% of the tail's training images as the bar, A fits its "
                                                      "tail at the tuned radius; B still falls short of it")
    assert book.fit_answer(fits, ["C"]).startswith("no SAM method")


def test_large_claims_are_not_run_without_records_and_judged_by_the_given_rule():
    empty = {d: {} for d in book.LARGE_TABLES}
    claims = book.large_claims(empty, scorecard.verdict)
    assert len(claims) == 8 and {c["verdict"] for c in claims} == {"not run here"}
    finals = {"CE+DRW": 60.0, "CE+DRW+SAM": 62.5}
    ran = {**empty, "inat2018": {m: {"metrics": {"final": {k: v for k in ("acc", "head", "mid", "tail")}}}
                                 for m, v in finals.items()}}
    claims = book.large_claims(ran, scorecard.verdict)
    done = [c for c in claims if c["ours"]]
    assert [c["ours"] for c in done] == ["+2.5", "+2.5"] and {c["verdict"] for c in done} == {"not tested"}
    assert [row["ours acc"] for row in book.large_side_by_side(ran) if row["data set"] == "iNaturalist-2018"
            and row["method"] == "CE + DRW + SAM"] == ["62.5"]
