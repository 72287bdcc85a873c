"""The Gauss-Newton split H = G + R against dense matrices on a tiny network with BatchNorm."""
import pytest
import torch

from saddle.curvature import GaussNewtonSplit, class_split


def tiny_net(bias: bool = True):
    """bias=False: the convolution and its BatchNorm are a pair second_order_graph folds (the ResNets' case)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=bias), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(18, 3))
    net[1].running_mean.uniform_(-0.2, 0.2)
    net[1].running_var.uniform_(0.5, 1.5)
    return net.double().eval()


def dense(net, x, y):
    """H, G and R as dense matrices from autograd.functional on the flat parameters."""
    from torch.func import functional_call
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for _, p in net.named_parameters()]
    theta = torch.cat([p.detach().reshape(-1) for _, p in net.named_parameters()])
    buffers = dict(net.named_buffers())

    def outputs(flat):
        parts = torch.split(flat, [s.numel() for s in shapes])
        return functional_call(net, {**buffers, **{n: t.view(s) for n, t, s in zip(names, parts, shapes)}}, (x,))
    ce = torch.nn.functional.cross_entropy
    H = torch.autograd.functional.hessian(lambda t: ce(outputs(t), y), theta)
    J = torch.autograd.functional.jacobian(outputs, theta).reshape(-1, theta.numel())
    z = outputs(theta).detach()
    Hz = torch.autograd.functional.hessian(lambda out: ce(out.view_as(z), y), z.reshape(-1))
    G = J.T @ Hz @ J
    return H, G, H - G


@pytest.mark.parametrize("bias", [True, False], ids=["plain graph", "folded graph"])
def test_products_and_extremes_match_the_dense_matrices(bias):
    net = tiny_net(bias)
    torch.manual_seed(1)
    x, y = torch.randn(6, 1, 5, 5, dtype=torch.double), torch.tensor([0, 1, 2, 0, 1, 2])
    H, G, R = dense(net, x, y)
    split = GaussNewtonSplit(net, torch.nn.functional.cross_entropy, x, y)
    v = torch.randn(split.dim, dtype=torch.double)
    for matrix, product in ((H, split.hvp), (G, split.gvp), (R, split.rvp)):
        assert torch.allclose(product(v), matrix @ v, atol=1e-10)
    for name, matrix in (("H", H), ("G", G), ("R", R)):
        exact = torch.linalg.eigvalsh(matrix)
        low, high = split.extremes(name, iters=split.dim)
        assert low == pytest.approx(exact[0].item(), abs=1e-8) and high == pytest.approx(exact[-1].item(), abs=1e-8)
    assert torch.linalg.eigvalsh(G)[0] > -1e-10  # G is positive semi-definite: negative curvature lives in R
    assert torch.linalg.eigvalsh(H)[0] < 0  # and this H has some


def test_residual_curvature_is_small_where_the_images_are_fitted_and_large_where_not():
    net = tiny_net()
    torch.manual_seed(2)
    x = torch.randn(6, 1, 5, 5, dtype=torch.double)
    with torch.no_grad():  # a confident network: its own predictions have small dl/dz, other labels large
        net[4].weight.mul_(40.0)
        net[4].bias.zero_()
    fitted = net(x).argmax(1)
    size = {}
    for name, labels in (("fitted", fitted), ("unfitted", (fitted + 1) % 3)):
        split = GaussNewtonSplit(net, torch.nn.functional.cross_entropy, x, labels)
        size[name] = max(map(abs, split.extremes("R", iters=split.dim)))
    assert size["fitted"] < 0.25 * size["unfitted"]


def test_class_split_reports_each_class_side_by_side():
    from saddle import RunConfig, train
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=20, imbalance=10, epochs=1)
    data = train.load_data(config)
    model = train.build_model(config, data)
    rows = class_split(model, data, classes=[0, 9], iters=8)
    assert set(rows) == {"0", "9"} and rows["9"]["images"] == data.counts[9]
    row = rows["9"]
    assert row["G_min"] > -1e-3 * abs(row["G_max"])
    assert row["lambda_min_over_grad"] == pytest.approx(row["H_min"] / row["grad_norm"])



def test_lanczos_past_the_rank_of_an_operator_in_float32_stays_inside_its_spectrum():
    """A tail class of 5 images has a G of rank <= 50: 100 Lanczos steps past that rank must not turn float32
    round-off into Ritz values of +-3e4 (what they were before breakdown was judged relative to float32)."""
    from saddle.hessian import lanczos, tridiagonal_eigh
    torch.manual_seed(0)
    U = torch.linalg.qr(torch.randn(5000, 50))[0]
    generator = torch.Generator().manual_seed(0)
    alphas, betas, _ = lanczos(lambda v: U @ (torch.linspace(1, 40, 50) * (U.T @ v)),
                               torch.randn(5000, generator=generator), 100, generator)
    ritz, _ = tridiagonal_eigh(alphas, betas)
    assert abs(ritz[0].item()) < 1e-3 and ritz[-1].item() == pytest.approx(40.0, rel=1e-4)
