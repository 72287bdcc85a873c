"""Long-tailed data sets held as uint8 tensors: the official (LDAM-DRW) subset rule kept exactly, random crop
and flip done on whole batches instead of per-image PIL transforms. The raw images come from saddle.sources."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checks import check_choice
from .sources import CIFAR_NAMES, DataError, _cifar, _fashion_mnist, _synthetic, read_cifar10_jpeg

# cifar10-jpeg: CIFAR-10's images and labels from a JPEG re-encode (quality 75, 4:2:0), not the original pixels
# (shared/data/README.md); its runs carry their own dataset name, so they are never mistaken for CIFAR-10's.
DATASETS = ("fashion-mnist", "cifar10", "cifar10-jpeg", "cifar100", "synthetic")
PROFILES = ("exp", "step")

FASHION_MNIST_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Long-tail class order for Fashion-MNIST (label at each position, most frequent first): the classes sorted by
# the per-class test accuracy of a nearest-class-mean classifier on the *balanced* raw pixels, easiest first.
# The rule was fixed before any training run; it puts the mutually confusable upper-body garments in the tail
# (coat, pullover, shirt), so the tail is hard on the test set as on CIFAR-10-LT. `nearest_mean_class_order`
# recomputes it from the files.
FASHION_MNIST_ORDER = (1, 9, 7, 5, 3, 8, 0, 4, 2, 6)
# The class-order control: Fashion-MNIST's own label order (T-shirt most frequent, ankle boot rarest), fixed before
# the control's runs; it puts two easy classes (sneaker, ankle boot) and the bag in the tail.
CLASS_ORDERS = ("calibrated", "natural")

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
FASHION_MEAN, FASHION_STD = (0.286,), (0.353,)


def long_tail_counts(n_max: int, num_classes: int, imbalance: float, profile: str = "exp") -> list[int]:
    """Per-class training counts, most frequent class first, exactly as `imbalance_cifar.py` computes them."""
    check_choice("profile", profile, PROFILES)
    if imbalance < 1:
        raise ValueError(f"imbalance must be >= 1 (n_max / n_min), got {imbalance}")
    factor = 1.0 / imbalance
    if profile == "exp":
        return [int(n_max * factor ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    half = num_classes // 2
    return [int(n_max)] * half + [int(n_max * factor)] * (num_classes - half)


def long_tail_indices(targets, counts, seed: int = 0) -> np.ndarray:
    """The official subset rule: numpy's legacy global seed, then per class in label order shuffle its indices
    and keep the first n. Returns indices into `targets`, grouped class by class."""
    targets = np.asarray(targets)
    np.random.seed(seed)
    kept = []
    for label, n in zip(np.unique(targets), counts):
        idx = np.where(targets == label)[0]
        if len(idx) < n:
            raise ValueError(f"class {label} has {len(idx)} samples, fewer than the {n} the profile asks for")
        np.random.shuffle(idx)
        kept.append(idx[:n])
    return np.concatenate(kept)


def validation_indices(targets, kept: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """`per_class` images of each class drawn from the training images the subset `kept` left out, with a
    generator of its own (numpy's global seed is the official subset rule's)."""
    targets = np.asarray(targets)
    unused = np.ones(len(targets), dtype=bool)
    unused[kept] = False
    rng = np.random.RandomState(seed)
    picked = []
    for label in np.unique(targets):
        idx = np.where((targets == label) & unused)[0]
        if len(idx) < per_class:
            raise ValueError(f"class {label} has {len(idx)} training images outside the long-tailed subset, fewer "
                             f"than the {per_class} validation images asked for; use a smaller val_per_class")
        picked.append(np.sort(rng.permutation(idx)[:per_class]))
    return np.concatenate(picked)


def class_groups(num_classes: int, profile: str) -> dict[str, list[int]]:
    """Head/mid/tail by class index, as the paper defines them (App. C)."""
    if profile == "step":
        half = num_classes // 2
        return {"head": list(range(half)), "tail": list(range(half, num_classes))}
    if num_classes == 100:
        sizes = (36, 35, 29)
    elif num_classes == 10:
        sizes = (3, 4, 3)
    else:  # any other class count: thirds, the middle one taking the remainder
        third = num_classes // 3
        sizes = (third, num_classes - 2 * third, third)
    bounds = np.cumsum((0,) + sizes)
    return {name: list(range(bounds[i], bounds[i + 1])) for i, name in enumerate(("head", "mid", "tail"))}


def count_groups(counts) -> dict[str, list[int]]:
    """The field's many/medium/few grouping: > 100, 20-100, < 20 training images."""
    return {"many": [i for i, n in enumerate(counts) if n > 100],
            "medium": [i for i, n in enumerate(counts) if 20 <= n <= 100],
            "few": [i for i, n in enumerate(counts) if n < 20]}


