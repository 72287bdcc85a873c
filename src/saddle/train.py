"""The training loop: the official CIFAR-LT recipe on data held as tensors on the device. run(config) returns
the record; with a checkpoint folder a killed run resumes and ends with the uninterrupted run's metrics."""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from . import data as data_lib
from . import losses, models, optim, results
from .checkpoints import best_val_epoch, checkpoint_epochs, drop_stale_snapshots, resume_state, save_checkpoint
from .checks import check_choice
from .config import SAM_LIKE, RunConfig
from .splits import LARGE_DATASETS

COMPILE_BACKENDS = ("inductor", "aot_eager")


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU flags of bf16 arithmetic in hardware (lscpu, /proc/cpuinfo)
# bf16 on a CPU, one thread, batch 128: the faster memory format per network, from bench/precision.py on an AMD EPYC
# with avx512_bf16 (channels_last is faster in fp32 for both).
BF16_CPU_CONTIGUOUS = ("resnet8",)


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 in hardware; without it torch emulates bf16, slower than fp32."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def fast_precision(device: str | torch.device | None = None, cpuinfo: str | None = None) -> tuple[str, str]:
    """(precision, why) of the fast mode: bf16 on a GPU or a CPU with native bf16, else fp32 (emulated bf16 is
    slower)."""
    device = torch.device(device) if device else default_device()
    if device.type == "cuda":
        return "bf16", "bf16 autocast on the GPU"
    if cpu_has_native_bf16(cpuinfo):
        return "bf16", "bf16 autocast: this CPU has native bf16 (" + "/".join(NATIVE_BF16_FLAGS) + ")"
    return "fp32", ("fp32: this CPU has no native bf16 (none of " + ", ".join(NATIVE_BF16_FLAGS)
                    + "), where bf16 is emulated and slower than fp32")


def autocast_for(config: RunConfig, device: torch.device):
    """A context for the forward passes: bf16 autocast for a bf16 run, nothing for fp32."""
    if config.precision == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def memory_format_for(config: RunConfig, device: torch.device) -> torch.memory_format:
    """channels_last, except for the networks that run bf16 faster contiguous on a CPU (BF16_CPU_CONTIGUOUS)."""
    if config.precision == "bf16" and device.type == "cpu" and config.model in BF16_CPU_CONTIGUOUS:
        return torch.contiguous_format
    return torch.channels_last


def load_data(config: RunConfig, data_root=None) -> data_lib.LongTailData:
    """The config's long-tailed training set and test set."""
    return data_lib.load(config.dataset, config.imbalance, config.profile, config.n_max, config.subset_seed,
                         data_root, config.test_limit, val_per_class=config.val_per_class,
                         class_order=config.class_order)


def build_model(config: RunConfig, data: data_lib.LongTailData) -> torch.nn.Module:
    """The config's network, initialised from its seed (the cosine head goes with LDAM, as in the official code)."""
    torch.manual_seed(config.seed)
    return models.build(config.model, num_classes=data.num_classes, normed=config.loss == "ldam",
                        in_channels=data.in_channels, width=config.width)


