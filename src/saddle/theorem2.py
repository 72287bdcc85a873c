"""Theorem 2 of the paper, made measurable.

The theorem: for unnormalised SAM with the same minibatch z in both passes, g_SAM = grad f_z(w + rho grad f_z(w)),
and v the eigenvector of the most negative eigenvalue lambda of the Hessian H of f,
    E <v, g_SAM>^2 = (1 + rho lambda)^2 E <v, g>^2.
Its proof takes two steps that can fail: a first-order Taylor expansion of grad f_z around w, and the stochastic
Hessian H_z replaced by H. The functions here measure the left side against the right side on problems where each
step holds or breaks: an exact quadratic, a small network at a true saddle, and a trained network."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from .checks import check_choice
from .hessian import FlatLoss, min_eigenpair


def predicted_ratio(rho, lam):
    """Theorem 2's factor (1 + rho lambda)^2: below 1 for -2/rho < lambda < 0, zero at lambda = -1/rho."""
    return (1.0 + np.asarray(rho) * np.asarray(lam)) ** 2


def sam_perturbation(g: torch.Tensor, rho: float, normalized: bool) -> torch.Tensor:
    """SAM's ascent step: rho g (the theorem's unnormalised SAM) or rho g / ||g|| (what every experiment runs).
    Works on one gradient [dim] or a stack of them [n, dim]."""
    if not normalized:
        return rho * g
    return rho * g / g.norm(dim=-1, keepdim=True).clamp_min(1e-30)


def second_moment_ratio(p_sam, p_sgd) -> tuple[float, float]:
    """E[p_sam^2] / E[p_sgd^2] over paired samples, with its delta-method standard error."""
    a, b = np.asarray(p_sam, dtype=float) ** 2, np.asarray(p_sgd, dtype=float) ** 2
    ratio = a.mean() / b.mean()
    if len(a) < 2:
        return float(ratio), float("nan")
    cov = np.cov(a, b)
    var = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio ** 2 * cov[1, 1]) / (len(a) * b.mean() ** 2)
    return float(ratio), float(math.sqrt(max(var, 0.0)))


# Check 1: a quadratic with additive noise, where H_z = H and the Taylor step is exact.

def quadratic_check(lam: float, rho: float, samples: int = 20000, dim: int = 4, noise: float = 1.0,
                    normalized: bool = False, same_batch: bool = True, seed: int = 0) -> dict:
    """Monte-Carlo E<v, g_SAM>^2 / E<v, g>^2 at a random point of f_z(w) = 1/2 w'Hw + xi_z'w, H = diag(lam, 1, 2,
    ...): the stochastic Hessian is H itself, so Theorem 2 must hold exactly for unnormalised SAM with the same z
    (v = e_0). With same_batch=False the ascent uses an independent minibatch z' (not what SAM does; shows why the
    theorem needs the same z)."""
    curvatures = torch.tensor([lam] + list(range(1, dim)), dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=gen, dtype=torch.float64)
    xi = noise * torch.randn(samples, dim, generator=gen, dtype=torch.float64)
    xi_ascent = xi if same_batch else noise * torch.randn(samples, dim, generator=gen, dtype=torch.float64)
    g = curvatures * w + xi
    g_ascent = curvatures * w + xi_ascent
    g_sam = curvatures * (w + sam_perturbation(g_ascent, rho, normalized)) + xi
    ratio, stderr = second_moment_ratio(g_sam[:, 0].numpy(), g[:, 0].numpy())
    return {"lam": lam, "rho": rho, "normalized": normalized, "same_batch": same_batch,
            "measured": ratio, "stderr": stderr, "predicted": float(predicted_ratio(rho, lam))}


# Check 2: a small tanh network at an exact saddle, minibatch gradients.

