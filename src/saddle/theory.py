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
import pandas as pd
import torch
from tqdm import tqdm

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

@dataclass
class NoisyQuadratic:
    """f_z(w) = 1/2 w'Hw + xi_z'w with H = diag(lam, 1, 2, ...): the stochastic Hessian is H itself, so Theorem 2
    must hold exactly for unnormalised SAM with the same z. v = e_0."""
    lam: float
    dim: int = 4
    noise: float = 1.0

    @property
    def curvatures(self) -> torch.Tensor:
        return torch.tensor([self.lam] + list(range(1, self.dim)), dtype=torch.float64)

    def gradient(self, w: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return self.curvatures * w + xi


def quadratic_check(lam: float, rho: float, samples: int = 20000, dim: int = 4, noise: float = 1.0,
                    normalized: bool = False, same_batch: bool = True, seed: int = 0) -> dict:
    """Monte-Carlo E<v, g_SAM>^2 / E<v, g>^2 on the noisy quadratic at a random point. With same_batch=False the
    ascent uses an independent minibatch z' (not what SAM does; shows why the theorem needs the same z)."""
    problem = NoisyQuadratic(lam, dim, noise)
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=gen, dtype=torch.float64)
    xi = noise * torch.randn(samples, dim, generator=gen, dtype=torch.float64)
    xi_ascent = xi if same_batch else noise * torch.randn(samples, dim, generator=gen, dtype=torch.float64)
    g = problem.gradient(w, xi)
    g_ascent = problem.gradient(w, xi_ascent)
    g_sam = problem.gradient(w + sam_perturbation(g_ascent, rho, normalized), xi)
    ratio, stderr = second_moment_ratio(g_sam[:, 0].numpy(), g[:, 0].numpy())
    return {"lam": lam, "rho": rho, "normalized": normalized, "same_batch": same_batch,
            "measured": ratio, "stderr": stderr, "predicted": float(predicted_ratio(rho, lam))}


# Check 2: a small tanh network at an exact saddle, minibatch gradients.

def saddle_network(n_per_class=(240, 60, 15), dim: int = 4, hidden: int = 2, separation: float = 3.0,
                   offset: float = 0.0, seed: int = 0):
    """A two-layer tanh network on long-tailed Gaussian blobs, at the point W1 = b1 = W2 = 0 and b2 = log class
    frequencies. There the full gradient is exactly zero while the W1-W2 block of the Hessian has eigenvalues
    -+ the singular values of E[(p - onehot) x'], so the point is a genuine saddle (minibatch gradients are not zero).
    `offset` moves the point by that much Gaussian noise. Returns (FlatLoss, point, x, y), all float64."""
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
    """lambda_min and v (Lanczos, eval mode, no augmentation) of the loss the run optimised at `epoch` (its
    criterion, DRW weights included, over the whole training set) and of each tail class's mean CE; then the
    second-moment ratio of SAM's to SGD's stochastic gradient of the optimised loss along each v."""
    from .config import RunConfig
    from .spectra import snapshot_model
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
              "minibatch_gradient_norms": gradients["g"].norm(dim=1).tolist()}
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
    """Check 3 stored as a record of its own under results/<scale>/theory/, keyed by run, epoch and settings;
    compute=False: None where it is not recorded yet."""
    from .config import RunConfig
    from .spectra import stored_analysis

    settings = dict(epoch=epoch, rhos=list(rhos), tail_classes=list(tail_classes), n_batches=n_batches,
                    batch_size=batch_size, iters=iters, seed=seed)
    return stored_analysis(RunConfig.from_dict(record["config"]), "theory", epoch, settings,
                           lambda: trained_network_check(record, epoch, rhos, tail_classes, n_batches, batch_size,
                                                         iters, seed, data_root, cache, progress),
                           chapter3_command(record["config"]["scale"], rhos, seed) + f" (settings: {settings})", root,
                           compute)


def chapter3_command(scale: str, rhos, seed: int) -> str:
    """The chapter-3 run that computes check 3 at `scale` with these radii and probe seed (its other settings are
    the scale's)."""
    return (f"papermill book/03_theorem2.ipynb out.ipynb -p scale {scale} -p table5_rhos \"{list(rhos)}\" "
            f"-p seeds \"[{seed}]\"")


def check3(scale: str, rhos, seed: int = 0, compute: bool = True, root=None, **effort) -> dict | None:
    """Check 3 on the validated protocol's CE+DRW run of `scale`, seed 0, at its last epoch (the run whose
    snapshot is committed), probes seeded by `seed`; compute=False: None where the run or the check is not recorded
    (how chapter 3 at one scale reads the check at another)."""
    from .grid import protocol_config
    from .results import find_record
    from .runs import get_or_run

    config = protocol_config("CE+DRW", scale, seed=0)
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


