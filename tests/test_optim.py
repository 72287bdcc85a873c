import math

import pytest
import torch

from saddle import optim


def quadratic_setup(normalized, momentum=0.0):
    A = torch.tensor([[3.0, 0.5], [0.5, -1.0]])
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.SAM([w], torch.optim.SGD, rho=0.3, normalized=normalized, lr=0.1, momentum=momentum)
    loss = lambda: 0.5 * w @ A @ w
    return A, w, opt, loss


@pytest.mark.parametrize("normalized", [True, False])
def test_one_sam_step_by_hand(normalized):
    A, w, opt, loss = quadratic_setup(normalized)
    w0 = w.detach().clone()
    g = A @ w0
    eps = 0.3 * g / g.norm() if normalized else 0.3 * g
    expected = w0 - 0.1 * (A @ (w0 + eps))
    loss().backward()
    opt.first_step(zero_grad=True)
    assert torch.allclose(w.detach(), w0 + eps)
    loss().backward()
    opt.second_step(zero_grad=True)
    assert torch.allclose(w.detach(), expected)


def test_gradient_norm_is_float32_for_bf16_parameters():
    """SAM's radius divides by ||g||: with bf16 parameters (or gradients) it is still formed in float32."""
    w = torch.nn.Parameter(torch.zeros(100_000, dtype=torch.bfloat16))
    w.grad = torch.ones_like(w)
    norm = optim.SAM([w], torch.optim.SGD, rho=0.05, lr=0.1)._grad_norm()
    assert norm.dtype == torch.float32 and norm.item() == pytest.approx(math.sqrt(100_000), rel=1e-6)


def test_state_dict_keeps_momentum():
    _, w, opt, loss = quadratic_setup(True, momentum=0.9)
    for _ in range(2):
        loss().backward()
        opt.first_step(zero_grad=True)
        loss().backward()
        opt.second_step(zero_grad=True)
    state = opt.state_dict()
    _, w2, fresh, _ = quadratic_setup(True, momentum=0.9)
    fresh.load_state_dict(state)
    buf = fresh.base_optimizer.state[w2]["momentum_buffer"]
    assert torch.allclose(buf, opt.base_optimizer.state[w]["momentum_buffer"])
    assert fresh.param_groups[0]["rho"] == 0.3 and fresh.param_groups is fresh.base_optimizer.param_groups


def test_negative_rho_rejected():
    with pytest.raises(ValueError, match="rho must be >= 0, got -0.1"):
        optim.SAM([torch.nn.Parameter(torch.zeros(1))], rho=-0.1, lr=0.1)


def test_cifar_lr_at_key_epochs():
    lr = lambda e: optim.cifar_lr(e, 200, 0.1)  # 0-based epochs
    assert math.isclose(lr(0), 0.02) and math.isclose(lr(4), 0.1) and lr(5) == 0.1 and lr(159) == 0.1
    assert math.isclose(lr(160), 1e-3) and math.isclose(lr(179), 1e-3)
    assert math.isclose(lr(180), 1e-5) and math.isclose(lr(199), 1e-5)
    assert optim.phase_epochs(100) == (2, 80, 90)


def test_drw_switch_and_cosine():
    assert not optim.drw_active(159, 200) and optim.drw_active(160, 200)
    assert optim.cosine_lr(0, 90, 0.2) == 0.2 and math.isclose(optim.cosine_lr(45, 90, 0.2), 0.1)


def test_rho_step_schedule():
    steps = (0.05, 0.1, 0.5, 0.6)
    assert [optim.rho_at(e, 90, 0.0, steps) for e in (0, 4, 5, 59, 60, 74, 75, 89)] == \
        [0.05, 0.05, 0.1, 0.1, 0.5, 0.5, 0.6, 0.6]
    assert optim.rho_at(10, 90, 0.3) == 0.3


def test_perturbed_sgd_adds_gaussian_noise_to_the_gradient():
    w = torch.nn.Parameter(torch.zeros(20000))
    opt = optim.PerturbedSGD([w], sigma=1e-2, generator=torch.Generator().manual_seed(3), lr=1.0)
    (w * 0.5).sum().backward()  # gradient 0.5 everywhere
    opt.step()
    expected = -(0.5 + 1e-2 * torch.randn(20000, generator=torch.Generator().manual_seed(3)))
    assert torch.allclose(w.detach(), expected, atol=1e-7)
    assert abs((w.detach() + 0.5).std().item() / 1e-2 - 1) < 0.03


