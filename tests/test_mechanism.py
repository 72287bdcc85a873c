"""The mechanism claims on small made-up rows: each claim's statistic per seed, and its verdict by the one rule."""
import pandas as pd

from saddle_book import mechanism


def rows(lift: float, seeds=(0, 1, 2)):
    """Three runs (rho 0, 0.05, 0.5) x three tail classes per seed; SAM at 0.5 raises lambda_min by `lift`."""
    out = []
    for s in seeds:
        for rho, shift in ((0.0, 0.0), (0.05, 0.1 * lift), (0.5, lift)):
            for c, base in ((7, -3.0), (8, -6.0), (9, -9.0)):
                h = base + shift + 0.01 * s
                out.append({"seed": s, "rho": rho, "class": f"{c} x", "H_min": h, "R_min": h - 1.0,
                            "G_min": 0.0, "loss": -h / 5, "test acc": 50 + 5 * h, "images": 5, "train acc": 90,
                            "grad_norm": 1.0, "H_max": 30.0, "lambda_min_over_grad": h})
    return pd.DataFrame(out)


def test_claims_read_the_per_seed_statistics():
    verdicts = mechanism.claims(rows(3.0), tuned_rho=0.05)
    assert verdicts.loc["sam_large_rho_tail_min", "ours"] == 3.0
    assert verdicts.loc["sam_large_rho_tail_min", "verdict"] == "reproduced"
    assert verdicts.loc["sam_tail_min", "ours"] == 0.3
    # test acc rises with lambda_min and |R_min| with the loss within every run: both correlations are 1
    assert verdicts.loc["lmin_tracks_tail_acc", "ours"] == 1.0
    assert verdicts.loc["negative_in_residual", "ours"] == 1.0
    assert set(verdicts["seeds"]) == {3}
    assert verdicts.loc["negative_in_residual", "claim"].startswith("the book's own hypothesis, not the paper's")


def simpson(seeds=(0, 1, 2)):
    """Within each run the class with the higher lambda_min has the lower test accuracy (and |R_min| falls as the
    loss rises), while each larger radius shifts every class up in both: pooled over the runs the signs flip."""
    out = []
    for s in seeds:
        for arm, rho in enumerate((0.0, 0.05, 0.5)):
            for i, c in enumerate((7, 8, 9)):
                h = -9.0 + 3 * i + 10 * arm + 0.1 * s
                out.append({"seed": s, "rho": rho, "class": f"{c} x", "H_min": h, "R_min": -1.0 - i - 10 * arm,
                            "loss": 1.0 - 0.1 * i + arm, "test acc": 50 - i + 10 * arm})
    return pd.DataFrame(out)


def test_correlations_are_computed_within_each_run_not_pooled_over_the_three():
    table = mechanism.rank_correlations(simpson(), "H_min", "test acc")
    assert list(table.index) == [0, 1, 2] and [c for c in table.columns if isinstance(c, float)] == [0.0, 0.05, 0.5]
    assert (table[[0.0, 0.05, 0.5]] == -1.0).all().all() and (table["within arms"] == -1.0).all()
    assert (table["pooled"] > 0.5).all()  # the radius's shift dominates the pooled ranks
    verdicts = mechanism.claims(simpson(), tuned_rho=0.05)
    assert verdicts.loc["lmin_tracks_tail_acc", "ours"] == -1.0
    assert verdicts.loc["lmin_tracks_tail_acc", "verdict"] == "contradicted"
    assert verdicts.loc["negative_in_residual", "ours"] == -1.0  # |R_min| rises as the loss falls, within each run
    # a run with fewer than three tail classes has no correlation of its own; the seed keeps its other runs' mean
    two = simpson().query("not (seed == 0 and rho == 0.5 and `class` == '9 x')")
    per_seed = mechanism.rank_correlations(two, "H_min", "test acc")
    assert pd.isna(per_seed.loc[0, 0.5]) and per_seed.loc[0, "within arms"] == -1.0


