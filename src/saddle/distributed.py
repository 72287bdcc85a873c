"""Distributed data-parallel training for the large-scale runs (ImageNet-LT, iNaturalist 2018; Tables 3 and 6),
under torchrun or as one process. The sampler is seeded by run seed and epoch, so a resumed run continues the
same order with any process count. DDP averages both of SAM's passes, so the ascent is the global batch's, as
the official DataParallel code's; ascent='local' ascends along each replica's own gradient (m-sharpness).
BatchNorm statistics are each replica's own unless sync_bn. Only rank 0 writes checkpoints and the record."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from . import optim, splits
from .checks import check_choice
from .config import RunConfig
from .checkpoints import resume_state, save_checkpoint
from .train import Training, add_test_report, build_model, build_optimizer, report_from_counts

ASCENTS = ("global", "local")


def setup(device=None) -> tuple[int, int, torch.device]:
    """(rank, world size, device), joining torchrun's group: one GPU per local process, else all on the CPU over
    gloo (two processes cannot share one GPU under NCCL)."""
    kind = _device_kind(device)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    on_gpu = kind != "cpu" and gpus >= local_world
    if kind == "cuda" and not on_gpu:
        raise ValueError(f"device {str(device)!r} needs one GPU per local process; "
                         f"this machine has {gpus} for {local_world}")
    if kind is None and 0 < gpus < local_world and int(os.environ.get("LOCAL_RANK", 0)) == 0:
        print(f"{local_world} processes on {gpus} GPU(s): training on the CPU over gloo (one GPU per process needed)",
              file=sys.stderr)
    if "RANK" in os.environ and not dist.is_initialized():
        dist.init_process_group("nccl" if on_gpu else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    if on_gpu:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world, device


def _device_kind(device) -> str | None:
    """'cpu', 'cuda' or None (choose) from a name or torch.device; the local rank picks the GPU, not an index."""
    if device is None:
        return None
    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; accepted: cpu, cuda")
    return kind


def teardown():
    if dist.is_initialized():
        dist.destroy_process_group()


def _all_sum(tensor: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(tensor)
    return tensor


def local_batch_size(config: RunConfig, world: int) -> int:
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} (global) must be divisible by the {world} processes")
    return config.batch_size // world


@torch.no_grad()
def evaluate_on(model, dataset, rank: int, world: int, num_classes: int, groups: dict, device, batch_size: int,
             workers: int) -> dict:
    """Accuracy over the whole dataset, each process predicting every world-th image; counts summed."""
    model.eval()
    shard = torch.utils.data.Subset(dataset, range(rank, len(dataset), world))
    correct = torch.zeros(num_classes, dtype=torch.long, device=device)
    total = torch.zeros(num_classes, dtype=torch.long, device=device)
    for x, y in DataLoader(shard, batch_size=batch_size, num_workers=workers):
        x, y = x.to(device), y.to(device)
        pred = model(x).argmax(1)
        correct += torch.bincount(y[pred == y], minlength=num_classes)
        total += torch.bincount(y, minlength=num_classes)
    return report_from_counts(_all_sum(correct), _all_sum(total), groups)


def train_epoch(ddp, optimizer, criterion, loader, config, ascent, device, autocast) -> tuple[float, float]:
    """One epoch over this process's share; returns the global mean loss and accuracy (%) as trained."""
    ddp.train()
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, correct, n
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        local = ddp.no_sync if ascent == "local" and dist.is_initialized() else contextlib.nullcontext
        loss, out = optimizer.step_batch(optim.Batch(ddp, criterion, x, y, autocast=autocast, first_pass=local,
                                                     freeze_bn=config.sam_bn == "freeze"))
        sums += torch.stack([loss.detach().double() * len(y), (out.argmax(1) == y).sum().double(),
                             torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
    sums = _all_sum(sums)
    return (sums[0] / sums[2]).item(), (100.0 * sums[1] / sums[2]).item()


def _sync_buffers(model):
    """BatchNorm running statistics as rank 0 has them, so every replica evaluates the same network."""
    if dist.is_initialized():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def run(config: RunConfig, *, data_root, split_dir=None, checkpoint_dir=None, workers: int = 4,
        ascent: str = "global", image_size: int = 224, augment: bool = True, sync_bn: bool = False,
        model: torch.nn.Module | None = None, on_epoch_end=None, progress: bool = True,
        device: str | None = None) -> dict | None:
    """Train one large-scale configuration; rank 0 returns the record (not yet written), other ranks None.
    `model` replaces the config's network (tests compare a BatchNorm-free one against one process)."""
    check_choice("large data set", config.dataset, tuple(splits.LARGE_DATASETS))
    check_choice("ascent", ascent, ASCENTS)
    if config.optimizer not in ("sgd", "sam"):
        raise ValueError(f"the large-scale trainer runs optimizer 'sgd' or 'sam', got {config.optimizer!r}")
    rank, world, device = setup(device)
    training = Training([config], device)
    batch = local_batch_size(config, world)
    data = splits.load(config.dataset, data_root, split_dir, image_size, augment)
    groups = {**data.groups, **data.shots}
    if model is None:
        model = build_model(config, data)
        if sync_bn and device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    optimizer = build_optimizer(config, model)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
    ddp = DistributedDataParallel(model) if dist.is_initialized() else model
    sampler = DistributedSampler(data.train, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    # workers are started afresh each epoch, seeded from the epoch's seed below, so a resumed run augments alike
    loader = DataLoader(data.train, batch_size=batch, sampler=sampler, num_workers=workers,
                        pin_memory=device.type == "cuda")
    start_epoch, training.curves[0] = resume_state(checkpoint_dir, config, model, optimizer, None, training.keep)

    def before_epoch(epoch):
        sampler.set_epoch(epoch)
        torch.manual_seed(config.seed * 100_003 + epoch * 1_009 + rank)  # augmentation: resumable, per replica

    def evaluate(rows):
        _sync_buffers(model)
        add_test_report(rows[0], evaluate_on(model, data.test, rank, world, data.num_classes, groups, device, batch,
                                             workers), groups)

    def save(epoch):
        if checkpoint_dir and rank == 0:  # the model without its DDP wrapper: any process count resumes it
            save_checkpoint(checkpoint_dir, config, model, optimizer, None, epoch, training.curves[0],
                            keep=epoch in training.keep)
        if dist.is_initialized():
            dist.barrier()  # every replica resumes from the same epoch if the job stops here

    training.loop(optimizer, data.counts, start_epoch, train_one=lambda criterion: [
        train_epoch(ddp, optimizer, criterion, loader, config, ascent, device, training.autocast)],
        evaluate=evaluate, save=save, before_epoch=before_epoch, on_epoch_end=on_epoch_end,
        progress=progress and rank == 0)
    train_report = None
    if training.diverged[0] is None:
        data.train.transform = splits.image_transforms(splits.LARGE_DATASETS[config.dataset]["norm"], image_size,
                                                       train=False)
        train_report = evaluate_on(model, data.train, rank, world, data.num_classes, groups, device, batch, workers)
    if rank != 0:
        return None
    backend = dist.get_backend() if dist.is_initialized() else None
    return training.records([train_report], data.counts, [str(label) for label in data.class_labels], groups,
                            world_size=world, ascent=ascent, backend=backend, image_size=image_size,
                            resumed_from_epoch=start_epoch or None)[0]

