"""A class's Hessian split into its Gauss-Newton part and the rest, H = G + R.

H = J^T (d2l/dz2) J + sum_k (dl/dz_k) d2z_k/dtheta2: G, the first term, is positive semi-definite for
cross-entropy, so negative eigenvalues of H come from R, which vanishes on confidently fitted images. Products are
exact: H's and R's (the Hessian of ResidualLoss) on saddle.hessian's engine, G's by a jvp then a vjp."""
from __future__ import annotations

import torch
from torch.func import grad, jvp, vjp

from .hessian import FlatLoss, Hessian, second_order_graph, seeded_lanczos
from .config import RunConfig
from .spectra import class_criterion, loss_images, measured_on, snapshot_model, stored_analysis

PARTS = ("H", "G", "R")
KIND = "curvature"  # the analysis records' folder: results/<scale>/curvature/


class ResidualLoss(torch.nn.Module):
    """c . z with c = dl/dz held fixed: the loss's gradient, and Hessian sum_k c_k d2z_k/dtheta2 = H - G."""

    def __init__(self, criterion):
        super().__init__()
        self.criterion = criterion
        self.reduction = getattr(criterion, "reduction", "mean")
        self.weight = getattr(criterion, "weight", None)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            fixed = z.detach().requires_grad_(True)
            (c,) = torch.autograd.grad(self.criterion(fixed, y), fixed)
        return (c * z).sum()


class GaussNewtonSplit:
    """Products of H, G and R with flat vectors, one loss over a fixed set of images, the model in eval mode."""

    def __init__(self, model: torch.nn.Module, criterion, x: torch.Tensor, y: torch.Tensor, batch_size: int = 128):
        flat = FlatLoss(model, criterion)  # the model in eval mode
        self.theta = flat.point
        self.outputs = lambda theta: flat.outputs(theta, x)
        self.output_loss = lambda z: criterion(z, y)
        self.loss = lambda theta: flat(theta, x, y)
        self.z, self.pullback = vjp(self.outputs, self.theta)  # kept: every G product reuses the backward graph
        self.z = self.z.detach()
        batches = list(zip(x.split(batch_size), y.split(batch_size)))
        with second_order_graph(model):  # the graphs are built here; their products need no rewritten forward
            self.engines = {part: Hessian(model, loss, dataloader=batches, reuse_graph=True)
                            for part, loss in (("H", criterion), ("R", ResidualLoss(criterion)))}

    @property
    def dim(self) -> int:
        return self.theta.numel()

    def gradient(self) -> torch.Tensor:
        return grad(self.loss)(self.theta)

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        return self.engines["H"].flat_hvp(v)

    def gvp(self, v: torch.Tensor) -> torch.Tensor:
        jv = jvp(self.outputs, (self.theta,), (v,))[1]
        curved = jvp(grad(self.output_loss), (self.z,), (jv,))[1]
        return self.pullback(curved)[0]

    def rvp(self, v: torch.Tensor) -> torch.Tensor:
        return self.engines["R"].flat_hvp(v)

    def product(self, part: str):
        return {"H": self.hvp, "G": self.gvp, "R": self.rvp}[part]

    def extremes(self, part: str, iters: int = 100, seed: int = 0) -> tuple[float, float]:
        """(lambda_min, lambda_max) of H, G or R by Lanczos from a seeded Gaussian probe."""
        ritz = seeded_lanczos(self.product(part), self.dim, iters, seed, self.theta.dtype, self.theta.device)[0]
        return float(ritz[0]), float(ritz[-1])


def class_split(model, data, classes="all", criterion: str = "ce", iters: int = 100, seed: int = 0,
                max_per_class: int | None = None, config=None) -> dict:
    """Per class: loss, gradient norm, extremes of H, G and R, and lambda_min / ||g|| (a saddle has a small
    gradient; an unfitted point need not)."""
    classes = list(range(data.num_classes)) if classes == "all" else list(classes)
    device = next(model.parameters()).device
    loss = class_criterion(criterion, data.counts, config).to(device)
    rows = {}
    for c in classes:
        x, y = loss_images(data, c, max_per_class)
        if len(y) == 0:
            raise ValueError(f"class {c} has no training images")
        split = GaussNewtonSplit(model, loss, data.normalize(x).to(device), y.to(device))
        g = split.gradient()
        row = {"images": len(y), "loss": float(split.loss(split.theta)), "grad_norm": float(g.norm())}
        for part in PARTS:
            row[f"{part}_min"], row[f"{part}_max"] = split.extremes(part, iters, seed)
        row["lambda_min_over_grad"] = row["H_min"] / row["grad_norm"] if row["grad_norm"] > 0 else float("nan")
        rows[str(c)] = row
    return rows


def split_record(record: dict, epoch: int | None = None, classes=None, iters: int = 100, seed: int = 0,
                 data_root=None, root=None, cache=None, compute: bool = True) -> dict | None:
    """The split of a run's classes (default its tail) at `epoch` (default the last) as an analysis record."""
    config = RunConfig.from_dict(record["config"])
    epoch = epoch or config.epochs
    classes = list(record["groups"]["tail"] if classes is None else classes)
    settings = dict(epoch=epoch, classes=classes, iters=iters, seed=seed)

    def compute_split():
        data, model = snapshot_model(config, epoch, data_root, cache)
        return {"run_id": config.run_id, "label": config.label, "settings": settings,
                "class_names": data.class_names, "classes": class_split(model, data, classes, iters=iters,
                                                                      seed=seed, config=config),
                "provenance": measured_on(data)}
    how = (f"saddle.curvature.split_record(<record of {config.run_id}>, epoch={epoch}, classes={classes}, "
           f"iters={iters}, seed={seed})")
    return stored_analysis(config, KIND, epoch, settings, compute_split, how, root, compute)
