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


def test_closure_step_equals_two_steps():
    A, w, opt, loss = quadratic_setup(True)
    loss().backward()
    opt.step(lambda: loss().backward())
    A2, w2, opt2, loss2 = quadratic_setup(True)
    loss2().backward()
    opt2.first_step(zero_grad=True)
    loss2().backward()
    opt2.second_step()
    assert torch.allclose(w, w2)


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
