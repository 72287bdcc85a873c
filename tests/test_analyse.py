"""The declared analyses of the CIFAR grid: what the plan asks of each recorded run, and the pipeline's listing."""
import pytest

from saddle import analyse, grid
from saddle.cli import main


def fake(method, seed):
    config = grid.method_config(method, grid.CIFAR_SCALE, seed=seed)
    return {"id": config.run_id, "label": method, "status": "complete", "config": config.to_dict(),
            "groups": {"tail": [7, 8, 9]}}


def test_the_cifar_plan_follows_its_declaration():
    records = {r["id"]: r for r in (fake("CE+DRW", 0), fake("CE+DRW+SAM", 0), fake("CE+DRW", 3))}
    records["missing"] = None
    plan = analyse.cifar_plan(records)
    spectra_all = [a for a in plan if a.classes == "all"]
    assert len(spectra_all) == 3 and {a.epoch for a in spectra_all} == {200}
    assert all(a.max_per_class == grid.CIFAR_ANALYSES["max_per_class"] and a.iters == 100 for a in spectra_all)
    assert all(a.seed == a.run["config"]["seed"] for a in plan if a.classes != [9])
    assert len([a for a in plan if a.kind == "split"]) == 3
    fig3 = [a for a in plan if a.classes == [0, 9]]
    assert len(fig3) == 2 * 6 and {a.run["config"]["seed"] for a in fig3} == {0}  # seeds 0-2 only
    estimator = [a for a in plan if a.classes == [9]]
    assert len(estimator) == 9 and {a.run["label"] for a in estimator} == {"CE+DRW+SAM"}


def test_analyse_lists_what_waits_for_its_snapshot(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    records = {r["id"]: r for r in (fake("CE+DRW", 0),)}
    monkeypatch.setattr(analyse.runner, "records", lambda configs: records)
    assert main(["analyse", "cifar10-headline", "--list"]) == 0
    out = capsys.readouterr().out
    assert "0 recorded, 0 computed now, 8 waiting for their snapshot" in out
    assert main(["analyse", "table1"]) == 2
    with pytest.raises(ValueError, match="accepted: cifar10-headline"):
        analyse.run("table1")
