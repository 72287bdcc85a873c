import json

import pytest
import torch

from conftest import interrupted_run, needs_fashion_mnist
from saddle import RunConfig, checkpoints, get_or_run, optim, train
from saddle.results import record_path


def tiny(**kw):
    settings = dict(dataset="synthetic", n_max=40, imbalance=10, epochs=3, eval_every=1)
    settings.update(kw)
    return RunConfig.at_scale("smoke", **settings)


def strip(record):
    """What must be identical between two runs of one config: everything but the provenance."""
    return {k: v for k, v in record.items() if k != "provenance"}


@pytest.mark.slow  # three SAM runs (6.4 s of one core measured)
def test_same_seed_same_record():
    config = tiny(loss="ldam", drw=True, optimizer="sam", rho=0.5)
    a, b = train.run(config, progress=False), train.run(config, progress=False)
    assert strip(a) == strip(b)
    assert strip(train.run(tiny(loss="ldam", drw=True, optimizer="sam", rho=0.5, seed=1), progress=False)) != strip(a)


def test_record_contents():
    config = tiny(drw=True)
    record = train.run(config, progress=False)
    assert record["status"] == "complete" and record["config"] == config.to_dict()
    assert [r["epoch"] for r in record["curves"]] == [1, 2, 3]
    assert [r["drw"] for r in record["curves"]] == [False, False, True]  # switches on at 160/200 of 3 epochs
    for key in ("final", "best", "train_final"):
        assert set(record["metrics"][key]) >= {"acc", "head", "mid", "tail", "per_class"}
    assert record["metrics"]["final"]["epoch"] == 3
    assert set(record["provenance"]) >= {"git_commit", "date", "torch", "device", "wall_time_s"}


def test_resume_matches_uninterrupted(tmp_path):
    config = tiny(optimizer="sam", rho=0.2, drw=True, epochs=4)
    whole = train.run(config, progress=False)
    interrupted_run(config, tmp_path, after=2)
    resumed = train.run(config, progress=False, checkpoint_dir=tmp_path)
    assert resumed["provenance"]["resumed_from_epoch"] == 2
    assert strip(resumed) == strip(whole)
    assert (tmp_path / "epoch_0004.pt").exists() and (tmp_path / "epoch_0004.pt.sha256").exists()
    assert (tmp_path / "last.pt").exists()  # removed by get_or_run once the record is written, not by run


def test_checkpoint_of_another_config_is_refused(tmp_path):
    a, b = tiny(epochs=2), tiny(epochs=2, seed=5)

    def stop(epoch, row):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train.run(a, progress=False, checkpoint_dir=tmp_path, on_epoch_end=stop)
    with pytest.raises(ValueError, match=f"belongs to run '{a.run_id}', not '{b.run_id}'"):
        train.run(b, progress=False, checkpoint_dir=tmp_path)


def test_divergence_is_recorded(tmp_path):
    config = tiny(lr=1e12, epochs=3)
    record = get_or_run(config, root=tmp_path, cache=tmp_path / "cache", progress=False)
    assert record["status"] == "diverged" and record["metrics"] is None
    assert 1 <= record["diverged_epoch"] <= 3
    assert json.loads(record_path(config, tmp_path).read_text())["status"] == "diverged"


def test_get_or_run_reads_existing(tmp_path):
    config = tiny(epochs=1)
    first = get_or_run(config, root=tmp_path, cache=tmp_path, progress=False)
    assert record_path(config, tmp_path).exists()
    assert get_or_run(config, root=tmp_path, cache=tmp_path) == first  # no training: provenance identical