def test_perturbed_sgd_with_sigma_zero_is_sgd():
    A = torch.tensor([[3.0, 0.5], [0.5, -1.0]])
    ws = [torch.nn.Parameter(torch.tensor([1.0, -2.0])) for _ in range(2)]
    opts = [optim.PerturbedSGD([ws[0]], sigma=0.0, lr=0.1, momentum=0.9),
            torch.optim.SGD([ws[1]], lr=0.1, momentum=0.9)]
    for _ in range(3):
        for w, opt in zip(ws, opts):
            opt.zero_grad()
            (0.5 * w @ A @ w).backward()
            opt.step()
    assert torch.equal(ws[0], ws[1])
    with pytest.raises(ValueError, match="sigma must be >= 0, got -1"):
        optim.PerturbedSGD([ws[0]], sigma=-1, lr=0.1)


def test_low_pass_noise_is_scaled_per_filter_and_restored_exactly():
    conv = torch.nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.randn_like(conv.weight) * torch.tensor([1.0, 10.0, 100.0, 1000.0]).view(4, 1, 1, 1))
    before = [p.detach().clone() for p in conv.parameters()]
    opt = optim.LowPassSGD(conv.parameters(), radius=1e-3, generator=torch.Generator().manual_seed(0), lr=0.1)
    ratios = []
    for _ in range(200):
        opt.perturb()
        noise = conv.weight.detach() - before[0]
        ratios.append(noise.flatten(1).std(dim=1) / (1e-3 * before[0].flatten(1).norm(dim=1)))
        opt.restore()
    assert torch.allclose(torch.stack(ratios).mean(0), torch.ones(4), atol=0.03)  # std = radius * ||filter||
    assert all(torch.equal(p, b) for p, b in zip(conv.parameters(), before))
    opt.perturb()
    with pytest.raises(RuntimeError, match="without restore"):
        opt.perturb()


def test_low_pass_gradient_with_radius_zero_is_the_batch_gradient():
    """The M parts, each weighted by its share, add up to the whole batch's gradient (uneven parts too)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x, y = torch.randn(37, 5), torch.randint(0, 3, (37,))
    criterion = torch.nn.CrossEntropyLoss()
    before = criterion(model(x), y)
    before.backward()
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    opt = optim.LowPassSGD(model.parameters(), radius=0.0, samples=8, lr=0.1)
    loss, out = opt.step_batch(optim.Batch(model, criterion, x, y))
    assert out.shape == (37, 3) and torch.allclose(loss, before)
    assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(model.parameters(), full))


def test_low_pass_gradient_smooths_the_loss():
    """For f(w) = w^4 / 4 the Gaussian-smoothed gradient is w^3 + 3 s^2 w (s the noise std): the Monte-Carlo
    mean of LPF-SGD's gradient converges to it, not to the plain gradient w^3."""
    w = torch.nn.Parameter(torch.tensor([2.0]))
    opt = optim.LowPassSGD([w], radius=0.1, samples=1, generator=torch.Generator().manual_seed(0), lr=0.1)
    grads = []
    for _ in range(20000):
        opt.zero_grad()
        opt.perturb()
        (w ** 4 / 4).sum().backward()
        opt.restore()
        grads.append(w.grad.item())
    s = 0.1 * 2.0  # radius times ||w||
    assert abs(sum(grads) / len(grads) - (8 + 3 * s ** 2 * 2)) < 0.02


