"""Every probe of the adversarial pass (issue 31, items 3-11): bad input exits 2 with the option, the value and what
is accepted, before any lock or folder is taken; damaged files are named, never trusted, and never stop unrelated
work; a kill at any point loses nothing finished."""
import errno
import json
import os

import pytest
import torch

from saddle import RunConfig, checkpoints, runner, runs
from saddle.cli import main
from saddle.results import RecordError, load_records, locate_record, read_record, write_record


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    return tmp_path


def nothing_taken(root):
    """No lock, no record, no results folder left behind."""
    return not (root / "cache" / "locks").exists() and not list(root.rglob("*.json")) \
        and not (root / "out" / "smoke").exists()


@pytest.mark.parametrize("args, message", [
    (["--device", "nonsense"], "--device 'nonsense': expected cpu, cuda or cuda:N"),
    (["--device", "cuda:7"], "--device 'cuda:7': this machine has"),
    (["--precision", "fp64"], "--precision 'fp64': expected one of fp32, bf16"),
    (["--compile", "nope"], "--compile 'nope': expected one of"),
    (["--n-max", "100000"], "--n-max 100000: fashion-mnist has 6000 training images per class"),
    (["--imbalance", "1e6"], "--imbalance 1e+06: with n_max 100 the rarest class would have no image"),
    (["--optimizer", ""], "--optimizer '': expected one of"),
    (["--sam", "--rho-steps", "0.1,0.2"], "--rho-steps '0.1,0.2': expected 4 comma-separated radii"),
    (["--sam", "--rho-steps", "1e300,1,1,1"], "--rho-steps '1e300,1,1,1': expected 4"),
    (["--sam", "--rho-steps", "abc"], "--rho-steps 'abc': expected 4"),
    (["--rho-steps", "0.1,0.1,0.5,0.5"], "--rho-steps is a setting of SAM-like optimizers"),
    (["--out", ""], "--out '': expected a folder"),
    (["--dataset", "imagenet-lt", "--scale", "large"], "--split-dir None: imagenet-lt reads its split files"),
])
def test_bad_train_options_exit_2_before_any_lock_or_folder(args, message, isolated, capsys):
    out = [] if "--out" in args else ["--out", str(isolated / "out")]
    assert main(["train", "--scale", "smoke", "--quiet", *out, *args]) == 2
    assert message in capsys.readouterr().err
    assert nothing_taken(isolated)