def test_failed_run_leaves_no_record(tmp_path, monkeypatch):
    monkeypatch.setattr("saddle.sources._cifar_download", lambda *a: None)  # no network in tests
    config = RunConfig.at_scale("smoke", dataset="cifar10")
    with pytest.raises(Exception, match="cifar"):
        get_or_run(config, root=tmp_path, cache=tmp_path, data_root=tmp_path / "nothing", progress=False)
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize("field,value,message", [
    ("dataset", "mnist", "unknown dataset 'mnist'; accepted: fashion-mnist, cifar10, cifar10-jpeg, cifar100, synthetic"),
    ("loss", "focal", "unknown loss 'focal'; accepted: ce, ldam, vs"),
    ("optimizer", "adam", "unknown optimizer 'adam'; accepted: sgd, sam"),
    ("profile", "linear", "unknown profile 'linear'; accepted: exp, step"),
    ("imbalance", 0.5, r"imbalance must be a finite number in \[1, 1e\+06\], got 0.5"),
    ("imbalance", float("nan"), r"imbalance must be a finite number in \[1, 1e\+06\], got nan"),
    ("epochs", 0, r"epochs must be an integer in \[1, 100000\], got 0"),
    ("epochs", 2.5, r"epochs must be an integer in \[1, 100000\], got 2.5"),
    ("seed", True, r"seed must be an integer"),
    ("lr", float("inf"), r"lr must be a finite number"),
    ("n_max", 0, r"n_max must be an integer in \[1, 10000000\], got 0"),
    ("model", "resnet33", "unknown model 'resnet33'"),
])
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        RunConfig.at_scale("smoke", **{field: value})


def test_bad_rho_and_scale():
    with pytest.raises(ValueError, match=r"rho must be a finite number in \[0, 100\], got -0.5"):
        RunConfig.at_scale("smoke", optimizer="sam", rho=-0.5)
    with pytest.raises(ValueError, match="optimizer is 'sgd'"):
        RunConfig.at_scale("smoke", rho=0.5)
    with pytest.raises(ValueError, match="unknown scale 'huge'; accepted: smoke, cpu, r32-n500, r8-n5000, cifar10-r32, paper, large"):
        RunConfig.at_scale("huge")


def test_scales_and_ids():
    assert RunConfig.at_scale("paper").model == "resnet32" and RunConfig.at_scale("paper").epochs == 200
    assert RunConfig.at_scale("paper", loss="vs").epochs == 300
    a, b = RunConfig.at_scale("cpu", optimizer="sam", rho=0.5), RunConfig.at_scale("cpu", optimizer="sam", rho=0.8)
    assert a.run_id != b.run_id and a.run_id == RunConfig.from_dict(a.to_dict()).run_id
    assert RunConfig.at_scale("cpu", loss="ldam", drw=True, optimizer="sam", rho=0.8).label == "LDAM+DRW+SAM"


def test_checkpoint_epochs():
    assert checkpoints.checkpoint_epochs(200) == [10, 50, 160, 170, 190, 200]


def test_frozen_bn_keeps_running_stats():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    before = model[1].running_mean.clone()
    with optim.frozen_bn_statistics(model, True):
        model(torch.randn(4, 1, 5, 5))
    assert torch.equal(model[1].running_mean, before) and model[1].momentum == 0.1
    model(torch.randn(4, 1, 5, 5))
    assert not torch.equal(model[1].running_mean, before)


@needs_fashion_mnist
def test_smoke_scale_on_fashion_mnist(tmp_path):
    record = get_or_run(RunConfig.at_scale("smoke", drw=True), root=tmp_path, cache=tmp_path, progress=False)
    assert record["train_counts"] == [100, 59, 35, 21, 12, 7, 4, 2, 1, 1]
    assert record["class_names"][0] == "Trouser" and record["metrics"]["final"]["acc"] > 10


def test_read_only_refuses_to_train_and_logs_reads(tmp_path, monkeypatch):
    from saddle.results import MissingRecordError
    config = tiny(epochs=1)
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    with pytest.raises(MissingRecordError, match="SADDLE_READ_ONLY is set"):
        get_or_run(config, root=tmp_path, cache=tmp_path)
    assert not list(tmp_path.rglob("*.json"))
    monkeypatch.delenv("SADDLE_READ_ONLY")
    monkeypatch.setenv("SADDLE_RUN_LOG", str(tmp_path / "runs.log"))
    get_or_run(config, root=tmp_path, cache=tmp_path, progress=False)
    get_or_run(config, root=tmp_path, cache=tmp_path)
    assert (tmp_path / "runs.log").read_text().split() == ["trained", config.run_id, "read", config.run_id]


