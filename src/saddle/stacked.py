"""Several runs of one recipe trained at once in one process: the seeds or SAM radii of a table, as one vectorised
network (torch.func.stack_module_state + vmap), so a large GPU is kept busy by small ResNets.

Each run keeps its own initialisation, data order and augmentation (its own seeded generator, drawn exactly as
train.run draws it), BatchNorm statistics, momentum and SAM radius, so it ends where training it alone ends (to
float tolerance; a test checks this). Runs may differ in seed and rho only. Records are train.run's, one per run,
with the same Hessian snapshots; a stopped batch of runs restarts from the beginning (no last.pt)."""
from __future__ import annotations

import dataclasses
import math
import time

import torch
from torch.func import functional_call, grad, stack_module_state, vmap
from tqdm import tqdm

from . import data as data_lib
from . import optim
from .checkpoints import checkpoint_epochs, save_verified, snapshot_name
from .config import RunConfig
from .train import (autocast_for, accuracy_report, add_test_report, build_criterion, build_model, curve_row,
                    default_device, deterministic_kernels, evaluation_epochs, load_data, run_record, set_schedules)

MAY_DIFFER = ("seed", "rho")


def check_stackable(configs: list[RunConfig]) -> None:
    """Runs stack when their configs differ in seed and rho only, with SGD or normalised, non-adaptive SAM."""
    if not configs:
        raise ValueError("no configs to train")
    first = dataclasses.asdict(configs[0])
    for c in configs[1:]:
        other = dataclasses.asdict(c)
        differ = [k for k in first if first[k] != other[k] and k not in MAY_DIFFER]
        if differ:
            raise ValueError(f"runs stack only when they differ in {' and '.join(MAY_DIFFER)}; {c.run_id} also "
                             f"differs in {', '.join(differ)}")
    c = configs[0]
    if c.optimizer not in ("sgd", "sam") or (c.optimizer == "sam" and (c.sam_adaptive or not c.sam_normalized
                                                                       or c.sam_bn != "update")):
        raise ValueError(f"stacked runs support SGD and normalised SAM (BatchNorm updated on both passes), "
                         f"got optimizer {c.optimizer!r}")
    if len({c.run_id for c in configs}) < len(configs):
        raise ValueError("the same run is listed twice")


class StackedSAM:
    """SGD (momentum, weight decay) on stacked parameters, with each run's own SAM ascent: eps_i = rho_i g_i /
    ||g_i||, the norm over run i's parameters only."""

    def __init__(self, params: dict, rhos: torch.Tensor, config: RunConfig):
        self.params = list(params.values())
        self.rhos = rhos
        self.sgd = torch.optim.SGD(self.params, lr=config.lr, momentum=config.momentum,
                                   weight_decay=config.weight_decay)
        self.origin = None

    def _per_run(self, values: torch.Tensor) -> list[torch.Tensor]:
        """Broadcast one value per run over each stacked parameter."""
        return [values.view(-1, *[1] * (p.dim() - 1)) for p in self.params]

    @torch.no_grad()
    def ascend(self, grads: list[torch.Tensor]):
        norms = torch.stack([optim.at_least_float32(g.flatten(1)).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        self.origin = optim.climb(self.params, grads, self._per_run(self.rhos / (norms + 1e-12)))

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], lr: float):
        if self.origin is not None:
            optim.come_back(self.params, self.origin)
            self.origin = None
        for p, g in zip(self.params, grads):
            p.grad = g
        for group in self.sgd.param_groups:
            group["lr"] = lr
        self.sgd.step()


