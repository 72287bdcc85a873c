import os

import pytest

from conftest import needs_fashion_mnist
from saddle import grid
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
    shared = grid.unique(grid.table1("cpu", seed0) + grid.table4("cpu", seed0) + grid.figure4("cpu", seed0))
    assert len(shared) == 8 + 2 + 5  # CE+DRW and CE+DRW+SAM at rho 0.5 are in all three


def test_run_missing_trains_each_missing_run_once_and_respects_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    trained = []
    monkeypatch.setattr(grid, "get_or_run", lambda config, **kw: trained.append(config))
    configs = [RunConfig.at_scale("smoke", seed=s) for s in range(4)]
    locks = tmp_path / "cache" / "locks"
    locks.mkdir(parents=True)
    (locks / configs[1].run_id).write_text(str(os.getpid()))  # claimed by a live runner
    (locks / configs[2].run_id).write_text("999999999")  # left by a runner that died
    counts = grid.run_missing(configs + configs[:1], root=tmp_path, progress=False)
    assert counts == {"present": 0, "trained": 3, "skipped": 1}
    assert trained == [configs[0], configs[2], configs[3]]
    assert sorted(p.name for p in locks.iterdir()) == [configs[1].run_id]  # own locks released


def test_stacking_groups_seeds_and_radii_and_trains_each_group_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = grid.unique(grid.figure4("smoke", seeds=(0, 1)) + grid.table4("smoke", seeds=(0,)))
    groups = grid.stack_groups(configs)
    labels = [sorted({c.label for c in g}) for g in groups]
    assert labels == [["CE+DRW"], ["CE+DRW+SAM"], ["CE+DRW+PGD"], ["CE+DRW+LPF-SGD"]]
    assert [len(g) for g in groups] == [2, 12, 1, 1]  # rho 0 (SGD) x 2 seeds; six radii x 2 seeds
    calls = []
    monkeypatch.setattr(grid, "get_or_run_many", lambda group, **kw: calls.append(("many", len(group))))
    monkeypatch.setattr(grid, "get_or_run", lambda config, **kw: calls.append(("one", config.label)))
    counts = grid.run_missing(configs, root=tmp_path, progress=False, stack=True)
    assert counts == {"present": 0, "trained": 16, "skipped": 0}
    assert calls == [("many", 2), ("many", 12), ("one", "CE+DRW+PGD"), ("one", "CE+DRW+LPF-SGD")]


@needs_fashion_mnist
def test_get_or_run_many_writes_one_record_per_stacked_run(tmp_path, monkeypatch):
    from saddle.results import find_record, get_or_run_many
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
    assert "unknown table 'table9'; accepted: table1, table2, table4, tables7-8, figure4" in capsys.readouterr().err
    assert main(["grid", "table4", "--scale", "smoke", "--stack", "--compile", "inductor"]) == 2
    assert "stacked runs (--stack) are not compiled" in capsys.readouterr().err


def test_training_time_counts_resumed_runs_apart():
    from saddle.grid import training_time
    whole = {"curves": [{}] * 200, "provenance": {"wall_time_s": 3600.0, "resumed_from_epoch": None}}
    resumed = {"curves": [{}] * 200, "provenance": {"wall_time_s": 1800.0, "resumed_from_epoch": 150}}
    cost = training_time({"a": whole, "b": resumed, "c": None})
    assert cost == {"runs": 2, "measured": 1.5, "scaled": 1.0 + 2.0, "resumed": 1}
