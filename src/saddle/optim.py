"""SAM (Foret et al. 2021) in the two-step form of davda54/sam, the two flatness baselines of the paper's
Table 4 (perturbed SGD and low-pass-filter SGD), the two SAM variants that came after the paper (ImbSAM and
CC-SAM), and the learning-rate / rho schedules."""
from __future__ import annotations

import contextlib
import math

import torch

from .losses import image_mass


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """t in float32, or in its own dtype where that is wider (float64)."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


@contextlib.contextmanager
def frozen_bn_statistics(model: torch.nn.Module, freeze: bool):
    """BatchNorm momentum 0 for the duration, so running statistics stay put (davda54's bypass_bn)."""
    saved = {}
    if freeze:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                saved[m] = m.momentum
                m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in saved.items():
            m.momentum = momentum


class Batch:
    """One training batch and its loss at the current weights: what every optimizer's step_batch takes.
    autocast: the forward's context (logits stay float32); freeze_bn: on SAM's second pass; first_pass: the
    ascent pass's context (DDP's no_sync, for each replica's own ascent)."""

    def __init__(self, model, criterion, x, y, *, autocast=contextlib.nullcontext, freeze_bn: bool = False,
                 first_pass=contextlib.nullcontext):
        self.model, self.criterion, self.x, self.y = model, criterion, x, y
        self.autocast, self.freeze_bn, self.first_pass = autocast, freeze_bn, first_pass

    def logits(self, x=None) -> torch.Tensor:
        with self.autocast():
            return at_least_float32(self.model(self.x if x is None else x))

    def loss(self, x=None, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits) of the batch, or of the images x with labels y."""
        out = self.logits(x)
        return self.criterion(out, self.y if y is None else y), out

    def second_pass(self):
        return frozen_bn_statistics(self.model, self.freeze_bn)


class SGD(torch.optim.SGD):
    """torch's SGD with the step every optimizer here has: step_batch(batch) -> (loss, logits) as trained."""

    def step_batch(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        loss, out = self.loss(batch)
        loss.backward()
        self.step()
        return loss.detach(), out

    def loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        return batch.loss()


@torch.no_grad()
def climb(params: list, grads: list, scales, adaptive: bool = False) -> list[torch.Tensor]:
    """SAM's ascent in place: w <- w + s g (s w^2 g for ASAM), s one scale or one per tensor (broadcast over it,
    e.g. one per stacked run). Returns copies of the w it left; come_back(params, them) returns there bit for bit."""
    origin = torch._foreach_mul(params, 1.0)
    step = torch._foreach_mul(grads, scales)
    if adaptive:
        torch._foreach_mul_(step, torch._foreach_mul(params, params))
    torch._foreach_add_(params, step)
    return origin


@torch.no_grad()
def come_back(params: list, origin: list) -> None:
    torch._foreach_copy_(params, origin)


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation around any base optimizer: first_step climbs to w + rho g / ||g|| (rho g with
    normalized=False, the form Theorem 2 analyses; adaptive: ASAM), second_step returns to w and steps with the
    gradient taken there. state_dict is the base optimizer's, so a resumed run keeps its momentum."""

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
        if not any(p.grad is not None for g in self.param_groups for p in g["params"]):
            return  # nothing to climb along (ImbSAM on a batch without tail images)
        norm = self._grad_norm()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            scale = group["rho"] / (norm + 1e-12) if group["normalized"] else group["rho"]
            self._origin.update(zip(params, climb(params, [p.grad for p in params], scale, group["adaptive"])))
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False):
        if self._origin:
            come_back(list(self._origin), list(self._origin.values()))
        self._origin.clear()
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step_batch(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's two passes; returns the loss and logits at w + eps (what the official scripts log)."""
        with batch.first_pass():
            batch.loss()[0].backward()
        self.first_step(zero_grad=True)
        with batch.second_pass():
            loss, out = batch.loss()
            loss.backward()
        self.second_step(zero_grad=True)
        return loss.detach(), out

    def _grad_norm(self) -> torch.Tensor:
        """||g|| in float32 at least (a bf16 sum of squares loses the radius' scale)."""
        grads = [at_least_float32((p.grad * p.abs()) if g["adaptive"] else p.grad)
                 for g in self.param_groups for p in g["params"] if p.grad is not None]
        return torch.stack(torch._foreach_norm(grads, 2)).norm(2)

    def state_dict(self):
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups


class ImbSAM(SAM):
    """ImbSAM (Zhou et al., ICCV 2023; cool-xuan/Imbalanced_SAM): steps with grad L_head(w) + grad L_tail(w + eps),
    SAM's ascent taken on the tail classes' share of the batch loss only (each share normalised by the whole
    batch, as the official code does). tail: the tail's class indices (tail_classes)."""

    def __init__(self, params, base_optimizer=torch.optim.SGD, rho: float = 0.05, tail=(), **kwargs):
        super().__init__(params, base_optimizer, rho=rho, **kwargs)
        self.tail = torch.as_tensor(tail, dtype=torch.long)
        self._head: dict[torch.Tensor, torch.Tensor] = {}

    def step_batch(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The second pass runs the whole batch at w + eps, as the official code does. Returns the loss at w."""
        criterion, y = batch.criterion, batch.y
        loss, out = batch.loss()
        in_tail = torch.isin(y, self.tail.to(y.device))
        share = lambda members: batch_share(criterion, y, members).to(out.dtype)
        head_share = criterion(out[~in_tail], y[~in_tail]) * share(~in_tail) if (~in_tail).any() else None
        tail_share = criterion(out[in_tail], y[in_tail]) * share(in_tail) if in_tail.any() else None
        if head_share is not None:
            head_share.backward(retain_graph=tail_share is not None)
        self.keep_head_gradient()
        if tail_share is not None:
            tail_share.backward()
            self.first_step(zero_grad=True)
            with batch.second_pass():
                again = batch.logits()
                (criterion(again[in_tail], y[in_tail]) * share(in_tail)).backward()
        self.second_step(zero_grad=True)
        return loss.detach(), out

    @torch.no_grad()
    def keep_head_gradient(self):
        """Set the head share's gradient aside (and clear .grad for the tail share's backward)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._head[p] = p.grad.clone()
                    p.grad = None

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False):
        for p, head in self._head.items():
            p.grad = head if p.grad is None else p.grad.add_(head)
        self._head.clear()
        super().second_step(zero_grad)


def tail_classes(counts, eta: int = 20) -> torch.Tensor:
    """ImbSAM's tail: the classes with fewer than eta training images (the official default, eta = 20)."""
    return torch.tensor([c for c, n in enumerate(counts) if n < eta], dtype=torch.long)


def class_radii(counts, rho: float, gamma: float = 0.25) -> torch.Tensor:
    """CC-SAM's radii rho_c = rho (n_max / n_c)^gamma (gamma 1/4, the exponent of the official code's)."""
    n = torch.tensor(counts, dtype=torch.float64)
    return rho * (n.max() / n) ** gamma


class ClassConditionalSAM(SGD):
    """CC-SAM (Zhou et al., CVPR 2023; zzpustc/CC-SAM), its representation stage: SGD on (1 - weight) L(w) +
    weight L_cc, L_cc each class's images through the classifier perturbed by rho_c g_c / ||g_c|| along that
    class's own classifier gradient. Only the classifier is perturbed, as in the official code. The model needs
    `features(x)` and `linear`; rho sits in the param groups so the schedule sets it like SAM's."""

    def __init__(self, params, counts, rho: float = 0.05, gamma: float = 0.25, weight: float = 0.3, **sgd):
        if rho < 0 or not 0 <= weight <= 1:
            raise ValueError(f"rho must be >= 0 and weight in [0, 1], got {rho}, {weight}")
        super().__init__(params, **sgd)
        for group in self.param_groups:
            group["rho"] = rho
        self.counts, self.gamma, self.weight = list(counts), gamma, weight

    def loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The CC-SAM objective of one batch, and the logits at the unperturbed weights (for the accuracy log)."""
        from torch.func import functional_call

        model, criterion, x, y, context = batch.model, batch.criterion, batch.x, batch.y, batch.autocast()
        with context:
            features = model.features(x)
            out = at_least_float32(model.linear(features))
        base = criterion(out, y)
        if self.weight == 0:
            return base, out
        radii = class_radii(self.counts, self.param_groups[0]["rho"], self.gamma).to(out.device, out.dtype)
        names, thetas = zip(*model.linear.named_parameters())
        flat = out.new_zeros(())
        for c in y.unique():
            members = y == c
            grads = torch.autograd.grad(criterion(out[members], y[members]), thetas, retain_graph=True)
            norm = torch.stack([at_least_float32(g).norm() for g in grads]).norm()
            step = radii[c] / (norm + 1e-12)
            perturbed = {n: t + step * g.detach() for n, t, g in zip(names, thetas, grads)}
            with batch.autocast():
                out_c = at_least_float32(functional_call(model.linear, perturbed, (features[members],)))
            flat = flat + criterion(out_c, y[members]) * batch_share(criterion, y, members).to(out.dtype)
        return (1 - self.weight) * base + self.weight * flat, out


def batch_share(criterion, y: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    """The fraction of the batch loss `members` carry (by image_mass, so DRW weights count)."""
    return image_mass(criterion, y[members]) / image_mass(criterion, y)


class PerturbedSGD(SGD):
    """Perturbed gradient descent (Jin et al. 2017), the paper's 'PGD': N(0, sigma^2 I) added to every stochastic
    gradient, drawn from the run's `generator` so a resumed run draws the same noise."""

    def __init__(self, params, sigma: float = 1e-4, generator: torch.Generator | None = None, **sgd):
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        super().__init__(params, **sgd)
        self.sigma, self.generator = sigma, generator

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.add_(torch.randn(p.shape, generator=self.generator, device=p.device, dtype=p.dtype),
                                alpha=self.sigma)
        return super().step(closure)


class LowPassSGD(SGD):
    """Low-pass-filter SGD (Bisla et al. 2022): the gradient of the Gaussian-smoothed loss by Monte Carlo, each of
    `samples` parts of the batch at its own w + eps, eps ~ N(0, (radius ||filter||)^2) per output filter as the
    official code scales it; the step is taken from the unperturbed w."""

    def __init__(self, params, radius: float = 1e-3, samples: int = 8, generator: torch.Generator | None = None,
                 **sgd):
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        super().__init__(params, **sgd)
        self.radius, self.samples, self.generator = radius, samples, generator
        self._origin: dict[torch.Tensor, torch.Tensor] = {}

    @torch.no_grad()
    def perturb(self):
        if self._origin:
            raise RuntimeError("perturb() called twice without restore()")
        params = [p for group in self.param_groups for p in group["params"]]
        noise = [torch.randn(p.shape, generator=self.generator, device=p.device, dtype=p.dtype) for p in params]
        scales = [self.radius * (p.flatten(1).norm(dim=1).view(-1, *[1] * (p.dim() - 1)) if p.dim() > 1
                                 else p.norm() + 1e-16) for p in params]
        self._origin.update(zip(params, climb(params, noise, scales)))  # restore() returns to w bit for bit

    @torch.no_grad()
    def restore(self):
        if self._origin:
            come_back(list(self._origin), list(self._origin.values()))
        self._origin.clear()

    def step_batch(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the loss and logits at the perturbed points."""
        x, y = batch.x, batch.y
        losses, outs = [], []
        for xs, ys in zip(x.chunk(self.samples), y.chunk(self.samples)):
            self.perturb()
            loss, out = batch.loss(xs, ys)
            (loss * len(ys) / len(y)).backward()
            self.restore()
            losses.append(loss.detach() * len(ys) / len(y))
            outs.append(out.detach())
        self.step()
        return torch.stack(losses).sum(), torch.cat(outs)


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


def drw_active(epoch: int, epochs: int, start: int | None = None) -> bool:
    """DRW switches on at 0-based epoch `start`, by default with the first LR drop (the CIFAR recipe)."""
    return epoch >= (phase_epochs(epochs)[1] if start is None else start)


def rho_at(epoch: int, epochs: int, rho: float, steps: tuple | None = None) -> float:
    """Constant rho, or the large-scale steps for epochs 1-5, 6-60, 61-75, 76-90 (of 90; fractions elsewhere)."""
    if not steps:
        return rho
    e = epoch + 1
    bounds = [round(epochs * f) for f in (5 / 90, 60 / 90, 75 / 90)]
    for bound, value in zip(bounds, steps):
        if e <= bound:
            return value
    return steps[-1]
