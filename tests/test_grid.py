import pytest

from conftest import needs_fashion_mnist
from saddle import grid, runner
from saddle.config import RunConfig


def test_methods_round_trip_with_table5_rhos():
    for method in grid.METHODS + grid.BASELINES:
        assert grid.method_config(method, "cpu").label == method
    assert grid.method_config("LDAM+DRW+SAM", "cpu").rho == 0.8
    assert grid.method_config("CE+DRW+SAM", "cpu", profile="step").rho == 0.2
    assert grid.method_config("CE+DRW+SAM", "paper", dataset="cifar100").rho == 0.8
    assert grid.method_config("VS", "cpu").epochs == 300  # VS trains 1.5x longer
    with pytest.raises(ValueError, match="unknown method 'FOCAL\\+SAM'"):
        grid.method_config("FOCAL+SAM", "cpu")
    with pytest.raises(ValueError, match="unknown method 'CE\\+ADAM'"):
        grid.method_config("CE+ADAM", "cpu")


def test_tables_at_each_scale():
    assert len(grid.table1("cpu")) == 24 and {c.dataset for c in grid.table1("cpu")} == {"fashion-mnist"}
    paper = grid.table1("paper", seeds=(0,))
    assert len(paper) == 16 and {c.dataset for c in paper} == {"cifar10", "cifar100"}
    assert {c.model for c in paper} == {"resnet32"}
    assert {c.profile for c in grid.table2("cpu")} == {"step"}
    assert sorted({c.imbalance for c in grid.tables7_8("cpu")}) == [10, 50, 100, 200]
    seed0 = (0,)
    rho0, *sam = grid.figure4("cpu", seed0)
    assert rho0 == grid.method_config("CE+DRW", "cpu") and [c.rho for c in sam] == [0.05, 0.1, 0.2, 0.5, 0.8, 1.0]
    shared = runner.unique(grid.table1("cpu", seed0) + grid.table4("cpu", seed0) + grid.figure4("cpu", seed0))
    assert len(shared) == 8 + 2 + 5  # CE+DRW and CE+DRW+SAM at rho 0.5 are in all three


@needs_fashion_mnist
def test_get_or_run_many_writes_one_record_per_stacked_run(tmp_path, monkeypatch):
    from saddle.results import find_record
    from saddle.runs import get_or_run_many
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = [RunConfig.at_scale("smoke", optimizer="sam", rho=r, epochs=1) for r in (0.05, 0.5)]
    records = get_or_run_many(configs, root=tmp_path, progress=False)
    assert [r["id"] for r in records] == [c.run_id for c in configs]
    assert all(find_record(c, tmp_path)["provenance"]["stacked_runs"] == 2 for c in configs)
    assert [r["curves"][0]["rho"] for r in records] == [0.05, 0.5]


