"""The runner: each missing run trained once, failures named, stacked groups, what the recorded runs cost."""
import pytest

from conftest import needs_fashion_mnist
from saddle import grid, runner
from saddle.config import RunConfig


def test_run_missing_trains_each_missing_run_once_and_reports_failures(tmp_path, monkeypatch):
    """Each missing run once (a duplicate in the list too); a run that fails is named, the others still train;
    the lock-holding and waiting paths are covered with real processes in test_reliability."""
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    trained = []

    def read_or_train(config, **kw):
        if config.seed == 2:
            raise ValueError("broken run")
        trained.append(config)
        return {}, "trained"
    monkeypatch.setattr(runner, "read_or_train", read_or_train)
    monkeypatch.setattr(runner, "has_record", lambda config, root, warn=False: config in trained)
    configs = [RunConfig.at_scale("smoke", seed=s) for s in range(4)]
    monkeypatch.setattr(runner.time, "sleep", lambda s: pytest.fail("waited, though no run was held elsewhere"))
    counts = runner.run_missing(configs + configs[:1], root=tmp_path, progress=False)
    assert counts == {"present": 0, "trained": 3, "held": [], "failed": {configs[2].run_id: "ValueError: broken run"}}
    assert trained == [configs[0], configs[1], configs[3]]
    trained.clear()
    counts = runner.run_missing(configs[2:3], root=tmp_path, progress=False, wait=False)
    assert counts["held"] == [] and list(counts["failed"]) == [configs[2].run_id]  # failed, not left to another


def test_stacking_groups_seeds_and_radii_and_trains_each_group_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = runner.unique(grid.figure4("smoke", seeds=(0, 1)) + grid.table4("smoke", seeds=(0,)))
    groups = runner.stack_groups(configs)
    labels = [sorted({c.label for c in g}) for g in groups]
    assert labels == [["CE+DRW"], ["CE+DRW+SAM"], ["CE+DRW+PGD"], ["CE+DRW+LPF-SGD"]]
    assert [len(g) for g in groups] == [2, 12, 1, 1]  # rho 0 (SGD) x 2 seeds; six radii x 2 seeds
    ldam = [c for c in runner.unique(grid.table1("smoke", seeds=(0, 1))) if c.loss == "ldam"]
    assert len(ldam) > 1 and all(len(g) == 1 for g in runner.stack_groups(ldam))  # LDAM does not stack
    calls = []
    monkeypatch.setattr(runner, "get_or_run_many", lambda group, **kw: calls.append(("many", len(group))))
    monkeypatch.setattr(runner, "read_or_train", lambda config, **kw: (calls.append(("one", config.label)), "trained"))
    done = set()
    monkeypatch.setattr(runner, "has_record", lambda config, root, warn=False: config.run_id in done)
    real_many = calls.append
    monkeypatch.setattr(runner, "get_or_run_many", lambda group, **kw: (real_many(("many", len(group))),
                                                                        done.update(c.run_id for c in group)))
    counts = runner.run_missing(configs, root=tmp_path, progress=False, stack=True)
    assert counts == {"present": 0, "trained": 16, "held": [], "failed": {}}
    assert calls == [("many", 2), ("many", 12), ("one", "CE+DRW+PGD"), ("one", "CE+DRW+LPF-SGD")]


def test_training_time_counts_resumed_runs_apart():
    from saddle.runner import training_time
    whole = {"curves": [{}] * 200, "provenance": {"wall_time_s": 3600.0, "resumed_from_epoch": None}}
    resumed = {"curves": [{}] * 200, "provenance": {"wall_time_s": 1800.0, "resumed_from_epoch": 150}}
    cost = training_time({"a": whole, "b": resumed, "c": None})
    assert cost == {"runs": 2, "measured": 1.5, "scaled": 1.0 + 2.0, "resumed": 1}


@needs_fashion_mnist
@pytest.mark.slow  # measures an epoch, then trains in a spawned worker process
def test_missing_runs_say_first_what_they_cost_here_and_recorded_ones_train_nothing(tmp_path, monkeypatch,
                                                                                   capfd):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    first = RunConfig.at_scale("smoke", epochs=1)
    counts = runner.train_missing([first], root=tmp_path, workers=1)
    assert counts["trained"] == 1
    err = capfd.readouterr().err
    assert "1 run, " in err and "minutes each on one thread (measured here)" in err
    assert runner.train_missing([first], root=tmp_path, workers=1)["trained"] == 0
    assert "measured here" not in capfd.readouterr().err  # a recorded run costs nothing and says nothing


def test_a_growing_grid_keeps_the_workers_it_asks_for(tmp_path, monkeypatch):
    """A fixed list trains on at most one worker per missing run; a grid's spec, whose dependent tables list more
    runs as their tuning lands, keeps every worker asked for."""
    asked = []
    monkeypatch.setattr(runner, "train_pool", lambda spec, workers, **kwargs: asked.append((spec, workers)))
    configs = [RunConfig.at_scale("smoke", epochs=1, seed=s) for s in (0, 1)]
    runner.train_missing(configs, root=tmp_path, workers=8)
    runner.train_missing(configs, root=tmp_path, workers=8, spec={"tables": ["table1-validated"], "scale": "smoke"})
    assert [workers for _, workers in asked] == [2, 8]
    assert "configs" in asked[0][0] and asked[1][0]["tables"] == ["table1-validated"]