class TinyNet(torch.nn.Module):
    """features -> linear, the shape CC-SAM needs, small enough to compute every step by hand (float64)."""

    def __init__(self, classes=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Linear(4, 5).double()
        self.linear = torch.nn.Linear(5, classes).double()

    def features(self, x):
        return torch.tanh(self.body(x))

    def forward(self, x):
        return self.linear(self.features(x))


def _batch(seed=1, labels=(0, 0, 0, 1, 1, 2)):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(len(labels), 4, generator=gen, dtype=torch.float64), torch.tensor(labels)


def _flat_grad(loss, params):
    return torch.autograd.grad(loss, params)


def test_imbsam_step_matches_the_hand_computed_one():
    """w' = w - lr (grad L_head(w) + grad L_tail(w + eps)), eps = rho g_tail / ||g_tail||, shares over the batch."""
    x, y = _batch()
    model, reference = TinyNet(), TinyNet()
    params = list(reference.parameters())
    ce = lambda out, t: torch.nn.functional.cross_entropy(out, t, reduction="sum") / len(y)
    tail = y == 2
    g_head = _flat_grad(ce(reference(x)[~tail], y[~tail]), params)
    g_tail = _flat_grad(ce(reference(x)[tail], y[tail]), params)
    norm = torch.sqrt(sum((g ** 2).sum() for g in g_tail)) + 1e-12  # SAM's guard against a zero gradient
    rho, lr = 0.3, 0.1
    with torch.no_grad():
        for p, g in zip(params, g_tail):
            p.add_(rho * g / norm)
    g_tail_at = _flat_grad(ce(reference(x)[tail], y[tail]), params)
    expected = [p0 - lr * (gh + gt) for p0, gh, gt in zip(TinyNet().parameters(), g_head, g_tail_at)]
    opt = optim.ImbSAM(model.parameters(), torch.optim.SGD, rho=rho, lr=lr, tail=[2])
    criterion = torch.nn.CrossEntropyLoss()
    opt.step_batch(optim.Batch(model, criterion, x, y))
    for p, e in zip(model.parameters(), expected):
        assert torch.allclose(p, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("tail,same_as", [([], "sgd"), ([0, 1, 2], "sam")])
def test_imbsam_degenerate_cases(tail, same_as):
    """No tail image in the batch: one SGD step. Every class in the tail: one SAM step."""
    x, y = _batch()
    model, other = TinyNet(), TinyNet()
    criterion = torch.nn.CrossEntropyLoss()
    optim.ImbSAM(model.parameters(), rho=0.3, lr=0.1, tail=tail).step_batch(optim.Batch(model, criterion, x, y))
    if same_as == "sgd":
        opt = torch.optim.SGD(other.parameters(), lr=0.1)
        criterion(other(x), y).backward()
        opt.step()
    else:
        opt = optim.SAM(other.parameters(), rho=0.3, lr=0.1)
        criterion(other(x), y).backward()
        opt.first_step(zero_grad=True)
        criterion(other(x), y).backward()
        opt.second_step(zero_grad=True)
    for a, b in zip(model.parameters(), other.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_imbsam_tail_is_the_classes_under_eta():
    assert optim.tail_classes([500, 299, 179, 107, 64, 38, 23, 13, 8, 5], eta=20).tolist() == [7, 8, 9]
    assert optim.tail_classes([100, 50], eta=20).tolist() == []


def test_ccsam_loss_matches_the_hand_computed_one():
    """(1 - a) CE(w) + a sum_c share_c CE_c(theta + rho_c g_c / ||g_c||), rho_c = rho (n_max / n_c)^gamma, classifier
    only; with DRW weights each class's share is its summed weight over the batch's."""
    x, y = _batch()
    counts, rho, gamma, a = [100, 10, 1], 0.2, 0.25, 0.3
    weight = torch.tensor([0.2, 0.8, 2.0], dtype=torch.float64)
    criterion = torch.nn.CrossEntropyLoss(weight=weight)
    model = TinyNet()
    opt = optim.ClassConditionalSAM(model.parameters(), counts, rho=rho, gamma=gamma, weight=a, lr=0.1)
    loss, _ = opt.loss(optim.Batch(model, criterion, x, y))
    feats = model.features(x)
    W, b = model.linear.weight, model.linear.bias
    expected = (1 - a) * criterion(feats @ W.T + b, y)
    total = weight[y].sum()
    for c in (0, 1, 2):
        m = y == c
        gW, gb = torch.autograd.grad(criterion(feats[m] @ W.T + b, y[m]), (W, b), retain_graph=True)
        radius = rho * (100 / counts[c]) ** gamma
        norm = torch.sqrt((gW ** 2).sum() + (gb ** 2).sum())
        out_c = feats[m] @ (W + radius * gW / norm).T + (b + radius * gb / norm)
        expected = expected + a * criterion(out_c, y[m]) * weight[y[m]].sum() / total
    assert torch.allclose(loss, expected, rtol=1e-12)
    mine = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    theirs = torch.autograd.grad(expected, list(model.parameters()))
    assert all(torch.allclose(m, t, rtol=1e-10, atol=1e-14) for m, t in zip(mine, theirs))


def test_ccsam_degenerate_cases():
    """rho 0: the plain loss. Equal radii (gamma 0) on a batch of one class with weight 1: SAM on the classifier."""
    x, y = _batch()
    criterion = torch.nn.CrossEntropyLoss()
    model = TinyNet()
    flat = optim.ClassConditionalSAM(model.parameters(), [100, 10, 1], rho=0.0, weight=0.3, lr=0.1)
    assert torch.allclose(flat.loss(optim.Batch(model, criterion, x, y))[0], criterion(model(x), y), rtol=1e-14)
    x1, y1 = _batch(labels=(1, 1, 1, 1))
    ccsam = optim.ClassConditionalSAM(model.parameters(), [100, 10, 1], rho=0.4, gamma=0.0, weight=1.0, lr=0.1)
    loss, _ = ccsam.loss(optim.Batch(model, criterion, x1, y1))
    W, b = model.linear.weight, model.linear.bias
    g = torch.autograd.grad(criterion(model(x1), y1), (W, b))
    norm = torch.sqrt(sum((t ** 2).sum() for t in g))
    with torch.no_grad():
        W.add_(0.4 * g[0] / norm)
        b.add_(0.4 * g[1] / norm)
    assert torch.allclose(loss, criterion(model(x1), y1), rtol=1e-12)
    assert optim.class_radii([100, 25, 1], 0.1).tolist() == pytest.approx([0.1, 0.1 * 2 ** 0.5, 0.1 * 10 ** 0.5])