def test_grid_cli_lists_and_rejects_bad_tables(tmp_path, capsys):
    from saddle.cli import main
    assert main(["grid", "table4", "--scale", "smoke", "--list", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()  # four methods on seeds 0-2, the default
    assert len(lines) == 13 and all(line.startswith("missing") for line in lines[:12])
    assert lines[12] == "0 of 12 runs recorded; their training took 0.0 hours of wall time"
    assert main(["grid", "table9", "--scale", "smoke"]) == 2
    assert "unknown table 'table9'; accepted: table1, table2, table4, tables7-8, figure4, tune" in \
        capsys.readouterr().err
    assert main(["grid", "table4", "--scale", "smoke", "--stack", "--compile", "inductor"]) == 2
    assert "stacked runs (--stack) are not compiled" in capsys.readouterr().err


def test_select_rho_is_the_written_rule():
    """Highest mean validation accuracy over the tuning seeds; ties (to 0.01 points) to the smaller rho."""
    assert grid.select_rho({0.05: [70.0, 72.0], 0.1: [73.0, 71.5], 0.2: [72.0, 71.0]}) == 0.1
    assert grid.select_rho({0.05: [70.004], 0.1: [70.0], 0.2: [69.0]}) == 0.05  # 70.00 and 70.00: the smaller
    assert grid.select_rho({0.5: [80.0], 0.2: [80.0]}) == 0.2
    with pytest.raises(ValueError, match="every rho"):
        grid.select_rho({0.1: []})


def test_tune_grid_is_every_sam_radius_and_the_sgd_end_of_the_sweep():
    """The tuning grid: each SAM method at each radius on its tuning seeds, plus CE+DRW (SGD) on CE+DRW+SAM's
    tuning seeds, the rho = 0 point that chapters 2 and 6 plot; those never enter the selection."""
    configs = grid.tune("cpu")
    sgd = [c for c in configs if c.optimizer == "sgd"]
    assert [(c.label, c.seed) for c in sgd] == [("CE+DRW", s) for s in grid.TUNE_SEEDS["CE+DRW+SAM"]]
    assert len(configs) - len(sgd) == sum(len(grid.TUNE_RHOS) * len(grid.TUNE_SEEDS[m]) for m in grid.SAM_METHODS)
    assert all(c.subset_seed == c.seed and c.val_per_class == grid.VAL_PER_CLASS for c in configs)
    assert "CE+DRW" not in grid.TUNE_GRID  # so tuning_table and tuned_rho never see the anchors


def test_tuned_rho_waits_for_the_whole_tuning_grid(tmp_path):
    """No tuned rho until every tuning run has a record; then the rule's choice; dependent grids grow with it."""
    from saddle.results import write_record, record_path

    def fake(config, val):
        write_record({"id": config.run_id, "status": "complete", "config": config.to_dict(), "curves": [],
                      "provenance": {"wall_time_s": 1.0},
                      "metrics": {"final": {"acc": 0.0, "val": {"acc": val}}}}, record_path(config, tmp_path))
    method = "CE+DRW+SAM"
    runs = [(grid.protocol_config(method, "cpu", seed=s, rho=r), r) for s in grid.TUNE_SEEDS[method]
            for r in grid.TUNE_RHOS]
    assert grid.tuned_rho(method, "cpu", root=tmp_path) is None
    assert [c.label for c in grid.order_control("cpu", root=tmp_path)] == ["CE+DRW"] * len(grid.CONTROL_SEEDS)
    assert grid.untuned("order-control", "cpu", root=tmp_path) == [method]
    for config, rho in runs[:-1]:
        fake(config, 70 + 10 * rho)
    assert grid.tuned_rho(method, "cpu", root=tmp_path) is None
    fake(*runs[-1][:1], 10.0)  # the last run: seed 11 at rho 0.5 validates badly
    assert grid.tuned_rho(method, "cpu", root=tmp_path) == 0.3  # 0.5's mean (75 + 10) / 2 loses to 0.3's 73
    assert grid.untuned("order-control", "cpu", root=tmp_path) == []
    assert method not in grid.untuned("table1-validated", "cpu", root=tmp_path)  # the other SAM methods still wait
    control = grid.order_control("cpu", root=tmp_path)
    assert {c.class_order for c in control} == {"natural"} and {c.rho for c in control if c.optimizer == "sam"} == {0.3}
    tuned = grid.table1_validated("cpu", root=tmp_path)
    assert {c.label for c in tuned} == {"CE", "CE+DRW", "LDAM+DRW", "VS", "CE+DRW+SAM"}
    assert all(c.subset_seed == c.seed and c.val_per_class == grid.VAL_PER_CLASS for c in tuned)


def test_protocol_runs_keep_the_paper_grid_ids_apart():
    paper = grid.method_config("CE+DRW", "cpu")
    ours = grid.protocol_config("CE+DRW", "cpu", seed=0)
    assert paper.run_id == "fashion-mnist-ce-drw-s0-edf7009d25" and ours.run_id != paper.run_id
    assert "val_per_class" not in paper.to_dict() and ours.to_dict()["val_per_class"] == 200
    with pytest.raises(ValueError, match="needs a rho"):
        grid.protocol_config("CE+DRW+SAM", "cpu")
    with pytest.raises(ValueError, match="needs a rho"):
        grid.method_config("CE+DRW+ImbSAM", "cpu")
    followups = grid.followups("smoke", seeds=(0,))
    assert {c.label for c in followups} == {"CE+DRW+ImbSAM", "CE+DRW+CC-SAM", "CE+DRW"}
    assert len([c for c in followups if c.seed == 10]) == 2 * len(grid.FOLLOWUP_RHOS)


def test_regime_rule_picks_the_cheapest_candidate_that_fits_its_tail():
    from saddle.grid import select_regime_scale
    fits = {"r32-n500": (97.0, 91.0), "r8-n5000": (99.0, 95.0)}
    assert select_regime_scale(fits, {"r32-n500": 70.0, "r8-n5000": 100.0}) == ("r32-n500", True)
    assert select_regime_scale(fits, {"r32-n500": 120.0, "r8-n5000": 100.0}) == ("r8-n5000", True)
    # SAM's tail fit under 90% (or SGD's under 95%) disqualifies; none qualifying: the highest SAM tail fit
    fits = {"r32-n500": (97.0, 89.9), "r8-n5000": (94.9, 95.0)}
    assert select_regime_scale(fits, {"r32-n500": 70.0, "r8-n5000": 100.0}) == ("r8-n5000", False)
    with pytest.raises(ValueError, match="cost for every candidate"):
        select_regime_scale(fits, {"r32-n500": 70.0})


def test_mechanism_and_statistics_grids_are_the_declared_runs():
    from saddle import grid
    mech = grid.mechanism_cpu("cpu")
    assert [(c.rho, c.seed, c.subset_seed, c.val_per_class) for c in mech] == [(0.5, s, s, 200) for s in range(5)]
    radii = grid.headline_radii("cpu")
    assert {c.run_id for c in mech} <= {c.run_id for c in radii}  # rho 0.5 is trained once
    pilot = grid.regime_pilot()
    assert [(c.scale, c.label, c.seed) for c in pilot] == [
        (s, m, 10) for s in ("r32-n500", "r8-n5000") for m in ("CE+DRW", "CE+DRW+SAM")]
    assert pilot[0].model == "resnet32" and pilot[2].n_max == 5000 and pilot[1].rho == 0.5


def test_regime_grid_waits_for_its_own_shorter_tuning(tmp_path):
    """At the regime scale CE+DRW+SAM is tuned on REGIME_TUNE_RHOS and seed 10 (rho 0.5 is the pilot's run); the
    mechanism grid holds CE+DRW and rho 0.5 on every seed, and the tuned rho once the tuning is recorded."""
    from saddle.results import record_path, write_record
    tune = grid.regime_tune()
    assert [(c.scale, c.seed, c.rho) for c in tune] == [("r8-n5000", 10, r) for r in grid.REGIME_TUNE_RHOS]
    assert tune[-1].run_id == grid.regime_pilot()[-1].run_id  # the pilot's SAM run is the rho 0.5 tuning run
    mech = grid.mechanism_regime(root=tmp_path)
    assert [(c.label, c.rho, c.seed) for c in mech] == [
        (m, r, s) for s in grid.PROTOCOL_SEEDS for m, r in (("CE+DRW", 0.0), ("CE+DRW+SAM", 0.5))]
    for config, val in zip(tune, (80.0, 81.0, 79.0)):
        write_record({"id": config.run_id, "status": "complete", "config": config.to_dict(), "curves": [],
                      "provenance": {"wall_time_s": 1.0}, "metrics": {"final": {"acc": 0.0, "val": {"acc": val}}}},
                     record_path(config, tmp_path))
    assert grid.tuned_rho("CE+DRW+SAM", "r8-n5000", root=tmp_path) == 0.2
    assert grid.tuned_rho("CE+DRW+SAM", "cpu", root=tmp_path) is None  # the cpu scale keeps its own plan
    mech = grid.mechanism_regime(root=tmp_path)
    assert [c.rho for c in mech[:3]] == [0.0, 0.5, 0.2] and len(mech) == 3 * len(grid.PROTOCOL_SEEDS)
    assert all(c.subset_seed == c.seed and c.val_per_class == grid.VAL_PER_CLASS for c in mech)


def test_tuning_rows_show_each_seed_and_mark_the_chosen_radius(tmp_path):
    from saddle.results import record_path, write_record
    for config, val in zip(grid.regime_tune(), (80.0, 81.0, 79.0)):
        write_record({"id": config.run_id, "status": "complete", "config": config.to_dict(), "curves": [],
                      "provenance": {"wall_time_s": 1.0}, "metrics": {"final": {"acc": 0.0, "val": {"acc": val}}}},
                     record_path(config, tmp_path))
    from saddle_book.sam_radius import tuning_rows
    rows = tuning_rows(["CE+DRW+SAM"], "r8-n5000", root=tmp_path)
    assert [(r["rho"], r["val acc, seed 10"], r["chosen"]) for r in rows] == [
        (0.05, 80.0, ""), (0.2, 81.0, "<- tuned"), (0.5, 79.0, "")]
    means = tuning_rows(["CE+DRW+SAM"], "r8-n5000", root=tmp_path, mean=True)
    assert [(r["rho"], r["mean val acc"]) for r in means] == [(0.05, "80.00"), (0.2, "81.00"), (0.5, "79.00")]
