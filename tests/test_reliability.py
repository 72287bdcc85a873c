"""Nothing finished is lost, no damaged or crafted file is trusted, locks cannot race, bad records are named."""
import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import interrupted_run, needs_fashion_mnist
from saddle import RunConfig, checkpoints, grid, runner, runs, train
from saddle.cli import main
from saddle.results import (RecordError, checkpoint_dir, find_record, load_records, read_only,
                            read_record, record_path, write_record)

SRC = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src")


def tiny(**kw):
    return RunConfig.at_scale("smoke", **{**dict(dataset="synthetic", n_max=40, imbalance=10, epochs=2), **kw})


def strip(record):
    return {k: v for k, v in record.items() if k != "provenance"}


def test_a_record_that_cannot_be_written_keeps_its_checkpoint(tmp_path, monkeypatch):
    """The trainer leaves last.pt for get_or_run, which removes it only after the record is on disk; the re-run
    then resumes from the last epoch instead of training again."""
    config = tiny()
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))

    def refuse(record, path):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(runs, "write_record", refuse)
    with pytest.raises(OSError, match="No space left"):
        runs.get_or_run(config, root=tmp_path, progress=False)
    last = checkpoint_dir(config) / "last.pt"
    assert last.exists() and find_record(config, tmp_path) is None
    monkeypatch.undo()
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    record = runs.get_or_run(config, root=tmp_path, progress=False)
    assert record["provenance"]["resumed_from_epoch"] == config.epochs and not last.exists()


def test_an_unwritable_results_folder_fails_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "file").write_text("")
    started = []
    monkeypatch.setattr(runs, "_trainer", lambda config: started.append(config))
    assert main(["train", "--scale", "smoke", "--dataset", "synthetic", "--out", str(tmp_path / "file" / "out")]) == 2
    assert "cannot write records to" in capsys.readouterr().err and not started


def test_damaged_last_checkpoint_is_set_aside_and_the_run_restarts(tmp_path):
    config = tiny(epochs=3)
    whole = train.run(config, progress=False)
    interrupted_run(config, tmp_path, after=2)
    last = tmp_path / "last.pt"
    raw = bytearray(last.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 400):  # 400 flipped bytes: torch's zip reader would not notice
        raw[i] ^= 0xFF
    last.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="is damaged: its SHA-256 .* restarting the run from epoch 0"):
        again = train.run(config, progress=False, checkpoint_dir=tmp_path)
    assert (tmp_path / "last.pt.damaged").exists() and again["provenance"]["resumed_from_epoch"] is None
    assert strip(again) == strip(whole)