def saddle_network(n_per_class=(240, 60, 15), dim: int = 4, hidden: int = 2, separation: float = 3.0,
                   offset: float = 0.0, seed: int = 0):
    """A two-layer tanh network on long-tailed blobs at W1 = b1 = W2 = 0, b2 = log class frequencies: a genuine
    saddle (zero gradient, W1-W2 Hessian block eigenvalues -+ the singular values of E[(p - onehot) x']).
    `offset` moves the point by that much noise. Returns (FlatLoss, point, x, y), float64."""
    gen = torch.Generator().manual_seed(seed)
    classes = len(n_per_class)
    means = separation * torch.randn(classes, dim, generator=gen, dtype=torch.float64)
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(n_per_class)])
    x = means[y] + torch.randn(len(y), dim, generator=gen, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, classes))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model[2].bias.copy_(torch.log(torch.tensor(n_per_class, dtype=torch.float64) / len(y)))
        for p in model.parameters():
            p.add_(offset * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    flat = FlatLoss(model, torch.nn.CrossEntropyLoss())
    return flat, flat.point.clone(), x, y


def minibatch_gradients(flat: FlatLoss, point: torch.Tensor, batches, rhos, progress: bool = False) -> dict:
    """For each minibatch z: g_z, H_z g_z (one Hessian-vector product), and g_SAM for every rho, unnormalised and
    normalised, with the same z in both passes. Stacked: g and Hg [batches, dim], SAM [rhos, batches, dim]."""
    g_list, hg_list = [], []
    sam = {False: [[] for _ in rhos], True: [[] for _ in rhos]}
    for x, y in tqdm(batches, desc="minibatches", disable=not progress):
        g = flat.gradient(point, x, y)
        g_list.append(g)
        hg_list.append(flat.hvp_operator(point, x, y)(g))
        for normalized in (False, True):
            for i, rho in enumerate(rhos):
                sam[normalized][i].append(flat.gradient(point + sam_perturbation(g, rho, normalized), x, y))
    stack = lambda lists: torch.stack([torch.stack(row) for row in lists])
    return {"g": torch.stack(g_list), "Hg": torch.stack(hg_list), "sam": stack(sam[False]),
            "sam_normalized": stack(sam[True])}


def project(gradients: dict, v: torch.Tensor, lam: float) -> dict:
    """Everything Theorem 2 talks about, along v: <v, g_z>, <v, g_SAM> per rho, and the two quantities the proof
    equates, v'H_z g_z (= <H_z g_z, v>, H_z symmetric) and lambda <v, g_z>; also ||g_z|| for normalised SAM."""
    sgd = (gradients["g"] @ v).numpy()
    return {"sgd": sgd, "sam": (gradients["sam"] @ v).numpy(), "sam_normalized": (gradients["sam_normalized"] @ v).numpy(),
            "hz_term": (gradients["Hg"] @ v).numpy(), "h_term": lam * sgd,
            "grad_norm": gradients["g"].norm(dim=1).numpy()}


def ratio_table(projections: dict, rhos, lam: float) -> list[dict]:
    """Measured second-moment ratios per rho next to the theorem's prediction and to the prediction with only the
    Taylor step made (H_z kept): E(<v,g> + rho v'H_z g)^2 / E<v,g>^2."""
    rows = []
    for i, rho in enumerate(rhos):
        taylor = projections["sgd"] + rho * projections["hz_term"]
        for kind, key in (("unnormalised", "sam"), ("normalised", "sam_normalized")):
            measured, stderr = second_moment_ratio(projections[key][i], projections["sgd"])
            row = {"rho": rho, "sam": kind, "measured": measured, "stderr": stderr,
                   "predicted": float(predicted_ratio(rho, lam))}
            if kind == "unnormalised":
                row["taylor_with_Hz"] = second_moment_ratio(taylor, projections["sgd"])[0]
            else:  # normalised SAM is unnormalised SAM with radius rho/||g_z||, batch by batch
                effective = rho / projections["grad_norm"]
                row["predicted"] = second_moment_ratio((1 + effective * lam) * projections["sgd"],
                                                       projections["sgd"])[0]
            rows.append(row)
    return rows


def random_minibatches(n: int, batch_size: int, count: int, seed: int = 0):
    """Index sets of `count` random minibatches drawn without replacement within each batch."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=gen)[:batch_size] for _ in range(count)]


def network_check(rhos, batch_size: int = 32, n_batches: int = 400, seed: int = 0, progress: bool = False,
                  **network) -> dict:
    """Check 2 on `saddle_network`: exact lambda_min and v from the dense Hessian of the full loss, then the
    minibatch projections and the ratio table."""
    flat, point, x, y = saddle_network(seed=seed, **network)
    H = flat.hessian(point, x, y)
    eigenvalues, vectors = torch.linalg.eigh(H)
    lam, v = float(eigenvalues[0]), vectors[:, 0]
    full_gradient = flat.gradient(point, x, y)
    batches = [(x[i], y[i]) for i in random_minibatches(len(y), batch_size, n_batches, seed)]
    projections = project(minibatch_gradients(flat, point, batches, rhos, progress), v, lam)
    return {"lambda_min": lam, "lambda_max": float(eigenvalues[-1]), "parameters": len(point),
            "full_gradient_norm": float(full_gradient.norm()), "projections": projections,
            "table": ratio_table(projections, rhos, lam)}


# Check 3: a trained network (the cpu scale's, or the regime scale's).

def trained_network_check(record: dict, epoch: int, rhos, tail_classes, n_batches: int = 32,
                          batch_size: int = 128, iters: int = 40, seed: int = 0, data_root=None, cache=None,
                          progress: bool = True) -> dict:
    """lambda_min and v (Lanczos, eval mode) of the loss the run optimised at `epoch` and of each tail class's
    mean CE; then the second-moment ratio of SAM's to SGD's stochastic gradient of the optimised loss along each v."""
    from .config import RunConfig
    from .spectra import measured_on, snapshot_model
    from .train import build_criterion

    config = RunConfig.from_dict(record["config"])
    data, model = snapshot_model(config, epoch, data_root, cache)
    optimised = build_criterion(config, data.counts, epoch - 1, "cpu")
    x_all, y_all = data.normalize(data.train_x), data.train_y
    flat = FlatLoss(model, optimised)
    point = flat.point.clone()
    losses = {"optimised": (flat, x_all, y_all)}
    class_loss = FlatLoss(model, torch.nn.CrossEntropyLoss())
    for c in tail_classes:
        losses[data.class_names[c]] = (class_loss, x_all[y_all == c], y_all[y_all == c])
    batches = [(x_all[i], y_all[i]) for i in random_minibatches(len(y_all), batch_size, n_batches, seed)]
    gradients = minibatch_gradients(flat, point, batches, rhos, progress)
    optimised_hvp = flat.batched_hvp_operator(point, x_all, y_all)
    result = {"run_id": config.run_id, "label": config.label, "epoch": epoch, "rhos": list(rhos),
              "batch_size": batch_size, "n_batches": n_batches, "iters": iters, "directions": {},
              # ||g_z|| of each minibatch: normalised SAM's effective radius is rho / ||g_z||
              "minibatch_gradient_norms": gradients["g"].norm(dim=1).tolist(), "provenance": measured_on(data)}
    for name, (loss, x, y) in tqdm(losses.items(), desc="directions", disable=not progress):
        lam, v, residual = min_eigenpair(loss.batched_hvp_operator(point, x, y), len(point), iters, seed)
        curvature_in_optimised = float(v @ optimised_hvp(v))
        projections = project(gradients, v, curvature_in_optimised)
        result["directions"][name] = {
            "lambda_min": lam, "residual": residual, "optimised_curvature_along_v": curvature_in_optimised,
            "table": ratio_table(projections, rhos, curvature_in_optimised)}
    return result


def get_or_check_trained(record: dict, epoch: int, rhos, tail_classes, n_batches: int = 32,
                         batch_size: int = 128, iters: int = 30, seed: int = 0, data_root=None, root=None,
                         cache=None, progress: bool = True, compute: bool = True) -> dict | None:
    """Check 3 as an analysis record under results/<scale>/theory/ (compute=False: None where missing)."""
    from .config import RunConfig
    from .spectra import stored_analysis

    settings = dict(epoch=epoch, rhos=list(rhos), tail_classes=list(tail_classes), n_batches=n_batches,
                    batch_size=batch_size, iters=iters, seed=seed)
    return stored_analysis(RunConfig.from_dict(record["config"]), "theory", epoch, settings,
                           lambda: trained_network_check(record, epoch, rhos, tail_classes, n_batches, batch_size,
                                                         iters, seed, data_root, cache, progress),
                           chapter3_command(record["config"]["scale"], rhos, seed) + f" (settings: {settings})", root,
                           compute)


# Chapter 3's check 3: its radii (the paper's Table 5 values) and its effort at each scale (the regime and paper
# scales take the cpu scale's).
TABLE5_RHOS = (0.1, 0.2, 0.5, 0.8)
CHECK3_EFFORT = {"smoke": dict(n_batches=2, batch_size=32, iters=6),
                 "cpu": dict(n_batches=32, batch_size=128, iters=30)}


def check3_effort(scale: str) -> dict:
    """Check 3's minibatches, their size and its Lanczos steps at `scale` (cpu's where the scale has none)."""
    return dict(CHECK3_EFFORT.get(scale, CHECK3_EFFORT["cpu"]))


def check3_config(scale: str):
    """The run check 3 measures: the validated protocol's CE+DRW run of `scale`, seed 0."""
    from .grid import protocol_config
    return protocol_config("CE+DRW", scale, seed=0)