def escape_steps(toy: SaddleToy, method: str, rho: float = 0.0, lr: float = 0.05, trials: int = 200,
                 max_steps: int = 5000, seed: int = 0) -> np.ndarray:
    """Steps until |v| first reaches half the minimum's distance, per trial, starting at the saddle (inf if it
    never does within max_steps). SAM variants use the same noise draw in both passes, as SAM does."""
    if method not in ESCAPE_METHODS:
        raise ValueError(f"unknown method {method!r}; accepted: {', '.join(ESCAPE_METHODS)}")
    gen = torch.Generator().manual_seed(seed)
    scale = torch.tensor([toy.noise_u, toy.noise_v], dtype=torch.float64)
    w = torch.zeros(trials, 2, dtype=torch.float64)
    steps = np.full(trials, np.inf)
    for step in range(1, max_steps + 1):
        xi = scale * torch.randn(trials, 2, generator=gen, dtype=torch.float64)
        g = toy.gradient(w) + xi
        if method != "sgd":
            g = toy.gradient(w + sam_perturbation(g, rho, method == "sam_normalized")) + xi
        w = w - lr * g
        escaped = (w[:, 1].abs() >= toy.minimum / 2).numpy() & np.isinf(steps)
        steps[escaped] = step
        if np.isfinite(steps).all():
            break
    return steps


# The 2-D saddle drawn (chapter 1): values and single paths of the Check 4 toy.

def toy_value(toy: SaddleToy, w: torch.Tensor) -> torch.Tensor:
    """f(u, v) of the toy at points w [..., 2]. SaddleToy only gives gradients (all an optimiser needs); a contour
    plot needs the values."""
    u, v = w[..., 0], w[..., 1]
    return toy.a * u ** 2 / 2 + toy.lam * v ** 2 / 2 + toy.c * v ** 4 / 4


def toy_trajectory(toy: SaddleToy, start, method: str = "sgd", rho: float = 0.0, lr: float = 0.05,
                   steps: int = 300, seed: int = 0) -> np.ndarray:
    """One path [steps + 1, 2] of SGD, unnormalised or normalised SAM on the toy from `start`, with escape_steps'
    update (the toy's gradient noise, the same draw in both SAM passes). escape_steps only counts steps over many
    trials; a path is what one draws on the contour plot to see where each optimiser goes."""
    if method not in ESCAPE_METHODS:
        raise ValueError(f"unknown method {method!r}; accepted: {', '.join(ESCAPE_METHODS)}")
    gen = torch.Generator().manual_seed(seed)
    scale = torch.tensor([toy.noise_u, toy.noise_v], dtype=torch.float64)
    w = torch.tensor([list(start)], dtype=torch.float64)
    path = [w[0]]
    for _ in range(steps):
        xi = scale * torch.randn(1, 2, generator=gen, dtype=torch.float64)
        g = toy.gradient(w) + xi
        if method != "sgd":
            g = toy.gradient(w + sam_perturbation(g, rho, method == "sam_normalized")) + xi
        w = w - lr * g
        path.append(w[0])
    return torch.stack(path).numpy()


def toy_escape_step(toy: SaddleToy, path) -> float:
    """The first step at which a path reaches |v| >= half the minimum's distance (escape_steps' criterion), inf if
    it never does: the number a drawn path is summarised by."""
    reached = np.flatnonzero(np.abs(np.asarray(path)[:, 1]) >= toy.minimum / 2)
    return float(reached[0]) if len(reached) else math.inf


def unnormalised_errors(check: dict) -> list[float]:
    """Relative error of unnormalised SAM's measured ratio against the theorem at each radius of a network check,
    relative to max(prediction, 1) (1 is SGD's own ratio)."""
    return [(row["measured"] - row["predicted"]) / max(row["predicted"], 1) for row in check["table"]
            if row["sam"] == "unnormalised"]


def holds_up_to(check: dict, tolerance: float = 0.15) -> str:
    """The largest rho up to which unnormalised SAM's measured ratio stays within `tolerance` times
    max(prediction, 1), plus two standard errors, of the theorem."""
    good = None
    for row in (x for x in check["table"] if x["sam"] == "unnormalised"):
        if abs(row["measured"] - row["predicted"]) > tolerance * max(row["predicted"], 1) + 2 * row["stderr"]:
            break
        good = row["rho"]
    return "no radius tried" if good is None else f"rho = {good}"


