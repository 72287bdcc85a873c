"""Long-tail losses: cross-entropy, LDAM and VS, each optionally class-weighted (DRW)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .checks import check_choice

LOSSES = ("ce", "ldam", "vs")
DRW_KINDS = ("effective", "inverse")


def drw_weights(counts, beta: float = 0.9999, kind: str = "effective") -> torch.Tensor:
    """Per-class weights normalised to sum to the number of classes.

    'effective' (the official code): (1 - beta) / (1 - beta^n_j), Cui et al.'s effective number.
    'inverse' (the paper's Eq. 2): 1 / n_j."""
    check_choice("DRW weighting", kind, DRW_KINDS)
    n = np.asarray(counts, dtype=np.float64)
    w = (1.0 - beta) / (1.0 - np.power(beta, n)) if kind == "effective" else 1.0 / n
    return torch.tensor(w / w.sum() * len(n), dtype=torch.float32)


def ldam_margins(counts, max_margin: float = 0.5) -> torch.Tensor:
    """m_j proportional to n_j^(-1/4), scaled so the rarest class gets max_margin."""
    m = 1.0 / np.sqrt(np.sqrt(np.asarray(counts, dtype=np.float64)))
    return torch.tensor(m * (max_margin / m.max()), dtype=torch.float32)


class LDAMLoss(nn.Module):
    """Label-distribution-aware margin loss (Cao et al. 2019): subtract m_y from the true-class logit, then
    cross-entropy on s times the logits. Meant for the cosine head, whose logits lie in [-1, 1]."""

    def __init__(self, counts, max_margin: float = 0.5, scale: float = 30.0, weight: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("margins", ldam_margins(counts, max_margin))
        self.register_buffer("weight", weight)
        self.scale = scale

    def forward(self, logits, target):
        margin = F.one_hot(target, logits.shape[1]).to(logits.dtype) * self.margins[target, None]
        return F.cross_entropy(self.scale * (logits - margin), target, weight=self.weight)


class VSLoss(nn.Module):
    """Vector-scaling loss (Kini et al. 2021): logits / Delta + iota with Delta_j = (n_max/n_j)^gamma and
    iota_j = tau * log(pi_j), as in the VS-Loss code."""

    def __init__(self, counts, gamma: float = 0.05, tau: float = 0.75, weight: torch.Tensor | None = None):
        super().__init__()
        n = np.asarray(counts, dtype=np.float64)
        self.register_buffer("delta", torch.tensor((n.max() / n) ** gamma, dtype=torch.float32))
        self.register_buffer("iota", torch.tensor(tau * np.log(n / n.sum()), dtype=torch.float32))
        self.register_buffer("weight", weight)

    def forward(self, logits, target):
        return F.cross_entropy(logits / self.delta + self.iota, target, weight=self.weight)


class WeightedCE(nn.Module):
    def __init__(self, weight: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, weight=self.weight)


def image_mass(criterion, y: torch.Tensor) -> torch.Tensor:
    """What labels `y` weigh in the criterion's mean (float64): their count, or their summed class weights (what
    PyTorch's weighted mean divides by)."""
    if getattr(criterion, "reduction", "mean") != "mean":
        raise ValueError(f"image_mass needs a mean loss, got reduction {criterion.reduction!r}")
    weight = getattr(criterion, "weight", None)
    return torch.tensor(float(len(y)), dtype=torch.float64) if weight is None else weight[y].double().sum()


def criterion(loss: str, counts, weight: torch.Tensor | None = None, max_margin: float = 0.5,
              vs_gamma: float = 0.05, vs_tau: float = 0.75) -> nn.Module:
    """A loss by name ('ce', 'ldam', 'vs'), with optional per-class weights."""
    check_choice("loss", loss, LOSSES)
    if loss == "ce":
        return WeightedCE(weight)
    if loss == "ldam":
        return LDAMLoss(counts, max_margin=max_margin, weight=weight)
    return VSLoss(counts, gamma=vs_gamma, tau=vs_tau, weight=weight)