def test_bad_runtime_options_exit_2_even_when_the_record_exists(isolated, capsys):
    config = RunConfig.at_scale("smoke")
    write_record({"id": config.run_id, "status": "complete", "config": config.to_dict(), "metrics": {"final": {}},
                  "curves": [], "provenance": {"wall_time_s": 1}}, isolated / "out" / "smoke" /
                 f"{config.run_id}.json")
    for option, value in (("--precision", "fp64"), ("--compile", "nope"), ("--device", "nonsense")):
        assert main(["train", "--scale", "smoke", "--out", str(isolated / "out"), option, value]) == 2
        assert f"{option} '{value}'" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads 0: expected an integer >= 1"),
    (["--threads", "-3"], "--threads -3: expected an integer >= 1"),
    (["--precision", "fp64"], "--precision 'fp64'"),
    (["--compile", "nope"], "--compile 'nope'"),
    (["--device", "nonsense"], "--device 'nonsense'"),
    (["--methods", "CE+PGD+SAM"], "--methods CE+PGD+SAM: no run of table1 has this method"),
    (["--seeds", "१"], "--seeds '१': expected comma-separated integers"),
    (["--keep-snapshots", "nonsense"], "--keep-snapshots 'nonsense'"),
])
def test_bad_grid_options_exit_2_before_any_run(args, message, isolated, capsys):
    assert main(["grid", "table1", "--scale", "smoke", "--out", str(isolated / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert nothing_taken(isolated)


@pytest.mark.parametrize("args, message", [
    (["--run", "*"], "--run '*': expected a run id"),
    (["--run", "fashion-*"], "expected a run id"),
    (["--run", "/etc/passwd"], "--run '/etc/passwd': expected a run id or the path of a record inside"),
    (["--run", ""], "--run '': expected a run id"),
    (["--run", "x", "--classes", "abc"], "--classes 'abc': expected 'all'"),
    (["--run", "x", "--n-v", "0"], "--n-v 0: expected an integer >= 1"),
    (["--run", "x", "--max-per-class", "-1"], "--max-per-class -1: expected an integer >= 1"),
    (["--run", "x", "--out", ""], "--out '': expected a folder"),
    (["--run", "x", "--images", "val"], "--images 'val': expected one of train, test"),
    (["--run", "x", "--probe-seed", "-2"], "--probe-seed must be an integer in [0, 2147483647], got -2"),
])
def test_bad_hessian_options_exit_2_naming_the_option(args, message, isolated, capsys):
    bench = isolated / "results" / "bench"
    bench.mkdir(parents=True)
    (bench / "gpu-step-benchmark.json").write_text("{}")
    assert main(["hessian", "--epoch", "4", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "delete it" not in err
    assert (bench / "gpu-step-benchmark.json").exists()


def test_run_ids_are_looked_up_not_globbed(isolated):
    store = isolated / "results"
    (store / "smoke").mkdir(parents=True)
    (store / "smoke" / "abc-1.json").write_text("{}")
    assert locate_record("abc-1", store) == store / "smoke" / "abc-1.json"
    with pytest.raises(FileNotFoundError):
        locate_record("abc", store)
    with pytest.raises(ValueError, match="expected a run id"):
        locate_record("abc-?", store)


def test_a_record_without_provenance_or_final_metrics_is_named_and_skipped(isolated):
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=1)
    folder = isolated / "out" / "smoke"
    folder.mkdir(parents=True)
    bad = folder / "other-run.json"
    bad.write_text(json.dumps({"id": "other", "status": "complete", "config": config.to_dict(), "metrics": {},
                               "curves": [], "provenance": {"wall_time_s": 3}}))
    with pytest.raises(RecordError, match=f"record {bad} has no valid metrics.final"):
        read_record(bad)
    del_prov = folder / "no-prov.json"
    del_prov.write_text(json.dumps({"id": "x", "status": "complete", "config": {}, "metrics": {"final": {}},
                                    "curves": []}))
    with pytest.raises(RecordError, match="lacks the field.*provenance"):
        read_record(del_prov)
    with pytest.warns(UserWarning, match=f"skipped: record {bad}"):
        assert load_records("smoke", isolated / "out") == []
    counts = runner.run_missing([config], root=isolated / "out", progress=False)  # bad records never stop a run
    assert counts["trained"] == 1 and not counts["failed"]


def test_a_kill_between_the_two_renames_keeps_the_checkpoint_valid(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoints.save_verified({"epoch": 1}, path)
    real_replace = os.replace

    def killed_after_the_file(src, dst):
        real_replace(src, dst)
        if str(dst) == str(path):
            raise KeyboardInterrupt  # the process dies here: the file renamed, its digest not yet
    monkeypatch.setattr(os, "replace", killed_after_the_file)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_verified({"epoch": 2}, path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert checkpoints.load_verified(path)["epoch"] == 2  # the pending digest vouches for the new file
    assert not list(tmp_path.glob("*.pending")) and not list(tmp_path.glob("*.damaged"))


def test_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / "last.pt.999999999.tmp"
    dead_sum = tmp_path / "last.pt.999999999.tmp.sha256"
    live = tmp_path / f"last.pt.{os.getpid()}.tmp"
    for p in (dead, dead_sum, live):
        p.write_text("x")
    assert sorted(checkpoints.remove_stale_temporaries(tmp_path)) == sorted([dead, dead_sum])
    assert live.exists()


def test_a_snapshot_without_its_checksum_is_refused(tmp_path):
    path = tmp_path / "epoch_0004.pt"
    checkpoints.save_verified({"model": {"w": torch.ones(2)}}, path)
    checkpoints.checksum_path(path).unlink()
    with pytest.raises(checkpoints.DamagedCheckpointError, match=f"checkpoint {path} has no SHA-256"):
        checkpoints.load_verified(path)


def test_a_checksum_file_that_is_not_text_is_named(tmp_path):
    path = tmp_path / "epoch_0004.pt"
    checkpoints.save_verified({"model": {"w": torch.ones(2)}}, path)
    checkpoints.checksum_path(path).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(checkpoints.DamagedCheckpointError, match=f"{path.name}.sha256 cannot be read"):
        checkpoints.load_verified(path)


def test_a_full_disk_exits_2_and_says_the_run_is_kept(isolated, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "results/x.json")
    monkeypatch.setattr(runs, "read_or_train", full)
    monkeypatch.setattr("saddle.cli._train", lambda args: full())
    assert main(["train", "--scale", "smoke", "--out", str(isolated / "out")]) == 2
    err = capsys.readouterr().err
    assert "no space left" in err and "cache/" in err and "re-run" in err


def test_no_download_into_a_given_data_root(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))  # its own lock: another file may train this run
    root = tmp_path / "data"
    root.mkdir()
    assert main(["train", "--scale", "smoke", "--data-root", str(root), "--out", str(tmp_path / "out")]) == 2
    assert "lacks" in capsys.readouterr().err
    assert list(root.iterdir()) == []  # no FashionMNIST/raw/ left behind
