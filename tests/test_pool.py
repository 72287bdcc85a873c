"""Training on every core: a pool of workers trains each run once, with the records of a single runner; the grid's
commands run as they are under GNU parallel; costs come from this machine's measurement."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_fashion_mnist
from saddle import RunConfig, costs, runner
from saddle.results import load_records

SRC = str(Path(__file__).resolve().parents[1] / "src")


def tiny(seed):
    return RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=2, seed=seed)


def strip(record):
    return {k: v for k, v in record.items() if k != "provenance"}


def by_id(records):
    return {r["id"]: strip(r) for r in records}


@pytest.mark.slow  # spawns two training processes
def test_a_pool_of_two_trains_each_run_once_with_a_single_runners_records(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    configs = [tiny(s) for s in range(3)]
    counts = runner.train_pool({"configs": [c.to_dict() for c in configs]}, 2, root=tmp_path / "pool")
    assert counts["trained"] == 3 and not counts["failed"]
    pooled = load_records("smoke", tmp_path / "pool")
    assert len(pooled) == 3 and {r["provenance"]["threads"] for r in pooled} == {1}
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner.run_missing(configs, root=tmp_path / "alone", progress=False)
    finally:
        torch.set_num_threads(threads)
    assert by_id(pooled) == by_id(load_records("smoke", tmp_path / "alone"))
    assert "runs on 2 workers" in capsys.readouterr().err  # the overall bar


@needs_fashion_mnist
@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel not installed (apt-get install parallel)")
@pytest.mark.slow  # trains eight smoke runs in `python -m saddle` processes
def test_grid_commands_run_as_they_are_under_gnu_parallel(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC, "SADDLE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "saddle", "grid", "table4", "--scale", "smoke", "--seeds", "0"]
    listed = subprocess.run([*base, "--commands", "--out", str(tmp_path / "parallel")], capture_output=True,
                            text=True, env=env, check=True).stdout.replace("python -m", f"{sys.executable} -m")
    assert len(listed.splitlines()) == 4 and all(" --threads 1 " in line for line in listed.splitlines())
    subprocess.run(["parallel", "-j", "2", "--halt", "now,fail=1"], input=listed, text=True, env=env, check=True,
                   capture_output=True)
    subprocess.run([*base, "--out", str(tmp_path / "runner"), "--quiet"], env=env, check=True, capture_output=True)
    assert by_id(load_records("smoke", tmp_path / "parallel")) == by_id(load_records("smoke", tmp_path / "runner"))
    again = subprocess.run([*base, "--commands", "--out", str(tmp_path / "parallel")], capture_output=True,
                           text=True, env=env, check=True).stdout
    assert again == ""  # nothing left to train


def test_the_plan_puts_the_longest_runs_first_on_the_least_loaded_worker(monkeypatch):
    minutes = {0: 10.0, 1: 8.0, 2: 6.0, 3: 4.0}
    monkeypatch.setattr(costs, "run_minutes", lambda c, **kw: minutes[c.seed])
    configs = [tiny(s) for s in minutes]
    one, two = costs.plan(configs, 1), costs.plan(configs, 2)
    assert one["total"] == one["wall"] == 28.0
    assert two["total"] == 28.0 and two["wall"] == 14.0  # 10 + 4 | 8 + 6
    assert costs.plan_text(two) == ("4 runs, 4-10 minutes each on one thread (measured here): about 14 minutes of "
                                    "wall time on 2 workers")
    assert costs.plan_text(costs.plan([], 2)) == "nothing to train"


def test_an_epoch_is_measured_once_per_model_and_scaled_by_the_epochs(monkeypatch):
    from saddle import train
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=60, imbalance=10, epochs=3, optimizer="sam", rho=0.1)
    costs._CACHE.clear()
    seconds = costs.seconds_per_epoch(config)
    assert seconds > 0
    monkeypatch.setattr(train, "train_epoch", lambda *a, **k: pytest.fail("measured twice"))
    longer = RunConfig.at_scale("smoke", dataset="synthetic", n_max=60, imbalance=10, epochs=30, optimizer="sam", rho=0.2)
    assert costs.run_minutes(longer) == pytest.approx(costs.seconds_per_epoch(longer) * 30 / 60)