def test_a_crafted_checkpoint_runs_no_code(tmp_path):
    """A pickle that would run a command when unpickled is refused by weights_only loading."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    torch.save({"run_id": "x", "model": Payload()}, tmp_path / "last.pt")
    with pytest.raises(checkpoints.DamagedCheckpointError, match="has no SHA-256 beside it"):
        checkpoints.load_verified(tmp_path / "last.pt")  # no checksum: refused before reading
    # a crafter who also writes the matching checksum still meets weights-only loading
    (tmp_path / "last.pt.sha256").write_text(checkpoints.file_sha256(tmp_path / "last.pt") + "  last.pt\n")
    with pytest.raises(checkpoints.DamagedCheckpointError, match="cannot be read as a weights-only checkpoint"):
        checkpoints.load_verified(tmp_path / "last.pt")
    assert not marker.exists()


def test_snapshot_is_written_before_last_moves_on_and_a_lost_one_is_rewritten(tmp_path, monkeypatch):
    config = tiny(epochs=4)  # snapshots at epochs 1, 3, 4 (checkpoint_epochs(4))
    order = []
    real = checkpoints.save_verified
    monkeypatch.setattr(checkpoints, "save_verified", lambda obj, path: (order.append(path.name), real(obj, path)))

    def stop(epoch, row):
        if epoch == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train.run(config, progress=False, checkpoint_dir=tmp_path, on_epoch_end=stop)
    assert order == ["epoch_0001.pt", "last.pt", "last.pt", "epoch_0003.pt", "last.pt"]  # each snapshot first
    (tmp_path / "epoch_0003.pt").unlink()  # as a kill between the two writes of the old order left it
    model = train.build_model(config, train.load_data(config))
    optimizer = train.build_optimizer(config, model)
    generator = torch.Generator().manual_seed(0)
    epoch, _ = checkpoints.resume_state(tmp_path, config, model, optimizer, generator, keep={1, 3, 4})
    assert epoch == 3 and checkpoints.load_verified(tmp_path / "epoch_0003.pt")["epoch"] == 3


LOCK_HOLDER = """
import sys, time
sys.path.insert(0, {src!r})
from saddle import runs
with runs.run_lock({run_id!r}):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lock_dies_with_its_process(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER.format(src=SRC, run_id="run-a")],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "SADDLE_CACHE": str(tmp_path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(runs.RunLockedError, match="run-a is being trained by another process"):
            with runs.run_lock("run-a"):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with runs.run_lock("run-a"):  # no stale lock to take over: the kernel dropped it
        pass


@pytest.mark.slow  # a lock-holding process, then two runs (15 s of CPU measured)
def test_the_grid_runner_waits_for_a_held_run_and_takes_it_over_when_its_owner_dies(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = [tiny(epochs=1, seed=s) for s in (0, 1)]
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER.format(src=SRC, run_id=configs[0].run_id)],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "SADDLE_CACHE": str(tmp_path / "cache")})
    assert holder.stdout.readline().strip() == "held"
    polls = []

    def kill_holder(seconds):
        polls.append(seconds)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    monkeypatch.setattr(runner.time, "sleep", kill_holder)
    counts = runner.run_missing(configs, root=tmp_path, progress=False, poll_s=0.01)
    assert counts["trained"] == 2 and not counts["failed"] and polls == [0.01]
    assert all(find_record(c, tmp_path) for c in configs)


def test_the_grid_runner_without_wait_trains_the_rest_and_leaves_a_held_run_to_its_owner(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = [tiny(epochs=1, seed=s) for s in (0, 1)]
    monkeypatch.setattr(runner.time, "sleep", lambda s: pytest.fail("a runner without wait waited"))
    with runs.run_lock(configs[0].run_id):  # flock: a second open file of this process conflicts like another's
        counts = runner.run_missing(configs, root=tmp_path, progress=False, wait=False)
    assert counts["trained"] == 1 and counts["held"] == [configs[0].run_id] and not counts["failed"]
    assert find_record(configs[0], tmp_path) is None and find_record(configs[1], tmp_path) is not None


RUNNER = """
import sys
sys.path.insert(0, {src!r})
from saddle import RunConfig, runner
configs = [RunConfig.at_scale("smoke", dataset="synthetic", n_max=20, imbalance=10, epochs=1, seed=s) for s in range(6)]
print(runner.run_missing(configs, root={root!r}, progress=False, poll_s=0.2)["trained"])
"""


@pytest.mark.slow  # three runner processes train six runs
def test_many_runners_never_train_one_run_twice(tmp_path):
    env = {**os.environ, "SADDLE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER.format(src=SRC, root=str(tmp_path))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(int(out.strip()) for out, _ in outs) == 6 == len(list((tmp_path / "smoke").glob("*.json")))


def test_bad_records_are_named_and_skipped(tmp_path):
    config = tiny()
    good = write_record({"id": "g", "status": "complete", "config": tiny(seed=1).to_dict(), "metrics": {"final": {}},
                         "curves": [], "provenance": {"wall_time_s": 1.0}}, tmp_path / "smoke" / "good.json")
    path = record_path(config, tmp_path)
    path.write_text('{"id": "x", "config": {"dataset": "synthe')
    with pytest.raises(RecordError, match=f"record {path} is not valid JSON"):
        read_record(path)
    with pytest.warns(UserWarning, match=f"skipped: record {path}"):
        assert [r["id"] for r in load_records("smoke", tmp_path)] == ["g"]
    path.write_text(json.dumps({"id": "x", "status": "complete", "curves": []}))
    with pytest.raises(RecordError, match="lacks the field.*config, metrics"):
        read_record(path)
    with pytest.warns(UserWarning, match="skipped"):
        assert runner.records([config], root=tmp_path) == {config.run_id: None}
    assert good.exists()


def test_records_are_strict_json(tmp_path):
    path = write_record({"loss": float("nan"), "curve": [1.0, float("inf")]}, tmp_path / "r.json")
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c)) == {"loss": None, "curve": [1.0, None]}