@pytest.mark.parametrize("optimizer", ["pgd", "lpf"])
def test_noisy_baselines_train_and_resume_exactly(optimizer, tmp_path):
    """PGD and LPF-SGD draw their noise from the run's generator, so a resumed run is the uninterrupted one."""
    config = tiny(optimizer=optimizer, drw=True, epochs=3, pgd_sigma=1e-2, lpf_radius=1e-2)
    whole = train.run(config, progress=False)
    assert whole["status"] == "complete" and whole["label"] == {"pgd": "CE+DRW+PGD", "lpf": "CE+DRW+LPF-SGD"}[optimizer]
    assert strip(whole) != strip(train.run(tiny(drw=True, epochs=3), progress=False))

    def stop_after_one(epoch, row):
        if epoch == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train.run(config, progress=False, checkpoint_dir=tmp_path, on_epoch_end=stop_after_one)
    assert strip(train.run(config, progress=False, checkpoint_dir=tmp_path)) == strip(whole)


def test_optimizer_settings_stay_out_of_other_optimizers_ids():
    """Adding PGD / LPF-SGD settings kept every earlier run id: the committed records stay addressable."""
    assert RunConfig.at_scale("cpu").run_id == "fashion-mnist-ce-s0-e8b679ff81"
    assert "pgd_sigma" not in RunConfig.at_scale("cpu").to_dict()
    pgd = RunConfig.at_scale("cpu", optimizer="pgd")
    assert pgd.to_dict()["pgd_sigma"] == 1e-4 and "lpf_radius" not in pgd.to_dict()
    assert RunConfig.from_dict(pgd.to_dict()) == pgd
    assert pgd.run_id != RunConfig.at_scale("cpu", optimizer="pgd", pgd_sigma=1e-3).run_id
    with pytest.raises(ValueError, match="lpf_samples must be an integer in"):
        RunConfig.at_scale("cpu", optimizer="lpf", lpf_samples=0)


def test_provenance_names_the_commit_the_run_started_from(monkeypatch):
    """A checkout that moves while a long run trains must not relabel the run with the new commit."""
    commits = iter(["commit-at-start", "commit-at-end"])
    monkeypatch.setattr("saddle.results.git_commit", lambda: next(commits))
    record = train.run(tiny(epochs=1), progress=False)
    assert record["provenance"]["git_commit"] == "commit-at-start"


def test_commit_named_by_the_environment_wins_over_a_stale_checkout(monkeypatch):
    """A working tree copied to another machine (the GPU one) keeps an old .git: the sender names the commit."""
    from saddle.results import git_commit
    monkeypatch.delenv("SADDLE_GIT_COMMIT", raising=False)
    here = git_commit()
    monkeypatch.setenv("SADDLE_GIT_COMMIT", "0123abc")
    assert git_commit() == "0123abc" != here


def test_bf16_is_a_run_of_its_own_that_trains_and_is_recorded():
    """bf16 is part of the run's identity (the fp32 run keeps its id, the bf16 twin gets another), it trains on the
    CPU and follows the float32 run closely early on; an unknown precision is refused."""
    fp32_config = tiny(optimizer="sam", rho=0.05, epochs=1)
    bf16_config = tiny(optimizer="sam", rho=0.05, epochs=1, precision="bf16")
    assert "precision" not in fp32_config.to_dict() and bf16_config.to_dict()["precision"] == "bf16"
    assert fp32_config.run_id != bf16_config.run_id and "-bf16-" in bf16_config.run_id
    fp32, bf16 = train.run(fp32_config, progress=False), train.run(bf16_config, progress=False)
    assert bf16["provenance"]["precision"] == "bf16" and fp32["provenance"]["precision"] == "fp32"
    assert bf16["curves"][0]["train_loss"] == pytest.approx(fp32["curves"][0]["train_loss"], rel=0.05)
    with pytest.raises(ValueError, match="unknown precision 'fp16'; accepted: fp32, bf16"):
        tiny(epochs=1, precision="fp16")


