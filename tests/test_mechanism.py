"""The mechanism claims on small made-up rows: each claim's statistic per seed, and its verdict by the one rule."""
import pandas as pd

from saddle import mechanism


def rows(lift: float, seeds=(0, 1, 2)):
    """Three runs (rho 0, 0.05, 0.5) x two tail classes per seed; SAM at 0.5 raises lambda_min by `lift`."""
    out = []
    for s in seeds:
        for rho, shift in ((0.0, 0.0), (0.05, 0.1 * lift), (0.5, lift)):
            for c, base in ((8, -6.0), (9, -9.0)):
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
    # test acc rises with lambda_min and |R_min| with the loss in every seed: both correlations are 1
    assert verdicts.loc["lmin_tracks_tail_acc", "ours"] == 1.0
    assert verdicts.loc["negative_in_residual", "ours"] == 1.0
    assert set(verdicts["seeds"]) == {3}


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
    from saddle import mechanism, scorecard
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    frame = mechanism.recorded_claims("smoke")
    assert list(frame.index) == ["sam_tail_min", "sam_large_rho_tail_min", "lmin_tracks_tail_acc",
                                 "negative_in_residual"]
    assert set(frame["verdict"]) <= set(scorecard.UNTESTED) and not list(tmp_path.rglob("*.json"))
