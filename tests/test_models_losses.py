import pytest
import torch
import torch.nn.functional as F

from saddle import losses, models


@pytest.mark.parametrize("classes,normed,params", [(10, False, 464154), (100, False, 470004),
                                                   (10, True, 464144), (100, True, 469904)])
def test_resnet32_parameter_counts(classes, normed, params):
    model = models.resnet32(num_classes=classes, normed=normed)
    assert sum(p.numel() for p in model.parameters()) == params


def test_family_shapes_and_errors():
    for depth in models.DEPTHS:
        model = models.resnet(depth, num_classes=7, in_channels=1, width=2)
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 7)
    with pytest.raises(ValueError, match="unknown ResNet depth 33"):
        models.resnet(33)
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.build("vgg")


def test_official_state_dict_names():
    keys = models.resnet32().state_dict().keys()
    assert "layer3.4.bn2.running_var" in keys and "linear.weight" in keys
    assert models.resnet32(normed=True).linear.weight.shape == (64, 10)


CIFAR10_LT = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_drw_effective_number_weights():
    w = losses.drw_weights(CIFAR10_LT)
    expected = [0.0506, 0.0769, 0.1211, 0.1950, 0.3188, 0.5246, 0.8683, 1.4426, 2.4092, 3.9927]
    assert torch.allclose(w, torch.tensor(expected), atol=1e-4)
    assert abs(w.sum().item() - 10) < 1e-4


def test_drw_inverse_weights():
    w = losses.drw_weights([100, 10], kind="inverse")
    assert torch.allclose(w, torch.tensor([2 / 11, 20 / 11]))
    with pytest.raises(ValueError, match="unknown DRW weighting 'sqrt'"):
        losses.drw_weights([1, 2], kind="sqrt")


def test_ldam_margins_and_loss():
    m = losses.ldam_margins(CIFAR10_LT, 0.5)
    expected = [0.1581, 0.1797, 0.2042, 0.2321, 0.2638, 0.2998, 0.3407, 0.3872, 0.4405, 0.5000]
    assert torch.allclose(m, torch.tensor(expected), atol=1e-4)
    logits, target = torch.randn(6, 10).tanh(), torch.tensor([0, 9, 3, 3, 5, 1])
    weight = losses.drw_weights(CIFAR10_LT)
    shifted = logits.clone()
    shifted[torch.arange(6), target] -= m[target]
    expected_loss = F.cross_entropy(30 * shifted, target, weight=weight)
    assert torch.allclose(losses.LDAMLoss(CIFAR10_LT, weight=weight)(logits, target), expected_loss)


def test_vs_loss():
    counts = [100, 10]
    loss = losses.VSLoss(counts, gamma=0.5, tau=1.0)
    logits, target = torch.tensor([[1.0, 2.0]]), torch.tensor([1])
    delta = torch.tensor([1.0, 10 ** 0.5])
    iota = torch.log(torch.tensor([100 / 110, 10 / 110]))
    assert torch.allclose(loss(logits, target), F.cross_entropy(logits / delta + iota, target))


def test_criterion_by_name():
    assert isinstance(losses.criterion("ce", [2, 1]), losses.WeightedCE)
    with pytest.raises(ValueError, match="unknown loss 'focal'; accepted: ce, ldam, vs"):
        losses.criterion("focal", [2, 1])
