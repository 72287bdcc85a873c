import pandas as pd
import pytest

from saddle import grid, scorecard
from saddle.scorecard import Claim


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


def test_verdicts_follow_sign_and_seed_noise():
    def assess(sam_tails, drw_tails, claim=CLAIM):
        recs = records(*[fake("CE+DRW+SAM", s, tail=t) for s, t in enumerate(sam_tails)],
                       *[fake("CE+DRW", s, tail=t) for s, t in enumerate(drw_tails)])
        return scorecard.assess(claim, "cpu", "fashion-mnist", range(len(sam_tails)), recs)

    clear = assess([40, 41, 42], [30, 31, 32])
    assert clear["verdict"] == "reproduced" and clear["ours"] == 10 and clear["paper"] == 11.7
    assert clear["seeds"] == 3 and clear["s.e."] == pytest.approx(0.82, abs=0.01)
    assert assess([40], [30])["verdict"] == "direction reproduced"  # one seed: no noise estimate
    assert assess([32, 40, 30], [30, 31, 32])["verdict"] == "direction reproduced"  # inside the noise
    assert assess([29, 30, 31], [30, 31, 32])["verdict"] == "not reproduced"
    keeps = Claim("k", "keeps", 1, "CE+DRW+SAM", "CE+DRW", "tail", "keeps")
    assert assess([31.5], [30], keeps)["verdict"] == "reproduced"
    assert assess([35], [30], keeps)["verdict"] == "not reproduced"
    assert assess([30, 40], [30, 31], keeps)["verdict"] == "direction reproduced"  # +4.5, s.e. 3.5: noise
    assert assess([35, 35.5, 36], [30, 30.5, 31], keeps)["verdict"] == "not reproduced"  # +5 beyond the noise
    lowers = Claim("l", "lowers", 1, "CE+DRW+SAM", "CE+DRW", "tail", "lowers")
    assert assess([25], [30], lowers)["verdict"] == "direction reproduced"
    missing = scorecard.assess(CLAIM, "cpu", "fashion-mnist", [0], records(fake("CE+DRW", 0)))
    assert missing["verdict"] == "not run here" and missing["ours"] is None


def test_seeds_that_did_not_run_are_left_out():
    recs = records(fake("CE+DRW+SAM", 0, tail=40), fake("CE+DRW", 0, tail=30), fake("CE+DRW", 1, tail=32))
    row = scorecard.assess(CLAIM, "cpu", "fashion-mnist", {1: [0, 1, 2]}, recs)
    assert row["seeds"] == 1 and row["ours"] == 9.0 and row["verdict"] == "direction reproduced"


def test_rho_claims_use_their_own_radii():
    claim = next(c for c in scorecard.CLAIMS if c.id == "f4-tail-rises")
    recs = records(fake("CE+DRW+SAM", 0, rho=0.8, tail=45), fake("CE+DRW+SAM", 0, rho=0.05, tail=40))
    row = scorecard.assess(claim, "cpu", "fashion-mnist", [0], recs)
    assert row["paper"] == 10.0 and row["ours"] == 5.0 and row["verdict"] == "direction reproduced"


def test_cells_read_every_table_and_name_the_missing():
    recs = records(fake("CE", 0, tail=20, acc=60), fake("CE+DRW", 0, tail=30, acc=62),
                   fake("CE+DRW+SAM", 0, tail=25, acc=65))
    frame = scorecard.cells("cpu", "fashion-mnist", [0], recs)
    t1 = frame[(frame.table == 1)].set_index(["method", "metric"])
    assert t1.loc[("CE", "tail"), "verdict"] == "reference"
    assert t1.loc[("CE+DRW", "tail"), "verdict"] == "direction reproduced"  # paper +9.1, ours +10
    assert t1.loc[("CE+DRW+SAM", "acc"), "verdict"] == "direction reproduced"
    assert t1.loc[("VS", "acc"), "verdict"] == "not run here" and pd.isna(t1.loc[("VS", "acc"), "ours"])
    assert {3, 9} <= set(frame.table) and (frame[frame.table == 3].verdict == "not run here").all()
    assert set(frame.verdict) <= set(scorecard.VERDICTS) | {"reference", "no paper number"}


def test_cells_on_the_papers_data_compare_the_numbers_themselves():
    recs = records(fake("CE", 0, scale="paper", dataset="cifar10", acc=71.2),
                   fake("CE+DRW", 0, scale="paper", dataset="cifar10", acc=70.0))
    frame = scorecard.cells("paper", "cifar10", [0], recs).set_index(["table", "method", "metric"])
    assert frame.loc[(1, "CE", "acc"), "verdict"] == "reproduced"  # 71.2 against the paper's 71.7
    assert frame.loc[(1, "CE+DRW", "acc"), "verdict"] == "not reproduced"  # 70.0 against 75.5, and below CE


def test_every_claim_names_a_table_of_the_paper_and_known_methods():
    for claim in scorecard.CLAIMS:
        assert claim.table in (1, 2, 4, 7, "fig4") and claim.kind in ("raises", "lowers", "keeps")
        for method in (claim.method, claim.baseline):
            grid.method_config(method, "cpu")  # raises on an unknown method
    assert len({c.id for c in scorecard.CLAIMS}) == len(scorecard.CLAIMS)