def build_optimizer(config: RunConfig, model: torch.nn.Module, generator: torch.Generator | None = None,
                    counts=None) -> torch.optim.Optimizer:
    """SGD with momentum, or SAM / ImbSAM / CC-SAM / PGD / LPF-SGD around it (the noisy ones draw from `generator`)."""
    sgd = dict(lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "sam":
        return optim.SAM(model.parameters(), torch.optim.SGD, rho=config.rho, adaptive=config.sam_adaptive,
                         normalized=config.sam_normalized, **sgd)
    if config.optimizer == "imbsam":
        return optim.ImbSAM(model.parameters(), torch.optim.SGD, rho=config.rho,
                            tail=optim.tail_classes(counts, config.imbsam_eta), **sgd)
    if config.optimizer == "ccsam":
        return optim.ClassConditionalSAM(model.parameters(), counts, rho=config.rho, gamma=config.ccsam_gamma,
                                         weight=config.ccsam_weight, **sgd)
    if config.optimizer == "pgd":
        return optim.PerturbedSGD(model.parameters(), sigma=config.pgd_sigma, generator=generator, **sgd)
    if config.optimizer == "lpf":
        return optim.LowPassSGD(model.parameters(), radius=config.lpf_radius, samples=config.lpf_samples,
                                generator=generator, **sgd)
    return optim.SGD(model.parameters(), **sgd)


def build_criterion(config: RunConfig, counts, epoch: int, device) -> torch.nn.Module:
    """The loss for 0-based `epoch`: class weights switch on with DRW at the first LR drop."""
    weight = None
    if config.drw and optim.drw_active(epoch, config.epochs, config.drw_epoch):
        weight = losses.drw_weights(counts, config.drw_beta, config.drw_kind)
    return losses.criterion(config.loss, counts, weight, config.max_margin, config.vs_gamma,
                            config.vs_tau).to(device)


def rho_of(config: RunConfig, epoch: int) -> float:
    """SAM's rho at 0-based `epoch` (0 for an optimizer without one)."""
    return optim.rho_at(epoch, config.epochs, config.rho, config.rho_steps) if config.optimizer in SAM_LIKE else 0.0


def set_schedules(optimizer, config: RunConfig, epoch: int) -> float:
    """The learning rate and SAM's rho of 0-based `epoch`, set on every parameter group; returns the rate."""
    lr = (optim.cifar_lr if config.lr_schedule == "step" else optim.cosine_lr)(epoch, config.epochs, config.lr)
    rho = rho_of(config, epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
        if "rho" in group:
            group["rho"] = rho
    return lr


def train_epoch(model, optimizer, criterion, data, generator, config, memory_format,
                autocast=contextlib.nullcontext) -> tuple[float, float]:
    """One pass over the shuffled training set; (mean loss, accuracy %) of the batches as trained (SAM's and
    LPF-SGD's at the perturbed weights, as the official scripts log them)."""
    model.train()
    n = len(data.train_y)
    order = torch.randperm(n, generator=generator, device=generator.device).to(data.train_y.device)
    loss_sum = torch.zeros((), device=data.train_y.device)
    correct = torch.zeros((), device=data.train_y.device, dtype=torch.long)
    for start in range(0, n, config.batch_size):  # the last, smaller batch is kept (drop_last=False)
        idx = order[start:start + config.batch_size]
        x = data.normalize(data_lib.augment(data.train_x[idx], generator)).contiguous(memory_format=memory_format)
        y = data.train_y[idx]
        optimizer.zero_grad(set_to_none=True)
        loss, out = optimizer.step_batch(optim.Batch(model, criterion, x, y, autocast=autocast,
                                                     freeze_bn=config.sam_bn == "freeze"))
        loss_sum += loss * len(y)
        correct += (out.argmax(1) == y).sum()
    return loss_sum.item() / n, 100.0 * correct.item() / n


@torch.no_grad()
def predict(model, data, x_uint8, memory_format, batch_size: int | None = None) -> torch.Tensor:
    """Predicted classes in eval mode: batches of 128 on a CPU (they stay in cache: 3x faster than 1000,
    bench/eval_batch.py), 1000 on an accelerator."""
    model.eval()
    if batch_size is None:
        batch_size = 128 if x_uint8.device.type == "cpu" else 1000
    preds = [model(data.normalize(x_uint8[i:i + batch_size]).contiguous(memory_format=memory_format)).argmax(1)
             for i in range(0, len(x_uint8), batch_size)]
    return torch.cat(preds)


def accuracy_report(pred: torch.Tensor, target: torch.Tensor, groups: dict, num_classes: int) -> dict:
    """Overall accuracy and per class, plus the mean class accuracy of each group (all in %)."""
    return report_from_counts(torch.bincount(target[pred == target], minlength=num_classes),
                              torch.bincount(target, minlength=num_classes), groups)


def report_from_counts(correct: torch.Tensor, total: torch.Tensor, groups: dict) -> dict:
    """accuracy_report from per-class counts of correct and of all predictions (what replicas can sum)."""
    correct, total = correct.double().cpu(), total.double().cpu()
    per_class = (100.0 * correct / total.clamp(min=1)).tolist()
    report = {"acc": 100.0 * correct.sum().item() / total.sum().item(), "per_class": per_class}
    for name, members in groups.items():
        report[name] = sum(per_class[c] for c in members) / len(members) if members else None
    return report


def run(config: RunConfig, *, data_root=None, device=None, checkpoint_dir: str | Path | None = None,
        on_epoch_end=None, progress: bool = True, channels_last: bool | None = None,
        compile: str | None = None) -> dict:
    """Train one configuration and return its record, not yet written (runs.get_or_run writes it, then removes
    last.pt). on_epoch_end(epoch, curve_row) after each 1-based epoch; channels_last None: memory_format_for's
    choice; compile: a torch.compile backend for the training step (step_model), None: eager."""
    if compile is not None:
        check_choice("compile backend", compile, COMPILE_BACKENDS)
    if config.dataset in LARGE_DATASETS:
        raise ValueError(f"{config.dataset} is read from split files by saddle.distributed.run "
                         "(torchrun --nproc_per_node=N -m saddle train ...), not by train.run")
    training = Training([config], device)
    device = training.device
    data = load_data(config, data_root)
    data_sha256 = data.digest()
    data = data.to(device)
    memory_format = memory_format_for(config, device) if channels_last is None else (
        torch.channels_last if channels_last else torch.contiguous_format)
    model = build_model(config, data).to(device, memory_format=memory_format)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    optimizer = build_optimizer(config, model, generator, data.counts)
    forward = step_model(model, compile)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
    start_epoch, training.curves[0] = resume_state(checkpoint_dir, config, model, optimizer, generator, training.keep)

    def reports(x, y):
        return [accuracy_report(predict(model, data, x, memory_format), y, data.groups, data.num_classes)]

    training.loop(
        optimizer, data.counts, start_epoch,
        train_one=lambda criterion: [train_epoch(forward, optimizer, criterion, data, generator, config,
                                                 memory_format, training.autocast)],
        evaluate=lambda rows: add_reports(rows, data, reports), on_epoch_end=on_epoch_end, progress=progress,
        save=(lambda epoch: save_with_best_val(checkpoint_dir, config, model, optimizer, generator, epoch,
                                               training.curves[0], training.keep)) if checkpoint_dir else None)
    train_reports = [None] if training.diverged[0] else reports(data.train_x, data.train_y)
    return training.records(train_reports, data.counts, data.class_names, data.groups,
                            channels_last=memory_format == torch.channels_last, compile=compile,
                            resumed_from_epoch=start_epoch or None, data_sha256=data_sha256)[0]


def save_with_best_val(folder, config, model, optimizer, generator, epoch: int, curves: list, keep) -> None:
    """The epoch's checkpoint, a snapshot at the kept epochs and at the best validation epoch so far (the earlier
    best then dropped)."""
    best = best_val_epoch(curves)
    save_checkpoint(folder, config, model, optimizer, generator, epoch, curves, keep=epoch in keep or epoch == best)
    if epoch == best:
        drop_stale_snapshots(folder, keep, best)


def evaluation_epochs(config: RunConfig) -> set[int]:
    """The 1-based epochs a run is evaluated at: every eval_every-th, and the last."""
    return {e for e in range(1, config.epochs + 1) if e % config.eval_every == 0} | {config.epochs}


class Training:
    """What the three trainers share, for one run or several stacked ones: set-up, epoch loop and records."""

    def __init__(self, configs: list[RunConfig], device=None):
        self.started, self.commit = time.time(), results.git_commit()  # the commit the run started from
        self.configs, self.config = configs, configs[0]
        self.device = torch.device(device) if device else default_device()
        if self.device.type == "cuda":  # cuDNN deterministic, not autotuned: one seed, one record (CPUs already are)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        self.autocast = autocast_for(self.config, self.device)
        self.keep = set(checkpoint_epochs(self.config.epochs))
        self.curves = [[] for _ in configs]
        self.diverged = [None] * len(configs)  # each run's epoch of a non-finite loss, where it stopped

    def loop(self, optimizer, counts, start_epoch: int = 0, *, train_one, evaluate, save=None, before_epoch=None,
             on_epoch_end=None, progress: bool = True) -> None:
        """Each epoch: schedules and criterion, train_one(criterion) -> each run's (loss, acc), a run stopped at a
        non-finite loss (its row None), evaluate(rows) at evaluation_epochs, save(epoch), on_epoch_end."""
        config, n = self.config, len(self.configs)
        eval_epochs = evaluation_epochs(config)
        bar = tqdm(range(start_epoch, config.epochs), initial=start_epoch, total=config.epochs, disable=not progress,
                   desc=config.label + (f" x{n}" if n > 1 else ""), unit="epoch", leave=False)
        for epoch in bar:
            if before_epoch:
                before_epoch(epoch)
            lr = set_schedules(optimizer, config, epoch)
            criterion = build_criterion(config, counts, epoch, self.device)
            rows = [None] * n
            for i, (train_loss, train_acc) in enumerate(train_one(criterion)):
                if self.diverged[i] is None:
                    rows[i] = curve_row(epoch, lr, rho_of(self.configs[i], epoch), criterion, train_loss, train_acc)
                    self.curves[i].append(rows[i])
                    if not math.isfinite(train_loss):
                        self.diverged[i], rows[i] = epoch + 1, None
            if not any(rows):
                break
            if epoch + 1 in eval_epochs:
                evaluate(rows)
                shown = next(row for row in rows if row)
                bar.set_postfix(loss=f"{shown['train_loss']:.3f}", test=f"{shown['test_acc']:.1f}")
            if save:
                save(epoch + 1)
            if on_epoch_end:
                for row in filter(None, rows):
                    on_epoch_end(epoch + 1, row)
        bar.close()

    def records(self, train_reports: list, train_counts, class_names, groups: dict, **extra) -> list[dict]:
        """Each run's record; `extra` goes into the provenance."""
        records, wall = [], time.time() - self.started
        for config, curves, diverged, train_report in zip(self.configs, self.curves, self.diverged, train_reports):
            record = {"id": config.run_id, "status": "diverged" if diverged else "complete",
                      "config": config.to_dict(), "label": config.label, "train_counts": train_counts,
                      "class_names": class_names, "groups": groups, "eval_epochs": sorted(evaluation_epochs(config)),
                      "checkpoint_epochs": sorted(self.keep), "curves": curves}
            if diverged:
                record.update(diverged_epoch=diverged, metrics=None)
            else:
                record["metrics"] = summarise(curves, groups, train_report)
            record["provenance"] = results.provenance(self.device, wall, self.commit,
                                                      precision=config.precision, **extra)
            records.append(record)
        return records


def step_model(model, backend: str | None):
    """The model torch.compile'd with static shapes, or itself when backend is None. It shares the parameters, so
    everything else keeps the plain module (checkpoint keys stay free of torch.compile's prefix)."""
    return model if backend is None else torch.compile(model, backend=backend, dynamic=False)


def curve_row(epoch: int, lr: float, rho: float, criterion, train_loss: float, train_acc: float) -> dict:
    """One row of a record's curves for 0-based `epoch` (stored 1-based)."""
    return {"epoch": epoch + 1, "lr": lr, "rho": rho, "drw": bool(criterion.weight is not None),
            "train_loss": train_loss, "train_acc": train_acc}


def add_test_report(row: dict, report: dict, groups: dict, prefix: str = "") -> None:
    """A report into a curve row as test_acc, per_class, head, ... (prefix "val_": val_acc, val_per_class, ...)."""
    row.update({f"{prefix or 'test_'}acc": report["acc"], f"{prefix}per_class": report["per_class"],
                **{f"{prefix}{g}": report[g] for g in groups}})


def add_reports(rows: list, data: data_lib.LongTailData, reports) -> None:
    """Each running run's test and validation reports into its row; reports(x, y) -> each run's report."""
    for prefix, x, y in (("", data.test_x, data.test_y), ("val_", data.val_x, data.val_y)):
        if x is not None:
            for row, report in zip(rows, reports(x, y)):
                if row is not None:
                    add_test_report(row, report, data.groups, prefix)


def summarise(curves: list, groups: dict, train_report: dict) -> dict:
    """Test numbers at final (the last epoch), best_val (highest validation accuracy, earliest on a tie) and best
    (highest *test* accuracy: what the official code reports, optimistic)."""
    evaluated = [r for r in curves if "test_acc" in r]

    def pick(r):
        picked = {"epoch": r["epoch"], "acc": r["test_acc"], "per_class": r["per_class"], **{g: r[g] for g in groups}}
        if "val_acc" in r:
            picked["val"] = {"acc": r["val_acc"], "per_class": r["val_per_class"], **{g: r[f"val_{g}"] for g in groups}}
        return picked

    metrics = {"final": pick(evaluated[-1]), "best": pick(max(evaluated, key=lambda r: r["test_acc"])),
               "train_final": dict(train_report)}
    if "val_acc" in evaluated[-1]:
        metrics["best_val"] = pick(max(evaluated, key=lambda r: r["val_acc"]))
    return metrics
