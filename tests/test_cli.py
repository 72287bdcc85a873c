import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_fashion_mnist
from saddle.cli import main


@pytest.mark.parametrize("args,message", [
    (["--dataset", "mnist"], "unknown dataset 'mnist'; accepted: fashion-mnist, cifar10, cifar10-jpeg, cifar100, synthetic"),
    (["--loss", "focal"], "unknown loss 'focal'; accepted: ce, ldam, vs"),
    (["--optimizer", "adam"], "--optimizer 'adam': expected one of sgd, sam, pgd, lpf"),
    (["--optimizer", "pgd", "--rho", "0.5"], "--rho is a setting of SAM-like optimizers"),
    (["--profile", "linear"], "unknown profile 'linear'; accepted: exp, step"),
    (["--sam", "--rho", "-0.1"], "rho must be a finite number in [0, 100], got -0.1"),
    (["--sam", "--rho", "nan"], "rho must be a finite number in [0, 100], got nan"),
    (["--sam", "--rho", "inf"], "rho must be a finite number in [0, 100], got inf"),
    (["--sam", "--rho-steps", "0.05,-0.1,0.5,0.5"], "--rho-steps '0.05,-0.1,0.5,0.5': expected 4 comma-separated"),
    (["--imbalance", "0.5"], "imbalance must be a finite number in [1, 1e+06], got 0.5"),
    (["--imbalance", "inf"], "imbalance must be a finite number in [1, 1e+06], got inf"),
    (["--epochs", "0"], "epochs must be an integer in [1, 100000], got 0"),
    (["--n-max", "0"], "n_max must be an integer in [1, 10000000], got 0"),
    (["--seed", "-1"], "seed must be an integer in [0, 2147483647], got -1"),
    (["--subset-seed", "-2"], "subset_seed must be an integer in [0, 4294967295], got -2"),
    (["--val-per-class", "-5"], "val_per_class must be an integer in [0, 1000000], got -5"),
    (["--class-order", "random"], "unknown class_order 'random'; accepted: calibrated, natural"),
    (["--data-root", "/nonexistent/typo"], "/nonexistent/typo"),
    (["--scale", "huge"], "unknown scale 'huge'; accepted: smoke, cpu"),
    (["--dataset", "cifar10", "--data-root", "/nonexistent"], "--data-root"),
    (["--compile", "tensorrt"], "--compile 'tensorrt': expected one of inductor, aot_eager"),
])
def test_bad_input_exits_2_and_writes_nothing(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("saddle.sources._cifar_download", lambda *a: None)
    assert main(["train", "--scale", "smoke", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))


@needs_fashion_mnist
@pytest.mark.slow  # trains a smoke run in a `python -m saddle train` process
def test_train_prints_summary_and_record_path(tmp_path):
    out = subprocess.run([sys.executable, "-m", "saddle", "train", "--scale", "smoke", "--drw", "--sam", "--rho",
                          "0.5", "--out", str(tmp_path), "--quiet"], capture_output=True, text=True,
                         env={"SADDLE_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2].startswith("CE+DRW+SAM fashion-mnist seed 0: final acc")
    assert Path(lines[-1]).exists() and Path(lines[-1]).parent == tmp_path / "smoke"


def test_grid_lists_bf16_twins_as_runs_of_their_own(capsys):
    assert main(["grid", "cifar10-headline", "--scale", "cifar10-r32", "--seeds", "0", "--list"]) == 0
    fp32 = capsys.readouterr().out
    assert main(["grid", "cifar10-headline", "--scale", "cifar10-r32", "--seeds", "0", "--precision", "bf16",
                 "--list"]) == 0
    bf16 = capsys.readouterr().out
    run_id = re.compile(r"\S+-s\d+-\S*[0-9a-f]{10}")  # listed done or missing: which changes as the grid trains
    fp32_ids = [run_id.search(line).group() for line in fp32.splitlines() if line.startswith(("done", "missing"))]
    bf16_ids = [run_id.search(line).group() for line in bf16.splitlines() if line.startswith(("done", "missing"))]
    assert len(fp32_ids) == len(bf16_ids) == 2 and all("-bf16-" in i for i in bf16_ids)
    assert not set(fp32_ids) & set(bf16_ids)


def test_train_command_names_the_precision():
    from saddle.grid import method_config
    from saddle.runs import train_command
    config = method_config("CE+DRW", "cpu", precision="bf16")
    assert "--precision bf16" in train_command(config)
    assert "--precision" not in train_command(method_config("CE+DRW", "cpu"))
