"""Runs differing in seed and rho only, trained at once as one vectorised network (stack_module_state + vmap) to
keep a large GPU busy. Each keeps its own generator, BatchNorm statistics, momentum and radius, so it ends where
training it alone ends (to float tolerance, tested). No last.pt: a stopped batch restarts."""
from __future__ import annotations

import dataclasses

import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from . import data as data_lib
from . import optim
from .checkpoints import save_verified, snapshot_name
from .config import RunConfig
from .train import Training, accuracy_report, add_reports, build_model, load_data, rho_of

MAY_DIFFER = ("seed", "rho")


def stackable_recipe(config: RunConfig) -> bool:
    """Whether a run's recipe trains stacked: SGD or normalised, non-adaptive SAM that updates BatchNorm on both
    passes, with a loss vmap can batch (LDAM's per-class margins fail under it)."""
    sam_ok = config.optimizer == "sgd" or (config.optimizer == "sam" and not config.sam_adaptive
                                           and config.sam_normalized and config.sam_bn == "update")
    return sam_ok and config.loss != "ldam"


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
    if not stackable_recipe(c):
        raise ValueError(f"stacked runs support SGD and normalised SAM (BatchNorm updated on both passes) with the "
                         f"CE or VS loss, got optimizer {c.optimizer!r} and loss {c.loss!r}")
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
        self.param_groups = self.sgd.param_groups  # where train.set_schedules sets each epoch's LR
        self.origin = None

    def _per_run(self, values: torch.Tensor) -> list[torch.Tensor]:
        """Broadcast one value per run over each stacked parameter."""
        return [values.view(-1, *[1] * (p.dim() - 1)) for p in self.params]

    @torch.no_grad()
    def ascend(self, grads: list[torch.Tensor]):
        norms = torch.stack([optim.at_least_float32(g.flatten(1)).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        self.origin = optim.climb(self.params, grads, self._per_run(self.rhos / (norms + 1e-12)))

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]):
        if self.origin is not None:
            optim.come_back(self.params, self.origin)
            self.origin = None
        for p, g in zip(self.params, grads):
            p.grad = g
        self.sgd.step()


def run_many(configs: list[RunConfig], *, data_root=None, device=None, checkpoint_dirs=None,
             progress: bool = True) -> list[dict]:
    """Train the runs together; returns their records (not yet written), in order. checkpoint_dirs: one folder
    per run for the Hessian snapshots (epoch_XXXX.pt, as train.run keeps them); the runs share their precision."""
    check_stackable(configs)
    training = Training(configs, device)
    device, config = training.device, configs[0]
    data = load_data(config, data_root)
    data_sha256 = data.digest()
    data = data.to(device)
    models = [build_model(c, data).to(device) for c in configs]
    params, buffers = stack_module_state(models)
    params = {k: v.detach().requires_grad_(False) for k, v in params.items()}
    skeleton = models[0]
    generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs]
    optimizer = StackedSAM(params, torch.tensor([c.rho for c in configs], device=device), config)
    n = len(data.train_y)

    def loss_and_logits(p, b, x, y, criterion):
        """The loss to differentiate, and (loss, logits) as aux: one forward per pass, as train.run does."""
        with training.autocast():
            out = functional_call(skeleton, (p, b), (x,)).float()
        loss = criterion(out, y)
        return loss, (loss.detach(), out.detach())

    def train_one(criterion):
        """One epoch of every run; each run's (mean loss, accuracy %) as trained."""
        gradient = vmap(grad(lambda p, b, x, y: loss_and_logits(p, b, x, y, criterion), has_aux=True))
        skeleton.train()
        orders = [torch.randperm(n, generator=g, device=g.device).to(device) for g in generators]
        loss_sum = torch.zeros(len(configs), device=device)
        correct = torch.zeros(len(configs), device=device)
        for start in range(0, n, config.batch_size):
            idx = [order[start:start + config.batch_size] for order in orders]
            x = torch.stack([data.normalize(data_lib.augment(data.train_x[i], g)) for i, g in zip(idx, generators)])
            y = torch.stack([data.train_y[i] for i in idx])
            grads, (loss, out) = gradient(params, buffers, x, y)
            if config.optimizer == "sam":
                optimizer.ascend(list(grads.values()))
                grads, (loss, out) = gradient(params, buffers, x, y)
            optimizer.step(list(grads.values()))
            loss_sum += loss * y.shape[1]
            correct += (out.argmax(-1) == y).sum(1)
        return [(total.item() / n, 100.0 * right.item() / n) for total, right in zip(loss_sum, correct)]

    def reports(x, y):
        return _reports(skeleton, params, buffers, data, x, y)

    def save(epoch):
        if epoch in training.keep:
            for i, (c, folder) in enumerate(zip(configs, checkpoint_dirs)):
                _snapshot(folder, c, skeleton, params, buffers, i, epoch)

    training.loop(optimizer, data.counts, train_one=train_one, evaluate=lambda rows: add_reports(rows, data, reports),
                  save=save if checkpoint_dirs else None, progress=progress,
                  before_epoch=lambda epoch: optimizer.rhos.copy_(torch.tensor([rho_of(c, epoch) for c in configs])))
    return training.records(reports(data.train_x, data.train_y), data.counts, data.class_names, data.groups,
                            stacked_runs=len(configs), channels_last=False, data_sha256=data_sha256)


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