def replacement_error(check: dict) -> float:
    """Mean |H_z term - H term| over mean |H term|: how much replacing the minibatch Hessian H_z by H changes the
    theorem's second-order term, over a network check's minibatches."""
    p = check["projections"]
    return float(np.abs(p["hz_term"] - p["h_term"]).mean() / np.abs(p["h_term"]).mean())


# ---- What chapters 1 and 3 show of the checks: their tables and the numbers their prose quotes. ----

def quadratic_errors(check1: list[dict]) -> list[float]:
    """Check 1's relative errors (measured - predicted) / predicted in the exact setting (same batch, unnormalised):
    the identity holds sample by sample there, so these are rounding errors."""
    return [(r["measured"] - r["predicted"]) / max(r["predicted"], 1e-12) for r in check1
            if r["same_batch"] and not r["normalized"]]


def quadratic_texts(check1: list[dict]) -> dict:
    """The numbers chapter 3 quotes from check 1: points in the exact setting, the worst relative error there, and
    the measured ratio with a fresh batch at rho lambda = -1 (where the theorem predicts 0)."""
    errors = quadratic_errors(check1)
    fresh = [r for r in check1 if not r["same_batch"] and r["rho"] * r["lam"] == -1.0]
    return {"check1_points": len(errors), "check1_worst": f"{max(abs(e) for e in errors):.1e}",
            "check1_fresh": f"{fresh[0]['measured']:.2f}" if fresh else "n/a"}


def _ratio_cells(row: dict) -> dict:
    """A ratio row's measured value with its standard error, the theorem's and the Taylor-only prediction, in
    three significant digits (the ratios span 1 to 1e5)."""
    taylor = row.get("taylor_with_Hz")
    return {"rho": row["rho"], "SAM": row["sam"], "measured ± s.e.": f"{row['measured']:.3g} ± {row['stderr']:.2g}",
            "Theorem 2": f"{row['predicted']:.3g}", "Taylor only (H_z)": "" if taylor is None else f"{taylor:.3g}"}


def network_rows(check2: dict) -> pd.DataFrame:
    """Check 2's ratios at both points (name -> network_check result), one row per point, radius and SAM variant."""
    return pd.DataFrame([{"point": name.split(" (")[0], **_ratio_cells(row)}
                         for name, result in check2.items() for row in result["table"]])


def network_texts(close: dict, far: dict) -> dict:
    """The numbers chapter 3 quotes from check 2, close to the saddle and farther away."""
    texts = {}
    for key, check in (("close", close), ("far", far)):
        texts |= {f"check2_lam_{key}": f"{check['lambda_min']:.2f}", f"check2_holds_{key}": holds_up_to(check),
                  f"check2_repl_{key}": f"{100 * replacement_error(check):.0f}%"}
    return texts


def trained_directions(check3: dict) -> pd.DataFrame:
    """Check 3's directions: per loss giving v, its lambda_min and the optimised loss's curvature q = v'Hv along v."""
    return pd.DataFrame([{"loss giving v": name, "lambda_min": d["lambda_min"],
                          "q = v'Hv (optimised)": d["optimised_curvature_along_v"]}
                         for name, d in check3["directions"].items()]).set_index("loss giving v")


def trained_rows(check3: dict) -> pd.DataFrame:
    """Check 3's ratios: one row per direction, radius and SAM variant, with -2/rho beside (the regime bound)."""
    return pd.DataFrame([{"loss giving v": name, **_ratio_cells(row), "-2/rho": -2 / row["rho"]}
                         for name, d in check3["directions"].items() for row in d["table"]])


def regime_gaps(check3: dict, rho: float) -> list[float]:
    """Per minibatch z, lambda_min + 2 ||g_z|| / rho of the optimised loss: negative where normalised SAM at `rho`
    (step rho / ||g_z|| times the gradient) is in the theorem's regime lambda_min < -2 ||g_z|| / rho."""
    lam = check3["directions"]["optimised"]["lambda_min"]
    return [lam + 2 * n / rho for n in check3.get("minibatch_gradient_norms") or []]


def regime_claim(rho: float) -> str:
    """Check 3's claim, as judged at every scale."""
    return f"the optimised loss is in the regime lambda_min < -2 ||g_z|| / rho (normalised SAM, rho {rho:g})"


def regime_row(check3: dict | None, rho: float) -> dict | None:
    """Check 3's regime claim judged by the one rule over the record's minibatches; None where the record is missing
    or keeps no minibatch gradient norms."""
    from .scorecard import claim_row
    gaps = regime_gaps(check3, rho) if check3 is not None else []
    return claim_row(regime_claim(rho), dict(enumerate(gaps)), "lowers") if gaps else None