@dataclass
class LongTailData:
    """A long-tailed training set and its balanced test set, uint8 NCHW; label 0 is the most frequent class."""
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    counts: list[int]
    class_names: list[str]
    mean: tuple
    std: tuple
    groups: dict = field(default_factory=dict)
    val_x: torch.Tensor | None = None  # a balanced validation split drawn from unused training images, or None
    val_y: torch.Tensor | None = None

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    @property
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    def to(self, device) -> "LongTailData":
        for name in ("train_x", "train_y", "test_x", "test_y", "val_x", "val_y"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name).to(device))
        return self

    def digest(self) -> str:
        """SHA-256 of every array a run reads, kept in the provenance: a record made from other files shows."""
        h = hashlib.sha256()
        for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
            array = getattr(self, name)
            h.update(name.encode())
            if array is not None:
                h.update(str(tuple(array.shape)).encode())
                h.update(array.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> normalised float, in one fused step."""
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1) * 255
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1) * 255
        return (x.float() - mean) / std


def augment(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """torchvision's RandomCrop(pad=4) and RandomHorizontalFlip, drawn per image, applied to a whole batch."""
    n, _, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=generator.device)
    flips = torch.rand(n, generator=generator, device=generator.device) < 0.5
    offsets, flips = offsets.to(x.device), flips.to(x.device)
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    rows = (offsets[0, :, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (offsets[1, :, None] + torch.arange(w, device=x.device))
    cols = torch.where(flips[:, None], cols.flip(1), cols)[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def load(name: str, imbalance: float = 100.0, profile: str = "exp", n_max: int | None = None,
         subset_seed: int = 0, data_root: str | Path | None = None, test_limit: int | None = None,
         download: bool = True, val_per_class: int = 0, class_order: str = "calibrated") -> LongTailData:
    """A long-tailed training set and the balanced test set. n_max default: the data set's per-class size;
    test_limit: a class-balanced prefix of the test set; class_order: Fashion-MNIST's, calibrated or natural."""
    check_choice("class_order", class_order, CLASS_ORDERS)
    check_choice("dataset", name, DATASETS)  # profile and imbalance: long_tail_counts checks them
    if name == "fashion-mnist":
        (train_x, train_y), (test_x, test_y) = _fashion_mnist(data_root, download)
        order = FASHION_MNIST_ORDER if class_order == "calibrated" else tuple(range(10))
        names, mean, std = FASHION_MNIST_NAMES, FASHION_MEAN, FASHION_STD
    elif name in ("cifar10", "cifar100"):
        (train_x, train_y), (test_x, test_y), names = _cifar(name, data_root, download)
        order, mean, std = tuple(range(len(names))), CIFAR_MEAN, CIFAR_STD
    elif name == "cifar10-jpeg":
        (train_x, train_y), (test_x, test_y) = read_cifar10_jpeg(data_root)
        order, names, mean, std = tuple(range(10)), CIFAR_NAMES, CIFAR_MEAN, CIFAR_STD
    else:
        (train_x, train_y), (test_x, test_y) = _synthetic(n_max or 100)
        order, names, mean, std = tuple(range(10)), tuple(f"class {i}" for i in range(10)), (0.5,) * 3, (0.25,) * 3
    for split, (x, y) in (("training", (train_x, train_y)), ("test", (test_x, test_y))):
        check_arrays(name, split, x, y, len(order))
    relabel = np.empty(len(order), dtype=np.int64)
    relabel[list(order)] = np.arange(len(order))
    train_y, test_y = relabel[train_y], relabel[test_y]
    num_classes = len(order)
    per_class = len(train_y) // num_classes
    n_max = n_max or per_class
    if n_max > per_class:
        raise ValueError(f"n_max={n_max} exceeds the {per_class} training images per class of {name}")
    counts = long_tail_counts(n_max, num_classes, imbalance, profile)
    if min(counts) < 1:
        raise ValueError(f"n_max={n_max} with imbalance {imbalance} leaves class {counts.index(0)} with no images; "
                         f"use n_max >= {math.ceil(imbalance)} or a smaller imbalance")
    keep = long_tail_indices(train_y, counts, seed=subset_seed)
    val = validation_indices(train_y, keep, val_per_class, subset_seed) if val_per_class else None
    if test_limit:
        test_keep = np.concatenate([np.where(test_y == c)[0][: test_limit // num_classes] for c in range(num_classes)])
        test_x, test_y = test_x[np.sort(test_keep)], test_y[np.sort(test_keep)]
    data = LongTailData(name=name, train_x=torch.from_numpy(train_x[keep]), train_y=torch.from_numpy(train_y[keep]),
                        test_x=torch.from_numpy(np.ascontiguousarray(test_x)), test_y=torch.from_numpy(test_y),
                        counts=counts, class_names=[names[i] for i in order], mean=mean, std=std,
                        val_x=torch.from_numpy(train_x[val]) if val is not None else None,
                        val_y=torch.from_numpy(train_y[val]) if val is not None else None)
    data.groups = {**class_groups(num_classes, profile), **count_groups(counts)}
    return data


# Training images per class of each data set (synthetic: as many as asked for).
TRAIN_PER_CLASS = {"fashion-mnist": 6000, "cifar10": 5000, "cifar10-jpeg": 5000, "cifar100": 500, "synthetic": None}


def check_subset(name: str, n_max: int | None, imbalance: float, profile: str, val_per_class: int = 0) -> None:
    """A ValueError, before any file is read or run locked, unless the subset can be drawn."""
    if name not in TRAIN_PER_CLASS:
        return  # the large sets bring their own split files
    available = TRAIN_PER_CLASS[name]
    if available is not None and n_max is not None and n_max + val_per_class > available:
        raise ValueError(f"--n-max {n_max}: {name} has {available} training images per class"
                         + (f", {val_per_class} of them kept for validation" if val_per_class else "")
                         + f"; accepted: 1..{available - val_per_class}")
    counts = long_tail_counts(n_max or available or 100, 10 if name != "cifar100" else 100, imbalance, profile)
    if min(counts) < 1:
        raise ValueError(f"--imbalance {imbalance:g}: with n_max {n_max} the rarest class would have no image; "
                         f"accepted: imbalance <= n_max ({n_max})")


IMAGE_SHAPES = {"fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32), "cifar10-jpeg": (3, 32, 32), "cifar100": (3, 32, 32),
                "synthetic": (3, 32, 32)}


def check_arrays(name: str, split: str, x: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    """A DataError unless shape, label count and label range are the data set's: other files never train a run."""
    if tuple(x.shape[1:]) != IMAGE_SHAPES[name]:
        raise DataError(f"{name} {split} images have shape {tuple(x.shape[1:])}; expected {IMAGE_SHAPES[name]} "
                        "(the files are not the data set's, or are damaged)")
    if len(x) != len(y):
        raise DataError(f"{name} {split} files disagree: {len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise DataError(f"{name} {split} labels include {int(bad)}; accepted: 0..{num_classes - 1}")


def nearest_mean_class_order(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                             test_y: np.ndarray) -> tuple[int, ...]:
    """Classes sorted by the test accuracy of a nearest-class-mean classifier on raw pixels, easiest first
    (ties broken by label): the rule behind FASHION_MNIST_ORDER."""
    flat = lambda a: a.reshape(len(a), -1).astype(np.float64)
    classes = np.unique(train_y)
    means = np.stack([flat(train_x[train_y == c]).mean(0) for c in classes])
    t = flat(test_x)
    dist = (t ** 2).sum(1)[:, None] - 2 * t @ means.T + (means ** 2).sum(1)[None]
    pred = classes[dist.argmin(1)]
    acc = [float((pred[test_y == c] == c).mean()) for c in classes]
    return tuple(int(c) for c in sorted(classes, key=lambda c: (-acc[c], c)))
