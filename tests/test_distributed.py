"""The large-scale path: split files, re-indexing, groups, and DDP training under torchrun with gloo processes."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from saddle import splits

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_lt")
    return root, splits.write_synthetic_tree(root)


def test_classes_reindexed_by_training_count_with_paper_and_shot_groups(tree):
    root, by_label = tree
    data = splits.load("imagenet-lt", root, image_size=32)
    assert data.counts == sorted(by_label, reverse=True)
    assert [by_label[label] for label in data.class_labels] == data.counts
    assert [len(data.groups[g]) for g in ("head", "mid", "tail")] == [8, 9, 3]  # 390/445/165 of 1000, of 20
    assert all(data.counts[c] > 100 for c in data.shots["many"]) and data.shots["many"] == []
    assert all(data.counts[c] < 20 for c in data.shots["few"]) and data.shots["few"]
    x, y = data.train[0]
    assert x.shape == (3, 32, 32) and 0 <= y < 20
    assert sorted(label for _, label in data.test.items) == sorted(list(range(20)) * 2)


@pytest.mark.parametrize("line,message", [
    ("train/n0000/0.jpg", "ImageNet_LT_train.txt:3: expected 'relative/path label'"),
    ("train/n0000/0.jpg seven", "ImageNet_LT_train.txt:3: expected 'relative/path label'"),
    ("train/n0000/missing.jpg 0", "ImageNet_LT_train.txt:3: image train/n0000/missing.jpg not found"),
])
def test_bad_train_line_names_file_and_line(tree, tmp_path, line, message):
    root, _ = tree
    bad = tmp_path / "splits"
    bad.mkdir()
    lines = (root / "ImageNet_LT_train.txt").read_text().splitlines()
    lines.insert(2, line)
    (bad / "ImageNet_LT_train.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(root / "ImageNet_LT_test.txt", bad)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        splits.load("imagenet-lt", root, split_dir=bad)


def test_unknown_test_label_and_missing_split_file(tree, tmp_path):
    root, _ = tree
    shutil.copy(root / "ImageNet_LT_train.txt", tmp_path)
    (tmp_path / "ImageNet_LT_test.txt").write_text("test/n0000/0.jpg 0\ntrain/n0000/0.jpg 977\n")
    with pytest.raises(ValueError, match="ImageNet_LT_test.txt:2: label 977 has no training image"):
        splits.load("imagenet-lt", root, split_dir=tmp_path, check_files=False)
    with pytest.raises(FileNotFoundError, match="iNaturalist18_train.txt not found"):
        splits.load("inat2018", root)
    with pytest.raises(ValueError, match="unknown large data set 'places-lt'; accepted: imagenet-lt, inat2018"):
        splits.load("places-lt", root)


def test_large_recipe():
    from saddle.config import RunConfig
    imagenet = RunConfig.at_scale("large", loss="ldam", drw=True)
    assert (imagenet.model, imagenet.epochs, imagenet.batch_size, imagenet.lr, imagenet.lr_schedule,
            imagenet.weight_decay, imagenet.max_margin, imagenet.drw_epoch) == \
        ("resnet50", 90, 256, 0.2, "cosine", 2e-4, 0.3, 60)
    inat = RunConfig.at_scale("large", dataset="inat2018", loss="ldam")
    assert (inat.lr, inat.weight_decay) == (0.1, 1e-4)
    assert RunConfig.at_scale("large", epochs=9).drw_epoch == 6
    assert "drw_epoch" not in RunConfig.at_scale("cpu").to_dict()  # earlier run ids unchanged


def _torchrun(nproc, *args, env=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"), **(env or {}))
    out = subprocess.run(TORCHRUN + [f"--nproc_per_node={nproc}", *map(str, args)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow  # trains under torchrun: two gloo processes, twice
def test_two_gloo_processes_equal_one_process_and_resume_with_another_count(tree, tmp_path):
    """Same global batch: two replicas (DDP averaging both SAM passes) end with one process's weights; a run
    stopped after epoch 1 by one process and resumed by two ends there too."""
    sys.path.insert(0, str(ROOT / "tests"))
    import ddp_worker

    root, _ = tree
    ddp_worker.train(root, tmp_path / "one", tmp_path / "one.pt", 2)
    _torchrun(2, ROOT / "tests" / "ddp_worker.py", root, tmp_path / "two", tmp_path / "two.pt", 2)
    ddp_worker.train(root, tmp_path / "resumed", tmp_path / "unused.pt", 2, stop_after=1)
    assert (tmp_path / "resumed" / "last.pt").exists()
    _torchrun(2, ROOT / "tests" / "ddp_worker.py", root, tmp_path / "resumed", tmp_path / "resumed.pt", 2)
    one = torch.load(tmp_path / "one.pt")
    for other in ("two.pt", "resumed.pt"):
        theirs = torch.load(tmp_path / other)
        for name, weight in one.items():
            assert torch.allclose(weight, theirs[name], atol=1e-5), (other, name, (weight - theirs[name]).abs().max())


@pytest.mark.slow  # trains a ResNet-50 under torchrun on two processes
def test_torchrun_cli_trains_resnet50_and_rank_zero_writes_one_record(tree, tmp_path):
    root, _ = tree
    out = _torchrun(2, "-m", "saddle", "train", "--scale", "large", "--dataset", "imagenet-lt", "--data-root", root,
                    "--drw", "--epochs", "2", "--batch-size", "32", "--image-size", "16", "--device", "cpu",
                    "--workers", "0", "--out", tmp_path / "results", "--quiet",
                    env={"SADDLE_CACHE": str(tmp_path / "cache")})
    records = list((tmp_path / "results").rglob("*.json"))
    assert len(records) == 1 and out.stdout.count("CE+DRW imagenet-lt") == 1
    record = json.loads(records[0].read_text())
    assert record["status"] == "complete" and record["config"]["model"] == "resnet50"
    assert record["provenance"]["world_size"] == 2 and record["provenance"]["backend"] == "gloo"
    assert set(record["groups"]) == {"head", "mid", "tail", "many", "medium", "few"}
    assert [row["drw"] for row in record["curves"]] == [False, True]  # DRW from epoch 60 of 90 = 1 of 2
    assert record["metrics"]["final"]["epoch"] == 2 and len(record["metrics"]["final"]["per_class"]) == 20


def test_setup_device_choice(monkeypatch, capsys):
    from saddle import distributed
    assert distributed.setup("cpu") == distributed.setup(torch.device("cpu")) == (0, 1, torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown device 'gpu'; accepted: cpu, cuda"):
        distributed.setup("gpu")
    # two local processes on a one-GPU host: both on the CPU (NCCL cannot share a GPU), said once by local rank 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert distributed.setup() == (0, 1, torch.device("cpu"))
    assert "2 processes on 1 GPU(s): training on the CPU over gloo" in capsys.readouterr().err
    with pytest.raises(ValueError, match="device 'cuda:0' needs one GPU per local process; this machine has 1 for 2"):
        distributed.setup("cuda:0")
