"""ImageNet-LT and iNaturalist 2018 from their standard split files ("relative/path label" per line). Classes are
re-indexed by descending training count, so index ranges name the paper's head / mid / tail groups."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

from .checks import check_choice
from .data import count_groups

IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
INAT_NORM = ((0.466, 0.471, 0.380), (0.195, 0.194, 0.192))  # the LDAM-DRW / decoupling iNat constants

LARGE_DATASETS = {
    "imagenet-lt": dict(train="ImageNet_LT_train.txt", test="ImageNet_LT_test.txt", groups=(390, 445, 165),
                        norm=IMAGENET_NORM),
    "inat2018": dict(train="iNaturalist18_train.txt", test="iNaturalist18_val.txt", groups=(842, 3701, 3599),
                     norm=INAT_NORM),  # iNat 2018 reports on its validation set
}


class SplitError(ValueError):
    pass


def read_split(path: str | Path, image_root: str | Path, check_files: bool = True) -> list[tuple[str, int, int]]:
    """(relative path, label, line number) per line; a malformed line or a missing image fails naming the file
    and line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"split file {path} not found; it ships with the data set's long-tail splits "
                                "(ImageNet-LT: Liu et al. 2019, OLTR; iNaturalist 2018: the LDAM-DRW repository)")
    items = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise SplitError(f"{path}:{number}: expected 'relative/path label' (a non-negative integer label), "
                             f"got {line!r}")
        if check_files and not (Path(image_root) / parts[0]).is_file():
            raise FileNotFoundError(f"{path}:{number}: image {parts[0]} not found under {image_root}")
        items.append((parts[0], int(parts[1]), number))
    if not items:
        raise SplitError(f"{path}: no images listed")
    return items


def class_order(train) -> dict[int, int]:
    """Original label -> new index, by descending training count, ties by label."""
    counts = Counter(label for _, label, _ in train)
    return {label: i for i, label in enumerate(sorted(counts, key=lambda label: (-counts[label], label)))}


def relabel(items, order: dict[int, int], path: Path) -> list[tuple[str, int]]:
    """(path, new index) pairs; a label that the training split never uses fails naming the file and line."""
    for _, label, number in items:
        if label not in order:
            raise SplitError(f"{path}:{number}: label {label} has no training image (the training split has "
                             f"{len(order)} classes)")
    return [(p, order[label]) for p, label, _ in items]


def paper_groups(sizes: tuple[int, int, int], num_classes: int) -> dict[str, list[int]]:
    """Head / mid / tail as consecutive index ranges of the re-indexed classes (the paper's split), scaled to
    the number of classes present when it differs (the small test trees)."""
    total = sum(sizes)
    head = round(num_classes * sizes[0] / total)
    mid = round(num_classes * (sizes[0] + sizes[1]) / total)
    return {"head": list(range(head)), "mid": list(range(head, mid)), "tail": list(range(mid, num_classes))}


def image_transforms(norm, image_size: int = 224, train: bool = True):
    """The large-scale recipe: RandomResizedCrop, flip and ColorJitter(0.4, 0.4, 0.4, 0) for training;
    Resize(256) and CenterCrop(224) for testing (the same proportions at other sizes)."""
    normalize = transforms.Normalize(*norm)
    if train:
        return transforms.Compose([transforms.RandomResizedCrop(image_size), transforms.RandomHorizontalFlip(),
                                   transforms.ColorJitter(0.4, 0.4, 0.4, 0), transforms.ToTensor(), normalize])
    return transforms.Compose([transforms.Resize(round(image_size * 256 / 224)), transforms.CenterCrop(image_size),
                               transforms.ToTensor(), normalize])


class SplitImages(torch.utils.data.Dataset):
    def __init__(self, root: str | Path, items: list[tuple[str, int]], transform):
        self.root, self.items, self.transform = Path(root), items, transform
        self.targets = [label for _, label in items]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with Image.open(self.root / path) as image:
            return self.transform(image.convert("RGB")), label


@dataclass
class SplitData:
    train: SplitImages
    test: SplitImages
    counts: list[int]
    groups: dict[str, list[int]]  # the paper's head / mid / tail
    shots: dict[str, list[int]]  # many / medium / few
    class_labels: list[int]  # the original label of each new index

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    in_channels = 3


def load(name: str, root: str | Path, split_dir: str | Path | None = None, image_size: int = 224,
         augment: bool = True, check_files: bool = True) -> SplitData:
    """A large long-tailed set by name; split files in split_dir (default: the image root)."""
    check_choice("large data set", name, tuple(LARGE_DATASETS))
    spec, root = LARGE_DATASETS[name], Path(root)
    split_dir = Path(split_dir) if split_dir else root
    train_items = read_split(split_dir / spec["train"], root, check_files)
    order = class_order(train_items)
    train_items = relabel(train_items, order, split_dir / spec["train"])
    test_items = relabel(read_split(split_dir / spec["test"], root, check_files), order, split_dir / spec["test"])
    counts = [0] * len(order)
    for _, label in train_items:
        counts[label] += 1
    return SplitData(train=SplitImages(root, train_items, image_transforms(spec["norm"], image_size, augment)),
                     test=SplitImages(root, test_items, image_transforms(spec["norm"], image_size, train=False)),
                     counts=counts, groups=paper_groups(spec["groups"], len(counts)), shots=count_groups(counts),
                     class_labels=sorted(order, key=order.get))


def write_synthetic_tree(root: str | Path, classes: int = 20, n_max: int = 26, n_min: int = 2,
                         test_per_class: int = 2, size: int = 40, seed: int = 0) -> list[int]:
    """A tiny ImageNet-LT-format tree for tests and chapter 5 (labels shuffled, so re-indexing matters); returns
    the training count per original label."""
    import numpy as np

    root = Path(root)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(classes)
    counts = [round(n_max * (n_min / n_max) ** (i / (classes - 1))) for i in range(classes)]
    lines = {"train": [], "test": []}
    for label, count in zip(labels, counts):
        colour = rng.integers(0, 256, 3)
        for split, n in (("train", count), ("test", test_per_class)):
            folder = root / split / f"n{label:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pixels = np.clip(colour + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
                lines[split].append(f"{split}/n{label:04d}/{i}.jpg {label}")
    (root / "ImageNet_LT_train.txt").write_text("\n".join(lines["train"]) + "\n")
    (root / "ImageNet_LT_test.txt").write_text("\n".join(lines["test"]) + "\n")
    by_label = [0] * classes
    for label, count in zip(labels, counts):
        by_label[label] = count
    return by_label