def chapter3_command(scale: str, rhos, seed: int) -> str:
    """`python -m saddle analyse chapter3` at `scale`, naming what differs from the chapter's defaults."""
    from .runs import analyse_command
    options = {"table5_rhos": list(rhos) if tuple(rhos) != TABLE5_RHOS else None, "seeds": [seed] if seed else None}
    return analyse_command("chapter3", scale, **{k: v for k, v in options.items() if v is not None})


def check3(scale: str, rhos, seed: int = 0, compute: bool = True, root=None, **effort) -> dict | None:
    """Check 3 on check3_config's run at its last epoch, probes seeded by `seed` (compute=False: None where the
    run or the check is not recorded)."""
    from .results import find_record
    from .runs import get_or_run

    config = check3_config(scale)
    record = get_or_run(config, root=root) if compute else find_record(config, root)
    if record is None:
        return None
    return get_or_check_trained(record, config.epochs, rhos, record["groups"]["tail"], seed=seed, root=root,
                                compute=compute, **effort)


# Check 4: escaping a saddle with a bounded minimum.

@dataclass
class SaddleToy:
    """f(u, v) = a u^2 / 2 + lam v^2 / 2 + c v^4 / 4 with lam < 0: a saddle at 0, minima at v = +-sqrt(-lam/c).
    Stochastic gradients add Gaussian noise with standard deviations (noise_u, noise_v)."""
    lam: float = -1.0
    a: float = 1.0
    c: float = 1.0
    noise_u: float = 0.1
    noise_v: float = 1e-3

    def gradient(self, w: torch.Tensor) -> torch.Tensor:
        u, v = w[:, 0], w[:, 1]
        return torch.stack([self.a * u, self.lam * v + self.c * v ** 3], dim=1)

    @property
    def minimum(self) -> float:
        return math.sqrt(-self.lam / self.c)


