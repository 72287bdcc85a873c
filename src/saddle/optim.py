"""SAM (Foret et al. 2021) in the two-step form of davda54/sam, and the learning-rate / rho schedules."""
from __future__ import annotations

import math

import torch


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation around any base optimizer.

    first_step: climb to w + eps, with eps = rho * g / ||g|| (normalized=True, what the experiments use) or
    eps = rho * g (normalized=False, the form Theorem 2 analyses); adaptive=True scales g by abs(w) (ASAM).
    second_step: return to w and let the base optimizer step with the gradient taken at w + eps.
    The base optimizer's state (momentum) is what state_dict saves, so a resumed run keeps its momentum."""

    def __init__(self, params, base_optimizer=torch.optim.SGD, rho: float = 0.05, adaptive: bool = False,
                 normalized: bool = True, **kwargs):
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        super().__init__(params, dict(rho=rho, adaptive=adaptive, normalized=normalized, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)
        self._origin: dict[torch.Tensor, torch.Tensor] = {}

    @torch.no_grad()
    def first_step(self, zero_grad: bool = False):
        norm = self._grad_norm()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            scale = group["rho"] / (norm + 1e-12) if group["normalized"] else group["rho"]
            self._origin.update(zip(params, torch._foreach_mul(params, 1.0)))  # copies of w, to return to
            step = torch._foreach_mul([p.grad for p in params], scale)
            if group["adaptive"]:
                torch._foreach_mul_(step, torch._foreach_mul(params, params))
            torch._foreach_add_(params, step)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False):
        if self._origin:
            torch._foreach_copy_(list(self._origin), list(self._origin.values()))
        self._origin.clear()
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """One full SAM step; closure must recompute the loss and call backward."""
        if closure is None:
            raise ValueError("SAM.step needs a closure that re-evaluates the loss; or call first_step/second_step")
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=True)
        closure()
        self.second_step()

    def _grad_norm(self) -> torch.Tensor:
        grads = [(p.grad * p.abs()) if g["adaptive"] else p.grad
                 for g in self.param_groups for p in g["params"] if p.grad is not None]
        return torch.stack(torch._foreach_norm(grads, 2)).norm(2)

    def state_dict(self):
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups


def phase_epochs(epochs: int) -> tuple[int, int, int]:
    """(warm-up length, first drop, second drop) in epochs: 5, 160 and 180 of 200, as fractions elsewhere."""
    return max(1, round(epochs * 5 / 200)), round(epochs * 160 / 200), round(epochs * 180 / 200)


def cifar_lr(epoch: int, epochs: int, base_lr: float = 0.1) -> float:
    """The official CIFAR schedule for 0-based `epoch`: linear warm-up, then x0.01 and x0.0001 (LDAM-DRW)."""
    warmup, drop1, drop2 = phase_epochs(epochs)
    e = epoch + 1
    if e <= warmup:
        return base_lr * e / warmup
    if e > drop2:
        return base_lr * 1e-4
    if e > drop1:
        return base_lr * 1e-2
    return base_lr


def cosine_lr(epoch: int, epochs: int, base_lr: float) -> float:
    """CosineAnnealingLR(T_max=epochs, eta_min=0), stepped once per epoch (the large-scale scripts)."""
    return base_lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))


def drw_active(epoch: int, epochs: int) -> bool:
    """Deferred re-weighting switches on with the first LR drop (0-based epoch 160 of 200)."""
    return epoch >= phase_epochs(epochs)[1]


def rho_at(epoch: int, epochs: int, rho: float, steps: tuple | None = None) -> float:
    """Constant rho, or the large-scale step schedule: steps[0] for epochs 1-5, steps[1] to 60, steps[2] to 75,
    steps[3] after (of 90; fractions elsewhere)."""
    if not steps:
        return rho
    e = epoch + 1
    bounds = [round(epochs * f) for f in (5 / 90, 60 / 90, 75 / 90)]
    for bound, value in zip(bounds, steps):
        if e <= bound:
            return value
    return steps[-1]