def run_many(configs: list[RunConfig], *, data_root=None, device=None, checkpoint_dirs=None,
             progress: bool = True) -> list[dict]:
    """Train the runs together; returns their records (not yet written), in order. checkpoint_dirs: one folder
    per run for the Hessian snapshots (epoch_XXXX.pt, as train.run keeps them); the runs share their precision."""
    from .results import git_commit, provenance

    check_stackable(configs)
    started, commit = time.time(), git_commit()
    device = torch.device(device) if device else default_device()
    deterministic_kernels(device)
    config = configs[0]
    autocast = autocast_for(config, device)
    data = load_data(config, data_root)
    data_sha256 = data.digest()
    data = data.to(device)
    models = [build_model(c, data).to(device) for c in configs]
    params, buffers = stack_module_state(models)
    params = {k: v.detach().requires_grad_(False) for k, v in params.items()}
    skeleton = models[0]
    generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs]
    rhos = torch.tensor([c.rho for c in configs], device=device)
    optimizer = StackedSAM(params, rhos, config)
    n_runs, n = len(configs), len(data.train_y)

    def loss_and_logits(p, b, x, y, criterion):
        """The loss to differentiate, and (loss, logits) as aux: one forward per pass, as train.run does."""
        with autocast():
            out = functional_call(skeleton, (p, b), (x,)).float()
        loss = criterion(out, y)
        return loss, (loss.detach(), out.detach())

    curves = [[] for _ in configs]
    eval_epochs = evaluation_epochs(config)
    keep = set(checkpoint_epochs(config.epochs))
    statuses = ["complete"] * n_runs
    bar = tqdm(range(config.epochs), desc=f"{config.label} x{n_runs}", unit="epoch", disable=not progress,
               leave=False)
    for epoch in bar:
        lr, _ = set_schedules(optimizer.sgd, config, epoch)
        epoch_rhos = [optim.rho_at(epoch, c.epochs, c.rho, c.rho_steps) if c.optimizer == "sam" else 0.0
                      for c in configs]
        rhos.copy_(torch.tensor(epoch_rhos))
        criterion = build_criterion(config, data.counts, epoch, device)
        gradient = vmap(grad(lambda p, b, x, y: loss_and_logits(p, b, x, y, criterion), has_aux=True))
        skeleton.train()
        orders = [torch.randperm(n, generator=g, device=g.device).to(device) for g in generators]
        loss_sum = torch.zeros(n_runs, device=device)
        correct = torch.zeros(n_runs, device=device)
        for start in range(0, n, config.batch_size):
            idx = [order[start:start + config.batch_size] for order in orders]
            x = torch.stack([data.normalize(data_lib.augment(data.train_x[i], g)) for i, g in zip(idx, generators)])
            y = torch.stack([data.train_y[i] for i in idx])
            grads, (loss, out) = gradient(params, buffers, x, y)
            if config.optimizer == "sam":
                optimizer.ascend(list(grads.values()))
                grads, (loss, out) = gradient(params, buffers, x, y)
            optimizer.step(list(grads.values()), lr)
            loss_sum += loss * y.shape[1]
            correct += (out.argmax(-1) == y).sum(1)
        evaluate = epoch + 1 in eval_epochs
        reports = _reports(skeleton, params, buffers, data, data.test_x, data.test_y) if evaluate else None
        val_reports = _reports(skeleton, params, buffers, data, data.val_x, data.val_y) \
            if evaluate and data.val_x is not None else None
        for i in range(n_runs):
            if statuses[i] != "complete":
                continue
            row = curve_row(epoch, lr, epoch_rhos[i], criterion, loss_sum[i].item() / n,
                            100.0 * correct[i].item() / n)
            if not math.isfinite(row["train_loss"]):
                statuses[i] = "diverged"
            elif evaluate:
                add_test_report(row, reports[i], data.groups)
                if val_reports:
                    add_test_report(row, val_reports[i], data.groups, prefix="val_")
            curves[i].append(row)
        if checkpoint_dirs and epoch + 1 in keep:
            for i, (c, folder) in enumerate(zip(configs, checkpoint_dirs)):
                _snapshot(folder, c, skeleton, params, buffers, i, epoch + 1)
        if all(s != "complete" for s in statuses):
            break
    bar.close()
    train_reports = _reports(skeleton, params, buffers, data, data.train_x, data.train_y)
    wall = time.time() - started
    records = []
    for i, c in enumerate(configs):
        record = run_record(c, statuses[i], curves[i], data.counts, data.class_names, data.groups, eval_epochs,
                            keep, train_reports[i], curves[i][-1]["epoch"] if statuses[i] == "diverged" else None)
        record["provenance"] = provenance(device, wall, commit, stacked_runs=n_runs, channels_last=False,
                                          precision=c.precision, data_sha256=data_sha256)
        records.append(record)
    return records


@torch.no_grad()
def _reports(skeleton, params, buffers, data, x_uint8, target, batch_size: int = 1000) -> list[dict]:
    """accuracy_report of every run on the same images."""
    skeleton.eval()
    forward = vmap(lambda p, b, x: functional_call(skeleton, (p, b), (x,)), in_dims=(0, 0, None))
    preds = torch.cat([forward(params, buffers, data.normalize(x_uint8[i:i + batch_size])).argmax(-1)
                       for i in range(0, len(x_uint8), batch_size)], dim=1)
    return [accuracy_report(p, target, data.groups, data.num_classes) for p in preds]


def _snapshot(folder, config, skeleton, params, buffers, i, epoch):
    """Run i's weights in train.run's snapshot format, so the Hessian chapters read stacked runs alike."""
    folder.mkdir(parents=True, exist_ok=True)
    stacked = {**params, **buffers}
    state = {k: stacked[k][i].detach().clone() for k in skeleton.state_dict()}
    save_verified({"run_id": config.run_id, "config": config.to_dict(), "epoch": epoch, "model": state},
                  folder / snapshot_name(epoch))
