"""scripts/retrain_dirty.py: a retrained record replaces a dirty one, saying what came out identical; a committed
snapshot is replaced only where its tensors differ; the dirty analyses the chapters read are recomputed; an old
record is never passed off as retrained; bad input exits 2."""
import os
import sys
from pathlib import Path

import pytest
import torch

from saddle import grid
from saddle.checkpoints import save_verified
from saddle.results import find_record, record_path, write_record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import retrain_dirty  # noqa: E402


def record(config, commit, acc, retrained=False):
    provenance = {"git_commit": commit, "date": "2026-11-29", "wall_time_s": 1.0,
                  "device": f"cpu (x86_64, {1 if retrained else 2} threads)"}
    if retrained:  # what the retrain step notes, once the run and its snapshots are all in the staging folder
        provenance["retrained_from"] = {"git_commit": "abc-dirty"}
    return {"id": config.run_id, "status": "done", "config": config.to_dict(),
            "metrics": {"final": {"acc": acc}, "best": {"acc": acc}}, "curves": [{"epoch": 1, "test": acc}],
            "checkpoint_epochs": [10], "provenance": provenance}


def snapshot(root, config, value):
    folder = root / "smoke" / "checkpoints" / config.run_id
    folder.mkdir(parents=True, exist_ok=True)
    save_verified({"w": torch.zeros(2) + value}, folder / "epoch_0010.pt")
    return folder / "epoch_0010.pt"


def test_install_replaces_dirty_records_and_only_differing_snapshots(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    same, changed, clean, unfinished = (grid.method_config("CE+DRW", "smoke", seed=s) for s in range(4))
    staged = tmp_path / "staged"
    committed = {}
    for config, acc_old, acc_new in ((same, 70.0, 70.0), (changed, 70.0, 71.0), (unfinished, 70.0, 70.0)):
        write_record(record(config, "abc-dirty", acc_old), record_path(config))
        write_record(record(config, "def", acc_new, retrained=True), record_path(config, staged))
        committed[config] = snapshot(tmp_path / "results", config, 0.0)
        if config is not unfinished:  # killed before its snapshots were kept
            snapshot(staged, config, acc_new - acc_old)
    write_record(record(clean, "abc", 70.0), record_path(clean))
    untouched = committed[same].stat().st_mtime_ns

    assert len(retrain_dirty.install("smoke", staged)) == 2
    kept = find_record(same)["provenance"]
    assert kept["git_commit"] == "def" and kept["retrained_from"] == {
        "git_commit": "abc-dirty", "device": "cpu (x86_64, 2 threads)", "metrics_identical": True,
        "curves_identical": True, "differing_epochs": [], "snapshots_identical": True}
    assert committed[same].stat().st_mtime_ns == untouched  # same tensors: the committed file stays
    moved = find_record(changed)["provenance"]["retrained_from"]
    assert (moved["metrics_identical"], moved["snapshots_identical"], moved["differing_epochs"]) == (False, False, [10])
    assert torch.load(committed[changed], weights_only=True)["w"].tolist() == [1.0, 1.0]
    assert find_record(clean)["provenance"]["git_commit"] == "abc"  # never dirty: untouched
    assert [c for c, _ in retrain_dirty.dirty_configs("smoke")] == [unfinished]


def test_an_old_record_is_never_passed_off_as_retrained(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    config = grid.method_config("CE+DRW", "smoke")
    old = record(config, "abc-dirty", 70.0)
    write_record(old, record_path(config, tmp_path / "staged"))  # found there: nothing would train
    with pytest.raises(ValueError, match="is the old one"):
        retrain_dirty.retrain(config, old, tmp_path / "staged")


def test_dirty_analyses_are_recomputed_where_a_chapter_reads_them(tmp_path, monkeypatch):
    """--analyses drops the dirty analyses in a copy of results/ and runs each chapter plan there with an empty
    cache; --install puts the recomputed ones in place, saying whether they came out identical; one no plan reads
    is left and listed; the copy's dirty run record (the old one) is not taken for a retrained run."""
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    config = grid.method_config("CE+DRW", "smoke")
    write_record(record(config, "abc-dirty", 70.0), record_path(config))
    folder = tmp_path / "results" / "smoke" / "hessian"
    for name, commit in (("read", "abc-dirty"), ("unread", "abc-dirty"), ("clean", "abc")):
        write_record({"spectra": {"9": -1.0}, "provenance": {"git_commit": commit}}, folder / f"{name}.json")
    plans = []

    def run_plan(plan, scale, cache):  # what analyse.run writes: the plan's missing analyses, at a clean commit
        plans.append((plan, scale, cache))
        write_record({"spectra": {"9": -1.0}, "provenance": {"git_commit": "def"}},
                     Path(os.environ["SADDLE_RESULTS"]) / "smoke" / "hessian" / "read.json")

    unread = retrain_dirty.reanalyse("smoke", tmp_path / "staged", run_plan)
    assert [p for p, _, _ in plans] == ["chapter2", "chapter3", "chapter6", "chapter8"]
    assert plans[0][2] == tmp_path / "staged" / ".cache"
    assert [p.name for p in unread] == ["unread.json"]
    lines = retrain_dirty.install("smoke", tmp_path / "staged")
    assert lines == ["smoke/hessian/read.json: recomputed, identical: True, largest relative change 0.0e+00"]
    assert [p.name for p in retrain_dirty.dirty_analyses("smoke")] == ["unread.json"]
    assert find_record(config)["provenance"]["git_commit"] == "abc-dirty"  # the copy's own record: not installed


def test_largest_relative_change_reads_named_numbers_not_density_lists():
    old = {"spectra": {"9": {"lambda_min": -2.0, "weights": [[1e-9, 0.5]]}}, "loss": 0.5, "provenance": {"x": 1.0}}
    new = {"spectra": {"9": {"lambda_min": -2.002, "weights": [[5e-9, 0.5]]}}, "loss": 0.5, "provenance": {"x": 9.0}}
    assert retrain_dirty.largest_relative_change(old, new) == pytest.approx(0.002 / 2.002)
    assert retrain_dirty.largest_relative_change(old, old) == 0.0


@pytest.mark.parametrize("argv, message", [
    (["--scale", "huge", "--into", "x"], "--scale 'huge': accepted"),
    (["--into", "results/x", "--install"], "outside"),
    (["--into", "no-such-folder", "--install"], "no such folder"),
    (["--into", "x", "--part", "2/2"], "--part '2/2'")])
def test_bad_input_exits_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    with pytest.raises(SystemExit) as exit_:
        retrain_dirty.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_same_tensors_compares_values_not_bytes():
    assert retrain_dirty.same_tensors({"a": [torch.ones(2), 3]}, {"a": [torch.ones(2), 3]})
    assert not retrain_dirty.same_tensors({"a": torch.ones(2)}, {"a": torch.zeros(2)})
    assert not retrain_dirty.same_tensors({"a": 1}, {"b": 1})