def check3_elsewhere_verdict(check3: dict | None, rho: float) -> str:
    """Check 3's verdict at another scale, for the scorecard's table: the rule's word, or why there is none."""
    if check3 is None:
        return "not computed"
    row = regime_row(check3, rho)
    return row["verdict"] if row is not None else "not judged (no minibatch gradient norms kept)"


def check3_elsewhere(check3: dict | None, rho: float, scale: str, command: str) -> str:
    """A sentence on check 3 at another scale, read from its record: the optimised loss's lambda_min, the median
    minibatch gradient norm, the bound they give and the verdict (by the one rule; the check at each scale is a
    family of its own, scorecard.FAMILIES); `command` computes it where it is missing."""
    from .scorecard import UNTESTED
    if check3 is None:
        return f"Check 3 on the {scale} scale's network is not computed yet: `{command}` computes it."
    lam = check3["directions"]["optimised"]["lambda_min"]
    opening = f"On the {scale} scale's CE+DRW network (seed 0, last epoch) the optimised loss has lambda_min {lam:.2f}"
    row = regime_row(check3, rho)
    if row is None:  # a record from before the minibatch gradient norms were kept
        return opening + ", and its record keeps no minibatch gradient norms, so the regime is not judged there."
    norm = float(np.median(check3["minibatch_gradient_norms"]))
    spread = (f"{row['ours']:+.3g} over one minibatch, no interval" if row["verdict"] in UNTESTED else
              f"{row['ours']:+.3g}, interval [{row['low']:+.3g}, {row['high']:+.3g}], over {row['seeds']} minibatches")
    return (f"{opening} and a median minibatch gradient norm of {norm:.3g}, which puts normalised SAM's bound at rho "
            f"{rho:g} at {-2 * norm / rho:.3g}. Whether this loss is in the regime: {row['verdict']} there (the gap "
            f"lambda_min + 2 ||g_z|| / rho averages {spread}).")


def check3_run(check3: dict, scale: str) -> str:
    """The trained network of check 3 in words, for the chapter: its data and scale, its length, and whether a fresh
    clone can recompute the check (the run's snapshot at that epoch committed)."""
    from .checkpoints import snapshot_name
    from .results import results_dir
    from .saddle_claims import scale_words
    committed = (results_dir() / scale / "checkpoints" / check3["run_id"] / snapshot_name(check3["epoch"])).exists()
    return (f"trained for {check3['epoch']} epochs on {scale_words(scale)}, seed 0, with a validation split held "
            "out; " +
            ("its last snapshot is committed, so a fresh clone can recompute this check" if committed else
             "its snapshot is not committed, so the check needs the run trained here first"))


def trained_texts(check3: dict, rhos) -> dict:
    """The numbers chapter 3 quotes from check 3 on the trained network, at the largest of `rhos`."""
    optimised, rho = check3["directions"]["optimised"], max(rhos)
    unnormalised = {row["rho"]: row for row in optimised["table"] if row["sam"] == "unnormalised"}[rho]
    tail = {k: d for k, d in check3["directions"].items() if k != "optimised"}
    steepest = min(tail, key=lambda k: tail[k]["lambda_min"])
    norms = check3.get("minibatch_gradient_norms")
    return {"check3_lam": f"{optimised['lambda_min']:.2f}", "check3_bound": f"{-2 / rho:.2f}",
            "check3_regime": "is" if any(optimised["lambda_min"] < -2 / r for r in rhos) else "is not",
            "check3_rho": rho, "check3_measured": f"{unnormalised['measured']:.3g}",
            "check3_predicted": f"{unnormalised['predicted']:.3g}",
            "check3_taylor": f"{unnormalised['taylor_with_Hz']:.3g}", "check3_tail": steepest,
            "check3_tail_lam": f"{tail[steepest]['lambda_min']:.2f}",
            "check3_tail_q": f"{tail[steepest]['optimised_curvature_along_v']:.3g}",
            "check3_grad_norm": f"{np.median(norms):.3g}" if norms else "not recorded",
            "check3_eff_bound": f"{-2 * np.median(norms) / rho:.3g}" if norms else "not recorded"}


def escape_table(toy: SaddleToy, rhos, seeds, trials: int, max_steps: int) -> tuple[pd.DataFrame, dict]:
    """Check 4: median escape steps and the share of trials still trapped, for unnormalised and normalised SAM at
    each radius, every seed's trials pooled; and the steps themselves by ('sgd', 0.0) or (method, rho)."""
    def pooled(method, rho=0.0):
        return np.concatenate([escape_steps(toy, method, rho, trials=trials, max_steps=max_steps, seed=s)
                               for s in seeds])
    steps = {("sgd", 0.0): pooled("sgd")} | {(m, r): pooled(m, r) for m in ("sam", "sam_normalized") for r in rhos}
    rows = [{"method": "unnormalised SAM" if m == "sam" else "normalised SAM", "rho": r,
             "median_steps": float(np.median(s)), "trapped": float(np.isinf(s).mean())}
            for (m, r), s in steps.items() if m != "sgd"]
    return pd.DataFrame(rows), steps


