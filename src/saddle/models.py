"""CIFAR ResNets as in the official code (the 6n+2 family, Idelbayev's implementation via LDAM-DRW): option-A
shortcuts, kaiming-normal init, and LDAM's cosine `NormedLinear` head."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checks import check_choice

DEPTHS = (8, 14, 20, 32, 44, 56)


class NormedLinear(nn.Module):
    """Cosine classifier: logits are cosines between normalised features and normalised class weights."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.weight.data.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    def forward(self, x):
        return F.normalize(x, dim=1).mm(F.normalize(self.weight, dim=0))


class PadShortcut(nn.Module):
    """Option A: take every second pixel and zero-pad the new channels equally on both sides."""

    def __init__(self, in_planes: int, planes: int):
        super().__init__()
        self.pad_before = (planes - in_planes) // 2
        self.pad_after = planes - in_planes - self.pad_before

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad_before, self.pad_after))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = PadShortcut(in_planes, planes) if stride != 1 or in_planes != planes else nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, depth: int = 32, num_classes: int = 10, normed: bool = False, in_channels: int = 3,
                 width: int = 1):
        super().__init__()
        check_choice("ResNet depth", depth, DEPTHS)
        blocks = (depth - 2) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        in_planes = widths[0]
        for stage, planes in enumerate(widths):  # named layer1..3 so official checkpoints load as they are
            stage_blocks = []
            for b in range(blocks):
                stage_blocks.append(BasicBlock(in_planes, planes, stride=2 if stage > 0 and b == 0 else 1))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*stage_blocks))
        self.linear = NormedLinear(in_planes, num_classes) if normed else nn.Linear(in_planes, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def features(self, x):
        """The pooled representation the classifier reads (CC-SAM perturbs the classifier on top of it)."""
        out = self.layer3(self.layer2(self.layer1(F.relu(self.bn1(self.conv1(x))))))
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x):
        return self.linear(self.features(x))


def resnet(depth: int, num_classes: int = 10, normed: bool = False, in_channels: int = 3, width: int = 1):
    return CifarResNet(depth, num_classes, normed, in_channels, width)


def resnet32(**kw):
    """The paper's CIFAR network."""
    return resnet(32, **kw)


def resnet50(num_classes: int, normed: bool = False, **_) -> nn.Module:
    """torchvision's ResNet-50 from scratch (weights=None), as the large-scale scripts use it; LDAM replaces the
    2048 -> C linear layer with the cosine classifier."""
    import torchvision

    model = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    if normed:
        model.fc = NormedLinear(model.fc.in_features, num_classes)
    return model


MODELS = tuple(f"resnet{d}" for d in DEPTHS) + ("resnet50",)


def build(name: str, **kw) -> nn.Module:
    """A model by name, e.g. 'resnet32' (CIFAR ResNets) or 'resnet50' (ImageNet-LT, iNaturalist)."""
    check_choice("model", name, MODELS)
    if name == "resnet50":
        return resnet50(**kw)
    return resnet(int(name.removeprefix("resnet")), **kw)