ESCAPE_METHODS = ("sgd", "sam", "sam_normalized")


def toy_step(toy: SaddleToy, w: torch.Tensor, method: str, rho: float, lr: float, gen) -> torch.Tensor:
    """One step of SGD or SAM on the toy from each row of w, SAM's two passes sharing one noise draw, as SAM does."""
    xi = torch.tensor([toy.noise_u, toy.noise_v], dtype=torch.float64) * torch.randn(
        len(w), 2, generator=gen, dtype=torch.float64)
    g = toy.gradient(w) + xi
    if method != "sgd":
        g = toy.gradient(w + sam_perturbation(g, rho, method == "sam_normalized")) + xi
    return w - lr * g


def escape_steps(toy: SaddleToy, method: str, rho: float = 0.0, lr: float = 0.05, trials: int = 200,
                 max_steps: int = 5000, seed: int = 0) -> np.ndarray:
    """Steps until |v| first reaches half the minimum's distance, per trial, starting at the saddle (inf if it
    never does within max_steps)."""
    check_choice("method", method, ESCAPE_METHODS)
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(trials, 2, dtype=torch.float64)
    steps = np.full(trials, np.inf)
    for step in range(1, max_steps + 1):
        w = toy_step(toy, w, method, rho, lr, gen)
        escaped = (w[:, 1].abs() >= toy.minimum / 2).numpy() & np.isinf(steps)
        steps[escaped] = step
        if np.isfinite(steps).all():
            break
    return steps


# The 2-D saddle drawn (chapter 1): values and single paths of the Check 4 toy.

def toy_value(toy: SaddleToy, w: torch.Tensor) -> torch.Tensor:
    """f(u, v) of the toy at points w [..., 2] (a contour plot needs the values)."""
    u, v = w[..., 0], w[..., 1]
    return toy.a * u ** 2 / 2 + toy.lam * v ** 2 / 2 + toy.c * v ** 4 / 4


def toy_trajectory(toy: SaddleToy, start, method: str = "sgd", rho: float = 0.0, lr: float = 0.05,
                   steps: int = 300, seed: int = 0) -> np.ndarray:
    """One path [steps + 1, 2] of escape_steps' update from `start`: what the contour plot draws."""
    check_choice("method", method, ESCAPE_METHODS)
    gen = torch.Generator().manual_seed(seed)
    w = torch.tensor([list(start)], dtype=torch.float64)
    path = [w[0]]
    for _ in range(steps):
        w = toy_step(toy, w, method, rho, lr, gen)
        path.append(w[0])
    return torch.stack(path).numpy()


def toy_escape_step(toy: SaddleToy, path) -> float:
    """The first step at which a path reaches escape_steps' criterion, inf if it never does."""
    reached = np.flatnonzero(np.abs(np.asarray(path)[:, 1]) >= toy.minimum / 2)
    return float(reached[0]) if len(reached) else math.inf