@pytest.mark.parametrize("value,on", [("1", True), ("true", True), ("YES", True), ("0", False), ("false", False),
                                      ("no", False), ("", False)])
def test_read_only_values(value, on, monkeypatch):
    monkeypatch.setenv("SADDLE_READ_ONLY", value)
    assert read_only() is on


def test_read_only_typo_and_missing_record_name_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SADDLE_READ_ONLY", "ture")
    with pytest.raises(ValueError, match="SADDLE_READ_ONLY='ture'; accepted: 1, true, yes"):
        read_only()
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    assert main(["train", "--scale", "smoke", "--drw", "--sam", "--rho", "0.3", "--seed", "2", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "SADDLE_READ_ONLY is set; create it with: python -m saddle train --scale smoke --loss ce --drw " \
           "--optimizer sam --rho 0.3 --imbalance 100 --profile exp --seed 2" in err and "Traceback" not in err


def test_train_command_recreates_the_config():
    from saddle.cli import config_from_args, _train_parser
    import argparse
    parser = argparse.ArgumentParser()
    _train_parser(parser.add_subparsers(dest="command"))
    for config in (grid.protocol_config("VS+SAM", "cpu", seed=3, rho=0.2),
                   grid.protocol_config("CE+DRW", "cpu", seed=1, class_order="natural"),
                   grid.method_config("LDAM+DRW+SAM", "paper", dataset="cifar100")):
        command = runs.train_command(config)
        assert command.startswith("python -m saddle train")
        assert config_from_args(parser.parse_args(command.split()[3:])) == config
    odd = tiny(lpf_radius=0.5, optimizer="lpf")
    assert runs.train_command(odd).startswith("saddle.runs.get_or_run(")
    for config in grid.large_table("inat2018") + grid.large_table("imagenet-lt"):  # chapter 5's torchrun lines
        command = runs.torchrun_command(config, gpus=4, data_root=f"/data/{config.dataset}")
        assert command.startswith("torchrun --nproc_per_node=4 -m saddle train --scale large")
        assert config_from_args(parser.parse_args(command.split()[4:])) == config


def test_list_into_a_closed_pipe_exits_quietly():
    out = subprocess.run(f"{sys.executable} -m saddle grid table1 tables7-8 --scale paper --list | head -1",
                         shell=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert out.stdout.startswith("missing") and "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


@needs_fashion_mnist
def test_a_corrupt_data_file_exits_2_naming_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))  # its own lock: another file may train this run
    import shutil
    from saddle.sources import FASHION_MNIST_DIR, FASHION_MNIST_FILES
    for f in (f for pair in FASHION_MNIST_FILES.values() for f in pair):
        shutil.copy(FASHION_MNIST_DIR / f, tmp_path / f)
    raw = bytearray((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    raw[20:60] = bytes(40)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(raw))
    assert main(["train", "--scale", "smoke", "--data-root", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "t10k-labels-idx1-ubyte.gz" in capsys.readouterr().err


def test_a_missing_data_root_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))  # its own lock: another file may train this run
    root = tmp_path / "typo"
    assert main(["train", "--scale", "smoke", "--data-root", str(root), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err and not root.exists()
