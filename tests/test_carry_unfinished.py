"""scripts/carry_unfinished.py: an unrecorded run's resumable state travels cache -> results/ -> another cache,
verified; a recorded run's folder is dropped; a later cached state is never replaced by an earlier carried one; a
damaged file exits 2 and copies nothing."""
import sys
from pathlib import Path

import pytest
import torch

from saddle import grid
from saddle.checkpoints import load_verified, save_verified
from saddle.results import record_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import carry_unfinished  # noqa: E402


def train_into(cache: Path, config, epoch: int, snapshots=(10,)) -> Path:
    folder = cache / "checkpoints" / config.run_id
    folder.mkdir(parents=True, exist_ok=True)
    for kept in snapshots:
        save_verified({"run_id": config.run_id, "epoch": kept, "model": {"w": torch.ones(2) * kept}},
                      folder / f"epoch_{kept:04d}.pt")
    save_verified({"run_id": config.run_id, "config": config.to_dict(), "epoch": epoch,
                   "model": {"w": torch.ones(2) * epoch}}, folder / "last.pt")
    return folder


@pytest.fixture
def stores(tmp_path, monkeypatch):
    def use(cache):
        monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / cache))
        return tmp_path / cache
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    return use


def test_save_then_restore_on_another_machine_resumes_the_same_state(stores):
    unfinished, finished = (grid.method_config("CE+DRW", "smoke", seed=s) for s in range(2))
    first = stores("first-cache")
    train_into(first, unfinished, epoch=77)
    train_into(first, finished, epoch=3)
    record_path(finished).parent.mkdir(parents=True, exist_ok=True)
    record_path(finished).write_text("{}")
    assert carry_unfinished.main(["save"]) == 0
    carried = record_path(unfinished).parent / "unfinished" / unfinished.run_id
    assert sorted(p.name for p in carried.iterdir()) == ["epoch_0010.pt", "epoch_0010.pt.sha256", "last.pt",
                                                         "last.pt.sha256"]
    assert not (carried.parent / finished.run_id).exists()
    second = stores("second-cache")
    assert carry_unfinished.main(["restore"]) == 0
    state = load_verified(second / "checkpoints" / unfinished.run_id / "last.pt")
    assert state["epoch"] == 77 and torch.equal(state["model"]["w"], torch.ones(2) * 77)
    assert load_verified(second / "checkpoints" / unfinished.run_id / "epoch_0010.pt")["epoch"] == 10


def test_restore_keeps_a_cache_that_is_further_on(stores, capsys):
    config = grid.method_config("CE+DRW", "smoke", seed=0)
    train_into(stores("old"), config, epoch=40)
    assert carry_unfinished.main(["save"]) == 0
    train_into(stores("new"), config, epoch=60)
    assert carry_unfinished.main(["restore"]) == 0
    assert "cache is at epoch 60, the carried state at 40" in capsys.readouterr().out
    assert load_verified(Path(carry_unfinished.cache_dir()) / "checkpoints" / config.run_id / "last.pt")["epoch"] == 60


def test_a_run_recorded_since_it_was_carried_is_removed_by_save(stores):
    config = grid.method_config("CE+DRW", "smoke", seed=0)
    train_into(stores("cache"), config, epoch=5)
    assert carry_unfinished.main(["save"]) == 0
    (Path(carry_unfinished.cache_dir()) / "checkpoints" / config.run_id / "last.pt").unlink()  # the run finished
    record_path(config).write_text("{}")
    assert carry_unfinished.main(["save"]) == 0
    assert not (record_path(config).parent / "unfinished" / config.run_id).exists()


def test_a_damaged_snapshot_exits_2_and_carries_nothing(stores, capsys):
    config = grid.method_config("CE+DRW", "smoke", seed=0)
    folder = train_into(stores("cache"), config, epoch=12)
    (folder / "epoch_0010.pt").write_bytes(b"not a checkpoint")
    assert carry_unfinished.main(["save"]) == 2
    assert "epoch_0010.pt is damaged" in capsys.readouterr().err
    assert not (record_path(config).parent / "unfinished").exists()


def test_save_never_replaces_a_later_carried_state_and_a_damaged_run_blocks_no_other(stores, capsys):
    ahead, damaged, fresh = (grid.method_config("CE+DRW", "smoke", seed=s) for s in range(3))
    train_into(stores("machine-y"), ahead, epoch=150)
    assert carry_unfinished.main(["save"]) == 0
    cache = stores("machine-x")
    train_into(cache, ahead, epoch=100)  # resumed here from an older cache before anyone restored
    (train_into(cache, damaged, epoch=9) / "last.pt").write_bytes(b"half written")
    train_into(cache, fresh, epoch=3)
    assert carry_unfinished.main(["save"]) == 2
    out, err = capsys.readouterr()
    assert f"kept {ahead.run_id}: carried at epoch 150, the cache at 100" in out
    assert f"carried {fresh.run_id} at epoch 3" in out and f"{damaged.run_id}: checkpoint" in err
    unfinished = record_path(ahead).parent / "unfinished"
    assert load_verified(unfinished / ahead.run_id / "last.pt")["epoch"] == 150
    assert sorted(p.name for p in unfinished.iterdir()) == sorted([ahead.run_id, fresh.run_id])


def test_a_worker_stopped_between_its_two_renames_is_carried_and_left_as_it_was(stores):
    config = grid.method_config("CE+DRW", "smoke", seed=0)
    folder = train_into(stores("cache"), config, epoch=20)
    (folder / "last.pt.sha256").rename(folder / "last.pt.sha256.pending")  # save_verified's last rename not done
    assert carry_unfinished.main(["save"]) == 0
    assert (folder / "last.pt.sha256.pending").exists() and not (folder / "last.pt.sha256").exists()
    assert load_verified(record_path(config).parent / "unfinished" / config.run_id / "last.pt")["epoch"] == 20


def test_restore_refuses_a_run_a_worker_holds(stores, capsys):
    from saddle.runs import run_lock
    config = grid.method_config("CE+DRW", "smoke", seed=0)
    train_into(stores("old"), config, epoch=40)
    assert carry_unfinished.main(["save"]) == 0
    stores("new")
    with run_lock(config.run_id):
        assert carry_unfinished.main(["restore"]) == 2
    assert "being trained by another process" in capsys.readouterr().err
    assert not (Path(carry_unfinished.cache_dir()) / "checkpoints" / config.run_id).exists()