def test_fast_precision_is_bf16_only_where_the_cpu_has_it():
    native = "processor : 0\nflags : fpu sse2 avx512f avx512_bf16\n"
    emulated = "processor : 0\nflags : fpu sse2 avx2\n"
    assert train.fast_precision("cpu", native)[0] == "bf16"
    precision, why = train.fast_precision("cpu", emulated)
    assert precision == "fp32" and "no native bf16" in why
    assert train.memory_format_for(tiny(precision="bf16", model="resnet8"), torch.device("cpu")) \
        == torch.contiguous_format
    assert train.memory_format_for(tiny(model="resnet8"), torch.device("cpu")) == torch.channels_last


@pytest.mark.slow  # torch.compile traces the step
def test_compiled_step_follows_the_eager_run_and_keeps_plain_checkpoints(tmp_path, monkeypatch):
    """torch.compile of the step's model (aot_eager here: the inductor backend compiles C++ for a minute on a CPU;
    bench/gpu_check.sh covers it on CUDA) trains the same run, last smaller batch and SAM's two passes included,
    and its snapshots load into an uncompiled model. On a GPU the convolutions run in full float32: cuDNN's
    default TF32 keeps 10 mantissa bits, so two orderings of the same step differ by ~1e-3, above this tolerance."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    config = tiny(optimizer="sam", rho=0.05, drw=True, epochs=2)
    eager = train.run(config, progress=False)
    compiled = train.run(config, progress=False, compile="aot_eager", checkpoint_dir=tmp_path)
    assert compiled["provenance"]["compile"] == "aot_eager" and eager["provenance"]["compile"] is None
    for a, b in zip(eager["curves"], compiled["curves"]):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
    snapshot = checkpoints.load_verified(tmp_path / "epoch_0002.pt")["model"]
    assert not any(k.startswith("_orig_mod") for k in snapshot)
    with pytest.raises(ValueError, match="unknown compile backend 'tensorrt'; accepted: inductor, aot_eager"):
        train.run(tiny(epochs=1), progress=False, compile="tensorrt")


@needs_fashion_mnist
def test_a_run_keeps_a_snapshot_at_its_best_validation_epoch_and_drops_earlier_bests(tmp_path):
    from saddle.checkpoints import best_val_epoch, drop_stale_snapshots
    config = RunConfig.at_scale("smoke", epochs=4, val_per_class=5, test_limit=100)
    record = train.run(config, progress=False, checkpoint_dir=tmp_path)
    best = record["metrics"]["best_val"]["epoch"]
    kept = {int(p.stem.split("_")[1]) for p in tmp_path.glob("epoch_*.pt")}
    assert kept == set(record["checkpoint_epochs"]) | {best}
    assert best_val_epoch([{"epoch": 1, "val_acc": 50.0}, {"epoch": 2, "val_acc": 60.0}, {"epoch": 3, "val_acc": 60.0}]) == 2
    assert best_val_epoch([{"epoch": 1}]) is None
    for e in (1, 2, 3):
        (tmp_path / "x").mkdir(exist_ok=True)
        (tmp_path / "x" / f"epoch_{e:04d}.pt").write_bytes(b"")
        (tmp_path / "x" / f"epoch_{e:04d}.pt.sha256").write_bytes(b"")
    drop_stale_snapshots(tmp_path / "x", keep={1}, best=3)
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "epoch_0001.pt", "epoch_0001.pt.sha256", "epoch_0003.pt", "epoch_0003.pt.sha256"]