def censored_differences(steps, baseline, max_steps: int) -> list[float]:
    """Trial-by-trial step differences against `baseline` (same seeds); a trial still at the saddle counts as
    max_steps, so a trapped trial is a long one rather than a missing one."""
    return (np.minimum(steps, max_steps) - np.minimum(baseline, max_steps)).tolist()


def escape_texts(escape: pd.DataFrame, sgd_median: float, max_steps: int) -> dict:
    """The numbers chapter 3 quotes from check 4: SGD's median, unnormalised SAM's slow and trapped radii, and the
    radii at which normalised SAM escapes faster than SGD."""
    unnormalised = escape[escape["method"] == "unnormalised SAM"]
    normalised = escape[escape["method"] == "normalised SAM"]
    free = unnormalised[unnormalised["trapped"] == 0]
    return {"check4_sgd": f"{sgd_median:.0f}", "check4_max": max_steps,
            "check4_unnorm_verdict": "never escapes faster" if (unnormalised["median_steps"] >= sgd_median).all()
            else "escapes faster for some radii",
            "check4_slow": ", ".join(f"{m:.0f} at rho {r}" for r, m in zip(free["rho"], free["median_steps"]))
            or "none",
            "check4_trapped": ", ".join(str(r) for r in unnormalised[unnormalised["trapped"] == 1]["rho"]) or "none",
            "check4_norm_fast": ", ".join(f"rho {r} ({m:.0f} steps)" for r, m in zip(normalised["rho"],
                                                                                    normalised["median_steps"])
                                          if m < sgd_median) or "no radius tried"}


def toy_paths(toy: SaddleToy, start, lr: float, steps: int, rhos) -> dict:
    """Chapter 1's drawn paths: gradient descent and normalised SAM at each of `rhos`, from `start`."""
    return {"gradient descent": toy_trajectory(toy, start, "sgd", lr=lr, steps=steps)} | {
        f"SAM, $\\rho$ = {r}": toy_trajectory(toy, start, "sam_normalized", r, lr, steps) for r in rhos}


def toy_texts(toy: SaddleToy, paths: dict, start, lr: float, steps: int, rhos) -> dict:
    """The numbers chapter 1 quotes about the toy and where each drawn path escapes."""
    def when(step):
        return f"at step {step:.0f}" if np.isfinite(step) else f"not within {steps} steps"
    escape = [toy_escape_step(toy, path) for path in paths.values()]  # gradient descent, then each radius
    return {"toy_def": f"a = {toy.a:g}, λ = {toy.lam:g}, c = {toy.c:g}",
            "toy_noise": f"{toy.noise_u:g} along u and {toy.noise_v:g} along v",
            "toy_start": f"(u, v) = ({start[0]:g}, {start[1]:g})", "toy_lr": lr, "toy_min": toy.minimum,
            "toy_half": toy.minimum / 2, "toy_gd_step": when(escape[0]),
            "toy_sam_steps": "; ".join(f"with ρ = {r:g} {when(s)}" for r, s in zip(rhos, escape[1:]))}


def escape_rates(toy: SaddleToy, rhos, lr: float, trials: int, max_steps: int) -> pd.DataFrame:
    """Chapter 1's escape table: per optimiser (gradient descent, normalised SAM at each radius) the share of
    `trials` that leave the saddle within max_steps, and their median step count."""
    runs = [("gradient descent", "sgd", 0.0)] + [(f"normalised SAM, ρ = {r}", "sam_normalized", r) for r in rhos]
    rows = []
    for label, method, rho in runs:
        steps = escape_steps(toy, method, rho, lr, trials, max_steps)
        rows.append({"method": label, "escaped (%)": 100 * float(np.isfinite(steps).mean()),
                     "median steps": float(np.median(steps))})
    return pd.DataFrame(rows).set_index("method")


def escape_phrase(table: pd.DataFrame) -> str:
    """escape_rates' table in a sentence: each optimiser's escaped share and median steps where finite."""
    return "; ".join(f"{label}: {row['escaped (%)']:.0f}% escaped"
                     + (f", median {row['median steps']:.0f} steps" if np.isfinite(row["median steps"]) else "")
                     for label, row in table.iterrows())
