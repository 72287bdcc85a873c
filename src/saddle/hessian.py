"""The Hessian estimator: PyHessian as the engine, Lanczos, fast Hessian-vector products through BatchNorm
(second_order_graph), and the Spectrum they give (saddle.spectra applies it to a run's snapshot).

PyHessian 0.1 calls torch.eig, which torch removed; its tridiagonal T is symmetric, so density() here uses
torch.linalg.eigh."""
from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from pyhessian import hessian as PyHessian

from .checks import check_choice
from .losses import image_mass


class Hessian(PyHessian):
    """PyHessian's `hessian` on the model's own device, with density() by eigh and seeded probe vectors."""

    def __init__(self, model, criterion, data=None, dataloader=None, reuse_graph: bool = False, shards: int = 1,
                 precision: str = "fp32"):
        """reuse_graph: build each batch's gradient graph once and reuse it for every product. shards: split the
        images into parts formed side by side on one-core threads (on 2 cores 1.8-2x faster than torch's own
        threads). precision: see product_precision."""
        check_choice("precision", precision, PRECISIONS)
        if precision != "fp32" and (next(model.parameters()).dtype != torch.float32 or not any(
                isinstance(m, torch.nn.Conv2d) and "forward" in vars(m) for m in model.modules())):
            raise ValueError(f"precision {precision!r} acts on the convolutions second_order_graph folds: it needs a "
                             "float32 model inside second_order_graph (spectral_density's fast_graph)")
        self.precision = precision
        cuda = next(model.parameters()).is_cuda
        with _create_graph_warning_off(), product_precision(precision):
            super().__init__(model, criterion, data=data, dataloader=dataloader, cuda=cuda)
        self.shard_grads = None
        if dataloader is not None and reuse_graph:
            total = float(sum(image_mass(criterion, y) for _, y in dataloader))
            self.shard_grads = [_mean_gradient_graph(self.model, criterion, part, self.params, total, precision)
                                for part in _split_batches(dataloader, shards)]
            self.gradsH = [sum(grads) for grads in zip(*self.shard_grads)]  # PyHessian's eigenvalues() and trace()
            self.full_dataset = False

    def hvp(self, v):
        if self.full_dataset:
            with _create_graph_warning_off():
                return self.dataloader_hv_product(v)[1]
        if self.shard_grads is None or len(self.shard_grads) == 1:
            return _graph_product(self.gradsH, self.params, v)
        parts = one_core_threads(len(self.shard_grads)).map(lambda grads: _graph_product(grads, self.params, v),
                                                           self.shard_grads)
        return [sum(part) for part in zip(*parts)]

    def dataloader_hv_product(self, v):
        """PyHessian's product over batches read afresh (e.g. re-augmented), weighted by image_mass as the reused
        graphs are, so a weighted loss gives one Hessian on both paths. Returns (v'Hv, Hv)."""
        total, products = 0.0, None
        for x, y in self.data:
            with product_precision(self.precision):
                loss = self.criterion(self.model(x.to(self.device)), y.to(self.device))
            grads = torch.autograd.grad(loss, self.params, create_graph=True)
            mass = float(image_mass(self.criterion, y.to(self.device)))
            hv = [mass * h for h in torch.autograd.grad(grads, self.params, grad_outputs=v)]
            products = hv if products is None else [p + h for p, h in zip(products, hv)]
            total += mass
        products = [p / total for p in products]
        return sum((p * u).sum() for p, u in zip(products, v)).item(), products

    def eigenvalues(self, maxIter=100, tol=1e-6, top_n=1):
        """Top eigenvalue(s) by *magnitude* (power iteration); PyHessian's default tol 1e-3 is ~1.5% off."""
        return super().eigenvalues(maxIter=maxIter, tol=tol, top_n=top_n)

    def density(self, iter=100, n_v=1, generator: torch.Generator | None = None):
        """Stochastic Lanczos quadrature: (Ritz values, weights), n_v lists of `iter` floats each."""
        eigen_runs, weight_runs = [], []
        for _ in range(n_v):
            v0 = _flat([_rademacher(p, generator) for p in self.params])
            alphas, betas, _ = lanczos(self.flat_hvp, v0, iter, generator)
            ritz, vectors = tridiagonal_eigh(alphas, betas)
            eigen_runs.append(ritz.tolist())
            weight_runs.append((vectors[0] ** 2).tolist())
        return eigen_runs, weight_runs

    def flat_hvp(self, v: torch.Tensor) -> torch.Tensor:
        self.model.zero_grad()
        return _flat(self.hvp(list(_unflat(v, self.params))))