def test_after_data_claims_pair_the_paper_radius_with_ce_drw_by_seed_in_a_family_of_their_own():
    split = rows(3.0).assign(H_max=lambda r: [30.0 if rho == 0.0 else 10.0 for rho in r["rho"]])
    found = {(rho, s): {"status": "complete", "metrics": {"final": {"tail": 60.0 - 30 * rho * (1 + 0.1 * s),
                                                                    "acc": 80.0 - 10 * rho * (1 + 0.1 * s)}}}
             for s in (0, 1, 2) for rho in (0.0, 0.05, 0.5)}
    frame = mechanism.after_data_claims(split, found)
    assert list(frame.index) == list(mechanism.AFTER_DATA_IDS)
    # the tail group's mean |lambda_min/lambda_max|: |-3|, |-6|, |-9| over 30 with SGD (0.2), 0, 3, 6 over 10 with
    # SAM at 0.5 (0.3), each shifted by 0.01 s: +0.1 on every seed
    assert frame.loc["sam_large_rho_ratio", "ours"] == 0.1 and frame.loc["sam_large_rho_ratio", "seeds"] == 3
    assert frame.loc["sam_large_rho_ratio", "verdict"] == "contradicted"  # the ratio rises: the paper says it falls
    assert frame.loc["large_rho_tail_acc", "ours"] == -16.5 and frame.loc["large_rho_acc", "ours"] == -5.5
    assert set(frame["verdict (Holm)"]) == {"contradicted"}
    assert (frame["p (Holm)"] >= frame["p"]).all() and frame.loc["large_rho_acc", "p (Holm)"] < 0.05
    found[(0.5, 2)] = None  # a missing run: its seed leaves the accuracy claims
    assert mechanism.after_data_claims(split, found).loc["large_rho_acc", "seeds"] == 2
    assert mechanism.after_data_family("r8-n5000") == "the paper's radius, r8-n5000 (added after its data)"
    missing = mechanism.after_data_claims(pd.DataFrame(), {})
    assert set(missing["verdict"]) == {"not run here"}


def test_a_radius_that_lowers_lambda_min_is_contradicted_and_missing_runs_are_not_run():
    verdicts = mechanism.claims(rows(-3.0), tuned_rho=0.05)
    assert verdicts.loc["sam_large_rho_tail_min", "verdict"] == "contradicted"
    missing = mechanism.claims(rows(3.0).query("rho != 0.5"), tuned_rho=0.05)
    assert missing.loc["sam_large_rho_tail_min", "verdict"] == "not run here"
    assert mechanism.claims(pd.DataFrame(), tuned_rho=0.05)["verdict"].eq("not run here").all()


def test_summary_counts_runs_per_radius():
    table = mechanism.summary(rows(1.0, seeds=(0, 1)))
    assert list(table.index) == [0.0, 0.05, 0.5] and set(table["runs"]) == {2}


def pilot(scale, sgd, sam, minutes=(10.0, 20.0)):
    return {"scale": scale, "CE+DRW tail fit": sgd, "CE+DRW+SAM tail fit": sam,
            "CE+DRW minutes": minutes[0] if sgd is not None else None,
            "CE+DRW+SAM minutes": minutes[1] if sam is not None else None}


def test_the_regime_rule_waits_until_it_is_decided():
    first, second = mechanism.grid.REGIME_CANDIDATES
    # the cheapest candidate qualifies: decided without the other's pilot
    assert mechanism.regime_choice([pilot(first, 100, 95), pilot(second, None, None)]) == (first, True)
    # the cheapest falls short: undecided until the other is recorded, then the rule picks
    assert mechanism.regime_choice([pilot(first, 100, 60), pilot(second, None, None)]) == (None, False)
    assert mechanism.regime_choice([pilot(first, 100, 60), pilot(second, 99, 92, (40, 60))]) == (second, True)
    # no candidate qualifies: the highest SAM tail fit, flagged as not qualified
    assert mechanism.regime_choice([pilot(first, 100, 60), pilot(second, 99, 70, (40, 60))]) == (second, False)
    assert mechanism.regime_choice([pilot(first, None, None), pilot(second, None, None)]) == (None, False)


def test_recorded_claims_read_only_what_exists(tmp_path, monkeypatch):
    """Chapter 7's overview reads the curvature claims without training or computing: none recorded, none judged."""
    from saddle_book import mechanism, rule
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    frame = mechanism.recorded_claims("smoke")
    assert list(frame.index) == ["sam_tail_min", "sam_large_rho_tail_min", "lmin_tracks_tail_acc",
                                 "negative_in_residual"]
    assert set(frame["verdict"]) <= set(rule.UNTESTED) and not list(tmp_path.rglob("*.json"))
