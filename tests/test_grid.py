import os

import pytest

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
    rho0, *sam = grid.figure4("cpu")
    assert rho0 == grid.method_config("CE+DRW", "cpu") and [c.rho for c in sam] == [0.05, 0.1, 0.2, 0.5, 0.8, 1.0]
    shared = grid.unique(grid.table1("cpu", seeds=(0,)) + grid.table4("cpu") + grid.figure4("cpu"))
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


def test_grid_cli_lists_and_rejects_bad_tables(tmp_path, capsys):
    from saddle.cli import main
    assert main(["grid", "table4", "--scale", "smoke", "--list", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("missing") for line in lines)
    assert main(["grid", "table9", "--scale", "smoke"]) == 2
    assert "unknown table 'table9'; accepted: table1, table2, table4, tables7-8, figure4" in capsys.readouterr().err
