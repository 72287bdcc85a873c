"""scripts/retrain_dirty.py's install step: a retrained record replaces a dirty one, saying what came out identical,
and a committed snapshot is replaced only where its tensors differ."""
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


def test_same_tensors_compares_values_not_bytes():
    assert retrain_dirty.same_tensors({"a": [torch.ones(2), 3]}, {"a": [torch.ones(2), 3]})
    assert not retrain_dirty.same_tensors({"a": torch.ones(2)}, {"a": torch.zeros(2)})
    assert not retrain_dirty.same_tensors({"a": 1}, {"b": 1})