@functools.lru_cache(maxsize=None)
def one_core_threads(n: int) -> ThreadPoolExecutor:
    """n threads whose operators run on one thread each (torch's thread count is per thread); kept for reuse."""
    return ThreadPoolExecutor(n, thread_name_prefix="hvp", initializer=torch.set_num_threads, initargs=(1,))


def _split_batches(batches, shards: int) -> list[list]:
    """`shards` near-equal parts, each in near-equal batches no larger than the largest given (75 + 75, not 128 + 22)."""
    x, y = torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
    size = max(len(y) for _, y in batches)
    parts = [(xs, ys) for xs, ys in zip(x.tensor_split(shards), y.tensor_split(shards)) if len(ys)]
    return [list(zip(xs.tensor_split(-(-len(ys) // size)), ys.tensor_split(-(-len(ys) // size))))
            for xs, ys in parts]


def _mean_gradient_graph(model, criterion, batches, params, total: float, precision: str = "fp32"):
    """The batches' gradient, each weighted by image_mass / total, kept differentiable for every product."""
    device = params[0].device
    mean = None
    for x, y in batches:
        with product_precision(precision):
            loss = criterion(model(x.to(device)), y.to(device))
        grads = torch.autograd.grad(loss, params, create_graph=True)
        share = float(image_mass(criterion, y)) / total
        mean = [share * g for g in grads] if mean is None else [m + share * g for m, g in zip(mean, grads)]
    return mean


def _graph_product(grads, params, v):
    """H v from the gradient graph `grads`, kept for the next product (a constant gradient adds nothing)."""
    live = [(g, u) for g, u in zip(grads, v) if g.requires_grad]
    return torch.autograd.grad([g for g, _ in live], params, grad_outputs=[u for _, u in live], retain_graph=True,
                               allow_unused=True, materialize_grads=True)


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _unflat(vector: torch.Tensor, like):
    return (chunk.view_as(p) for chunk, p in zip(torch.split(vector, [p.numel() for p in like]), like))


def lanczos(matvec, v0: torch.Tensor, iters: int, generator: torch.Generator | None = None):
    """Lanczos with full re-orthogonalisation (twice: float32 Gram-Schmidt needs it): (alphas, betas, basis
    rows [iters, dim]). On an invariant subspace it continues from a random direction, as PyHessian does."""
    basis, alphas, betas = [v0 / v0.norm()], [], []
    for i in range(iters):
        w = matvec(basis[-1])
        alphas.append(torch.dot(w, basis[-1]).item())
        if i == iters - 1:
            break
        scale = w.norm().item()
        Q = torch.stack(basis)
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        beta = w.norm().item()
        # What is left after re-orthogonalising is round-off once the Krylov space is exhausted (a low-rank G):
        # treat it as an invariant subspace, or its normalised noise corrupts the tridiagonal
        if beta <= 1e3 * torch.finfo(w.dtype).eps * max(scale, 1e-30):
            beta, w = 0.0, torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
            for _ in range(2):
                w = w - Q.T @ (Q @ w)
        betas.append(beta)
        basis.append(w / w.norm())
    return alphas, betas, torch.stack(basis)


def seeded_lanczos(matvec, dim: int, iters: int, seed: int = 0, dtype=torch.float32, device="cpu"):
    """Lanczos from a seeded Gaussian probe: (Ritz values ascending, their vectors in the Krylov basis, the basis)."""
    generator = torch.Generator().manual_seed(seed)
    v0 = torch.randn(dim, generator=generator, dtype=dtype).to(device)
    alphas, betas, basis = lanczos(matvec, v0, min(iters, dim), generator)
    return (*tridiagonal_eigh(alphas, betas), basis)


def min_eigenpair(matvec, dim: int, iters: int = 50, seed: int = 0, dtype=torch.float32, device="cpu"):
    """(lambda_min, its Ritz vector, the residual ||A v - lambda v||) of a symmetric operator, by Lanczos."""
    ritz, vectors, basis = seeded_lanczos(matvec, dim, iters, seed, dtype, device)
    v = (basis.T.double() @ vectors[:, 0].to(basis.device)).to(dtype)
    v = v / v.norm()
    lam = float(ritz[0])
    return lam, v, float((matvec(v) - lam * v).norm())


class FlatLoss:
    """A model's loss (eval mode) as a function of one flat parameter vector."""

    def __init__(self, model: torch.nn.Module, criterion):
        self.model, self.criterion = model.eval(), criterion
        self.names = [name for name, _ in model.named_parameters()]
        self.params = list(model.parameters())
        self.buffers = dict(model.named_buffers())
        self.point = _flat([p.detach() for p in self.params])

    def outputs(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The logits at theta."""
        return torch.func.functional_call(self.model, (dict(zip(self.names, _unflat(theta, self.params))),
                                                       self.buffers), (x,))

    def __call__(self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(self.outputs(theta, x), y)

    def gradient(self, theta, x, y) -> torch.Tensor:
        return torch.func.grad(self)(theta, x, y)

    def hessian(self, theta, x, y) -> torch.Tensor:
        """Dense Hessian: only for small models."""
        return torch.func.hessian(self)(theta, x, y)

    def hvp_operator(self, theta, x, y):
        """v -> H v at theta on this batch, one graph reused for every product."""
        theta = theta.detach().requires_grad_(True)
        g = torch.autograd.grad(self(theta, x, y), theta, create_graph=True)[0]
        return lambda v: torch.autograd.grad(g, theta, v, retain_graph=True)[0].detach()

    def batched_hvp_operator(self, theta, x, y, batch_size: int = 128):
        """v -> H v at theta over all of (x, y), batch by batch, each graph rebuilt per product: one batch's
        memory whatever the set's size (bench/check3_speed.py). Batches weigh in by image_mass."""
        batches = list(zip(x.split(batch_size), y.split(batch_size)))
        masses = [float(image_mass(self.criterion, yb)) for _, yb in batches]
        shares = [m / sum(masses) for m in masses]

        def product(v):
            point, out = theta.detach().requires_grad_(True), torch.zeros_like(v)
            with second_order_graph(self.model):
                for (xb, yb), share in zip(batches, shares):
                    g = torch.autograd.grad(self(point, xb, yb), point, create_graph=True)[0]
                    out += share * torch.autograd.grad(g, point, v)[0]
            return out
        return product


PRECISIONS = ("fp32", "bf16")
_derivatives = threading.local()  # .dtype: the dtype the folded convolutions' derivatives run in (None: their own)


def product_precision(precision: str):
    """"fp32": products as the model is. "bf16": the folded convolutions keep their float32 forward but
    differentiate through bfloat16 copies of input and weight, so every backward in a product is a bf16
    convolution; the rest stays float32. Autocasting the forward instead put products 10% off (the softmax
    magnifies the logits' rounding); this stays within 5e-3 of the spectral range (tests/test_hessian.py,
    bench/hessian_speed.py)."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "fp32":
        return contextlib.nullcontext()
    return _derivatives_in(torch.bfloat16)


@contextlib.contextmanager
def _derivatives_in(dtype):
    before = getattr(_derivatives, "dtype", None)
    _derivatives.dtype = dtype
    try:
        yield
    finally:
        _derivatives.dtype = before


@contextlib.contextmanager
def _create_graph_warning_off():
    """PyHessian calls backward(create_graph=True), which torch warns about; spectral_density frees the grads."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
        yield


def conv_batchnorm_pairs(model: torch.nn.Module):
    """(convolution, BatchNorm) pairs applied in a row: siblings convK / bnK, or neighbours in an nn.Sequential."""
    for module in model.modules():
        children = dict(module.named_children())
        for name, conv in children.items():
            bn = children.get("bn" + name[4:]) if name.startswith("conv") else None
            if isinstance(module, torch.nn.Sequential):
                following = list(children.values())
                at = following.index(conv)
                bn = following[at + 1] if at + 1 < len(following) else None
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                yield conv, bn


@contextlib.contextmanager
def second_order_graph(model: torch.nn.Module):
    """Eval-mode BatchNorms folded into their convolutions inside the graph, conv(x, W s) + (beta - mu s) with
    s = gamma / sqrt(var + eps): the same function of the same leaves, so the same Hessian, with a cheaper double
    backward (10-25% per product: bench/hessian_speed.py). Pairs already rewritten are left alone (threads may
    share one). Yields the number of pairs rewritten."""
    pairs = [(conv, bn) for conv, bn in conv_batchnorm_pairs(model)
             if "forward" not in vars(conv) and not bn.training and bn.running_var is not None and bn.affine
             and conv.bias is None and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
             and conv.groups == 1 and conv.dilation == (1, 1)]
    for conv, bn in pairs:
        conv.forward = _folded_forward(conv, bn)
        bn.forward = lambda x: x
    try:
        yield len(pairs)
    finally:
        for conv, bn in pairs:
            del conv.forward, bn.forward


def _folded_forward(conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d):
    def forward(x):
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        weight, bias = conv.weight * scale.view(-1, 1, 1, 1), bn.bias - bn.running_mean * scale
        if weight.device.type == "cpu":
            # channels_last throughout: a one-channel input (the first convolution) would otherwise start the
            # network in the default layout, and mixed layouts cost conversions in every product
            weight = weight.contiguous(memory_format=torch.channels_last)
        low = getattr(_derivatives, "dtype", None)
        lows = (x.to(low), weight.to(low)) if low is not None and x.dtype == torch.float32 else (None, None)
        out = _Conv2d.apply(x, weight, bias, conv.stride, conv.padding, *lows)
        return out.contiguous(memory_format=torch.channels_last) if weight.device.type == "cpu" else out
    return forward


class _Conv2d(torch.autograd.Function):
    """conv2d whose backward is conv_transpose2d and convolution_backward, cheap to differentiate (PyTorch's own
    double backward is slow on a CPU). With x_low and weight_low the backward runs on those copies."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, x_low=None, weight_low=None):
        ctx.low = x_low is not None
        ctx.save_for_backward(*((x_low, weight_low) if ctx.low else (x, weight)))
        ctx.stride, ctx.padding = stride, padding
        return torch.nn.functional.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding = ctx.stride, ctx.padding
        if ctx.low:
            grad_bias = grad.sum((0, 2, 3))
            grad_x, grad_weight = _conv_backward(grad.to(x.dtype), x, weight, stride, padding,
                                                 ctx.needs_input_grad[5])
            return None, None, grad_bias, None, None, grad_x, grad_weight
        grad_x, grad_weight = _conv_backward(grad, x, weight, stride, padding, ctx.needs_input_grad[0])
        return grad_x, grad_weight, grad.sum((0, 2, 3)), None, None, None, None


def _conv_backward(grad, x, weight, stride, padding, input_grad: bool = True):
    """The input's gradient (None where it needs none) and the weight's."""
    lost = [x.shape[d] - ((grad.shape[d] - 1) * stride[i] - 2 * padding[i] + weight.shape[d])
            for i, d in enumerate((2, 3))]  # rows/columns a strided convolution dropped at the edge
    grad_x = torch.nn.functional.conv_transpose2d(grad, weight, None, stride, padding, lost) if input_grad else None
    grad_weight = torch.ops.aten.convolution_backward(grad, x, weight, None, stride, padding, (1, 1), False,
                                                      (0, 0), 1, (False, True, False))[1]
    return grad_x, grad_weight


def _rademacher(p: torch.Tensor, generator) -> torch.Tensor:
    signs = torch.randint(0, 2, p.shape, generator=generator, dtype=p.dtype)
    return (2 * signs - 1).to(p.device)


def tridiagonal_eigh(alphas, betas):
    """Eigen-decomposition of the symmetric tridiagonal Lanczos matrix, in float64."""
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if betas:
        off = torch.tensor(betas, dtype=torch.float64)
        T += torch.diag(off, 1) + torch.diag(off, -1)
    return torch.linalg.eigh(T)


@dataclass
class Spectrum:
    """SLQ output: Ritz values and quadrature weights, shape [n_v, iters]."""
    eigenvalues: np.ndarray
    weights: np.ndarray

    @property
    def lambda_min(self) -> float:
        return float(self.eigenvalues.min())

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues.max())

    @property
    def ratio(self) -> float:
        """abs(lambda_min / lambda_max), the paper's measure of non-convexity."""
        return abs(self.lambda_min / self.lambda_max)

    def density(self, grid: np.ndarray | None = None, sigma: float | None = None):
        """Gaussian-broadened density on a grid (sigma: the Gaussians' variance), as PyHessian's density_generate,
        normalised to unit area (the book's figures take it of an asinh-mapped spectrum, their symmetric-log axis)."""
        lo, hi = self.eigenvalues.min(axis=1).mean() - 0.01, self.eigenvalues.max(axis=1).mean() + 0.01
        grid = np.linspace(lo, hi, 10000) if grid is None else np.asarray(grid)
        sigma = 1e-5 * max(1.0, hi - lo) if sigma is None else sigma
        diff = grid[None, None, :] - self.eigenvalues[:, :, None]
        kernel = np.exp(-diff ** 2 / (2 * sigma)) / np.sqrt(2 * np.pi * sigma)
        density = (self.weights[:, :, None] * kernel).sum(axis=1).mean(axis=0)
        area = np.sum(density) * (grid[1] - grid[0]) if len(grid) > 1 else 1.0
        return grid, density / area

    @classmethod
    def from_dict(cls, stored: dict) -> "Spectrum":
        return cls(np.asarray(stored["eigenvalues"]), np.asarray(stored["weights"]))

    def to_dict(self) -> dict:
        return {"eigenvalues": self.eigenvalues.tolist(), "weights": self.weights.tolist(),
                "lambda_min": self.lambda_min, "lambda_max": self.lambda_max}


def spectral_density(model, criterion, data, iters: int = 100, n_v: int = 1, seed: int = 0,
                     reuse_graph: bool = True, fast_graph: bool = True, shards: int | None = None,
                     precision: str = "fp32") -> Spectrum:
    """SLQ spectrum of the mean loss of `data` (one (x, y) batch or an iterable of batches), model in eval mode.
    A list of batches has its graphs built once; any other iterable is read afresh for every product. shards
    None: one per torch thread (>= 32 images each) on a CPU. precision "bf16" is opt-in, never stored."""
    check_choice("precision", precision, PRECISIONS)
    if precision != "fp32" and not fast_graph:
        raise ValueError(f"precision {precision!r} needs fast_graph (it acts on second_order_graph's convolutions)")
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if iters < 1 or iters > n:
        raise ValueError(f"iters must be between 1 and the parameter count {n}, got {iters}")
    model.eval()
    single = isinstance(data, (tuple, list)) and len(data) == 2 and torch.is_tensor(data[0])
    reuse_graph = reuse_graph and not single and isinstance(data, list)
    if shards is None:
        on_cpu = next(model.parameters()).device.type == "cpu"
        images = sum(len(y) for _, y in data) if reuse_graph else 0
        shards = max(1, min(torch.get_num_threads(), images // 32)) if on_cpu else 1
    with second_order_graph(model) if fast_graph else contextlib.nullcontext():
        engine = Hessian(model, criterion, data=data if single else None, dataloader=None if single else data,
                         reuse_graph=reuse_graph, shards=shards, precision=precision)
        eig, w = engine.density(iter=iters, n_v=n_v, generator=torch.Generator().manual_seed(seed))
    model.zero_grad(set_to_none=True)
    return Spectrum(np.asarray(eig), np.asarray(w))
