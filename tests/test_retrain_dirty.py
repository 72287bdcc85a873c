"""scripts/retrain_dirty.py's install step: a retrained record replaces a dirty one, saying what came out identical,
and a committed snapshot is replaced only where its tensors differ."""
import os
import sys
from pathlib import Path

import torch

from saddle import grid
from saddle.checkpoints import save_verified
from saddle.results import find_record, record_path, write_record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import retrain_dirty  # noqa: E402


def record(config, commit, acc):
    return {"id": config.run_id, "status": "done", "config": config.to_dict(),
            "metrics": {"final": {"acc": acc}, "best": {"acc": acc}}, "curves": [{"epoch": 1, "test": acc}],
            "checkpoint_epochs": [10], "provenance": {"git_commit": commit, "date": "2026-11-29", "wall_time_s": 1.0}}


def test_install_replaces_dirty_records_and_only_differing_snapshots(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    same, changed, clean = (grid.method_config("CE+DRW", "smoke", seed=s) for s in (0, 1, 2))
    staged = tmp_path / "staged"
    for config, acc_old, acc_new in ((same, 70.0, 70.0), (changed, 70.0, 71.0)):
        write_record(record(config, "abc-dirty", acc_old), record_path(config))
        write_record(record(config, "def", acc_new), record_path(config, staged))
        for root, value in ((tmp_path / "results", 0.0), (staged, acc_new - acc_old)):
            folder = root / "smoke" / "checkpoints" / config.run_id
            folder.mkdir(parents=True)
            save_verified({"w": torch.zeros(2) + value}, folder / "epoch_0010.pt")
    write_record(record(clean, "abc", 70.0), record_path(clean))

    assert len(retrain_dirty.install("smoke", staged)) == 2
    kept = find_record(same)["provenance"]
    assert kept["git_commit"] == "def" and kept["retrained_from"] == {
        "git_commit": "abc-dirty", "metrics_identical": True, "curves_identical": True, "snapshots_identical": True}
    moved = find_record(changed)["provenance"]["retrained_from"]
    assert (moved["metrics_identical"], moved["snapshots_identical"]) == (False, False)
    snapshot = tmp_path / "results" / "smoke" / "checkpoints" / changed.run_id / "epoch_0010.pt"
    assert torch.load(snapshot, weights_only=True)["w"].tolist() == [1.0, 1.0]  # replaced: its tensors differ
    assert find_record(clean)["provenance"]["git_commit"] == "abc"  # never dirty: untouched
    assert retrain_dirty.dirty_configs("smoke") == []


def test_dirty_analyses_are_recomputed_where_a_chapter_reads_them(tmp_path, monkeypatch):
    """--analyses drops the dirty analyses in a copy of results/ and runs each chapter plan there; --install puts
    the recomputed ones in place, saying whether they came out identical; one no plan reads is left and listed."""
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    config = grid.method_config("CE+DRW", "smoke")
    write_record(record(config, "abc", 70.0), record_path(config))
    folder = tmp_path / "results" / "smoke" / "hessian"
    for name, commit in (("read", "abc-dirty"), ("unread", "abc-dirty"), ("clean", "abc")):
        write_record({"spectra": {"9": -1.0}, "provenance": {"git_commit": commit}}, folder / f"{name}.json")
    plans = []

    def run_plan(plan, scale):  # what analyse.run writes: the plan's missing analyses, at a clean commit
        plans.append((plan, scale))
        write_record({"spectra": {"9": -1.0}, "provenance": {"git_commit": "def"}},
                     Path(os.environ["SADDLE_RESULTS"]) / "smoke" / "hessian" / "read.json")

    unread = retrain_dirty.reanalyse("smoke", tmp_path / "staged", run_plan)
    assert [p for p, _ in plans] == list(retrain_dirty.PLANS)
    assert [p.name for p in unread] == ["unread.json"]
    assert [p.name for p in retrain_dirty.dirty_analyses("smoke")] == ["read.json", "unread.json"]
    lines = retrain_dirty.install("smoke", tmp_path / "staged")
    assert lines == ["smoke/hessian/read.json: recomputed, identical: True"]
    assert [p.name for p in retrain_dirty.dirty_analyses("smoke")] == ["unread.json"]


def test_same_tensors_compares_values_not_bytes():
    assert retrain_dirty.same_tensors({"a": [torch.ones(2), 3]}, {"a": [torch.ones(2), 3]})
    assert not retrain_dirty.same_tensors({"a": torch.ones(2)}, {"a": torch.zeros(2)})
    assert not retrain_dirty.same_tensors({"a": 1}, {"b": 1})
