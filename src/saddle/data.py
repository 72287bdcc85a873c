"""Long-tailed data sets held as tensors, with augmentation done in batch.

The official code (LDAM-DRW lineage) builds CIFAR-LT from the full training set: an exponential or step
profile of class counts, then a numpy-seeded random subset per class. We keep that rule exactly, hold the
whole (small) data set as uint8 tensors, and do random-crop + flip on whole batches instead of per-image PIL
transforms.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import math
import os
import pickle
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checks import check_choice
from .paths import cache_dir, shared_dir

# cifar10-jpeg: CIFAR-10's images and labels from a JPEG re-encode (quality 75, 4:2:0), not the original pixels
# (shared/data/README.md); its runs carry their own dataset name, so they are never mistaken for CIFAR-10's.
DATASETS = ("fashion-mnist", "cifar10", "cifar10-jpeg", "cifar100", "synthetic")
PROFILES = ("exp", "step")

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
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

CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DataError(RuntimeError):
    """Data files missing, unreadable or malformed; the message says how to get them."""


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
    """A balanced validation split: `per_class` images of each class drawn (seeded) from the training images that
    the long-tailed subset `kept` did not take, so it shares no image with the training or the test set. Its own
    generator leaves numpy's global seed (the official subset rule's) alone."""
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
    """A long-tailed training set and its balanced test set, as uint8 NCHW tensors with int64 labels.

    Labels are positions in the long-tail order: class 0 is the most frequent."""
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
        """SHA-256 of every array a run reads (images and labels of each split, in order): kept in the record's
        provenance, so a record made from other files than the clean run's is told apart from it."""
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
    """Random crop with zero padding plus horizontal flip on a uint8 batch (torchvision's RandomCrop(pad=4) and
    RandomHorizontalFlip, drawn per image, applied to the whole batch at once)."""
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
    """Build a long-tailed training set and the balanced test set by name.

    n_max: images in the most frequent class (default: the data set's per-class size, 5000 for CIFAR-10).
    test_limit: keep a class-balanced prefix of this many test images (smoke runs).
    val_per_class: also draw a balanced validation split of this many images per class (see validation_indices).
    class_order: Fashion-MNIST's long-tail order, "calibrated" (FASHION_MNIST_ORDER) or "natural" (its labels)."""
    check_choice("class_order", class_order, CLASS_ORDERS)
    check_choice("dataset", name, DATASETS)
    check_choice("profile", profile, PROFILES)
    if imbalance < 1:
        raise ValueError(f"imbalance must be >= 1 (n_max / n_min), got {imbalance}")
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
    """A ValueError, before any file is read or any run is locked, unless the long-tailed subset can be drawn: n_max
    within the data set's images per class (less the validation split) and every class left with an image."""
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
    """A DataError unless the split's images have the data set's shape, as many labels as images, and every label
    in 0..num_classes-1: files that disagree never train a run (whose record would carry the real run's id)."""
    if tuple(x.shape[1:]) != IMAGE_SHAPES[name]:
        raise DataError(f"{name} {split} images have shape {tuple(x.shape[1:])}; expected {IMAGE_SHAPES[name]} "
                        "(the files are not the data set's, or are damaged)")
    if len(x) != len(y):
        raise DataError(f"{name} {split} files disagree: {len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise DataError(f"{name} {split} labels include {int(bad)}; accepted: 0..{num_classes - 1}")


def _fashion_mnist(data_root, download):
    """Read the idx.gz files from Debian's dataset-fashion-mnist, --data-root, or torchvision's download."""
    for root in [Path(data_root)] if data_root else [FASHION_MNIST_DIR]:
        for candidate in (root, root / "FashionMNIST" / "raw"):
            if all((candidate / f).exists() for pair in FASHION_MNIST_FILES.values() for f in pair):
                return [_read_idx_pair(candidate, *FASHION_MNIST_FILES[s]) for s in ("train", "test")]
    where = Path(data_root) if data_root else Path.home() / ".cache" / "saddle"
    if data_root and not where.is_dir():
        raise DataError(f"--data-root {data_root} does not exist; pass the folder holding "
                        f"{', '.join(f for p in FASHION_MNIST_FILES.values() for f in p)} (nothing was created)")
    if data_root:  # the user's folder: read, never downloaded into
        absent = [f for p in FASHION_MNIST_FILES.values() for f in p if not (where / f).exists()]
        raise DataError(f"--data-root {data_root} lacks {', '.join(absent)}; put the four Fashion-MNIST idx.gz files "
                        "there, or leave --data-root out after `apt-get install dataset-fashion-mnist` (nothing was downloaded or created)")
    if download:
        try:
            import torchvision
            torchvision.datasets.FashionMNIST(where, download=True)
            return [_read_idx_pair(where / "FashionMNIST" / "raw", *FASHION_MNIST_FILES[s]) for s in ("train", "test")]
        except Exception as exc:  # offline: fall through to the explanation
            reason = f" (download failed: {exc})"
    else:
        reason = ""
    raise DataError(f"Fashion-MNIST not found in {FASHION_MNIST_DIR} or --data-root {data_root}{reason}. "
                    "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass --data-root DIR "
                    f"holding {', '.join(f for p in FASHION_MNIST_FILES.values() for f in p)}.")


def _read_idx_pair(root: Path, images: str, labels: str):
    return _read_idx(root / images, 3), _read_idx(root / labels, 1)


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx.gz file as an array (a fresh copy: callers may change it). Decompressing Fashion-MNIST takes most of a
    second, and the chapters load it once per run and per Hessian snapshot, so the parsed file is kept per process,
    keyed by its size and modification time."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}; the file is damaged or truncated, reinstall it") from exc
    return _parse_idx(path, ndim, stat.st_size, stat.st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _parse_idx(path: Path, ndim: int, size: int, mtime_ns: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}; the file is damaged or truncated, reinstall it") from exc
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x800 + ndim:
        raise DataError(f"{path} is not an idx file with {ndim} dimensions (magic {magic:#x})")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: {body.size} bytes of data for shape {shape}")
    body = body.reshape(shape)
    return body[:, None].copy() if ndim == 3 else body.astype(np.int64)


CIFAR_LAYOUT = {  # folder, training files, test file, label key
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "labels"),
    "cifar100": ("cifar-100-python", ["train"], "test", "fine_labels"),
}


def _cifar(name, data_root, download):
    """Read CIFAR from the python pickle batches; torchvision downloads them (and checks md5) when absent."""
    folder, train_files, test_file, key = CIFAR_LAYOUT[name]
    root = Path(data_root) if data_root else Path.home() / ".cache" / "saddle"
    base = root / folder
    if data_root and not root.is_dir():
        raise DataError(f"--data-root {data_root} does not exist; pass the folder containing {folder}/ (nothing was "
                        "created)")
    if not base.exists() and download:
        _cifar_download(name, root, folder)
    if not base.exists():
        raise DataError(f"{name} not found: expected {base}/. Pass --data-root DIR containing {folder}/ "
                        "(torchvision's CIFAR download writes exactly this).")
    train = [_read_cifar_batch(base / f, key) for f in train_files]
    test = _read_cifar_batch(base / test_file, key)
    meta = base / ("batches.meta" if name == "cifar10" else "meta")
    names = CIFAR_NAMES if name == "cifar10" else _cifar100_names(meta)
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    return (train_x, train_y), test, names


def _cifar_download(name, root, folder):
    import torchvision
    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        cls(root, download=True)
    except Exception as exc:
        raise DataError(f"{name} not found under {root} and the download failed ({exc}). Download "
                        f"{folder} (the python version) and pass --data-root DIR containing {folder}/") from exc


# What a CIFAR batch file may name: numpy's array reconstruction, its dtype, bytes decoding. A pickle naming
# anything else (os.system, builtins.eval, ...) is refused before it runs.
_CIFAR_GLOBALS = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                  for name in ("_reconstruct", "scalar")} | {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode")}


class _CifarUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only _CIFAR_GLOBALS: reading a data folder can never run its code."""

    def find_class(self, module, name):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR batch never does (refused unread; "
                                         "accepted: numpy arrays, lists, strings and numbers)")
        return super().find_class(module, name)


def _load_cifar_pickle(f):
    return _CifarUnpickler(f, encoding="latin1").load()


def _read_cifar_batch(path: Path, key: str):
    """One batch file as the CIFAR site ships it: a Python 2 pickle, read (as torchvision reads it) with latin1 so
    its byte-string keys become str, through the restricted unpickler."""
    try:
        with open(path, "rb") as f:
            entry = _load_cifar_pickle(f)
        x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(entry[key], dtype=np.int64)
    except FileNotFoundError as exc:
        raise DataError(f"missing CIFAR file {path}; the folder is incomplete, download it again") from exc
    except Exception as exc:
        raise DataError(f"cannot read CIFAR file {path}: {exc!r}; it is damaged or truncated") from exc
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} images but {len(y)} labels")
    return x, y


def _cifar100_names(meta: Path):
    try:
        with open(meta, "rb") as f:
            names = tuple(str(n) for n in _load_cifar_pickle(f)["fine_label_names"])
    except FileNotFoundError:
        return tuple(f"class {i}" for i in range(100))
    except Exception as exc:
        raise DataError(f"cannot read CIFAR-100's class names from {meta}: {exc}; it is damaged, download it again") \
            from exc
    if len(names) != 100:
        raise DataError(f"{meta} names {len(names)} classes; CIFAR-100 has 100")
    return names


JPEG_ARCHIVE = "cifar10-jpeg.zip"
# train/<class>/<index>.jpg (index: the image's place in CIFAR-10's training order) or test/<class>/<n>.jpg, under
# at most one enclosing folder.
_JPEG_MEMBER = re.compile(r"(?:[^/]+/)?(train|test)/([^/]+)/(\d+)\.jpe?g")
_JPEG_LAYOUT = "train/<class>/<index>.jpg and test/<class>/<n>.jpg, <class> one of " + ", ".join(CIFAR_NAMES)


def default_jpeg_source() -> Path:
    """The shared copy: ../shared/data/cifar10-jpeg.zip beside the checkout (SADDLE_SHARED moves it)."""
    return shared_dir() / "data" / JPEG_ARCHIVE


def read_cifar10_jpeg(source=None) -> tuple:
    """CIFAR-10 from the JPEG copy, as the genuine loader returns it: ((train_x, train_y), (test_x, test_y)), uint8
    NCHW images in the original training order (test: class by class). source: the zip, a folder laid out as
    train/<class>/<index>.jpg and test/<class>/<n>.jpg, or a folder holding cifar10-jpeg.zip; default the shared
    copy. Decoded once with Pillow, then read from cache/data/, keyed by the source's SHA-256 (never written beside
    the source, which may be read-only). Anything malformed raises DataError and caches nothing."""
    source = Path(source) if source else default_jpeg_source()
    if source.is_dir() and (source / JPEG_ARCHIVE).is_file():
        source = source / JPEG_ARCHIVE
    if not source.exists():
        raise DataError(f"CIFAR-10 (JPEG copy) not found at {source}; accepted: the zip {JPEG_ARCHIVE} or a folder "
                        f"holding {_JPEG_LAYOUT} (--data-root PATH). Nothing is downloaded.")
    members = _jpeg_members(source)
    cached = cache_dir() / "data" / f"cifar10-jpeg-{_source_sha256(source, members)[:20]}.npz"
    if cached.is_file():
        try:
            with np.load(cached) as f:
                return (f["train_x"], f["train_y"]), (f["test_x"], f["test_y"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            pass  # a damaged cache file is decoded again and replaced
    arrays = _decode_jpegs(source, members)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npz")
    np.savez(partial, **dict(zip(("train_x", "train_y", "test_x", "test_y"), arrays)))
    os.replace(partial, cached)
    return arrays[:2], arrays[2:]


def _jpeg_members(source: Path) -> dict:
    """{(split, label, index): how to read its bytes}, checked: the layout, CIFAR-10's ten classes in both splits,
    one image per training index, training indices 0..N-1 and every class with as many images as the others."""
    if source.is_dir():
        paths = [p for p in source.rglob("*") if p.is_file()]
        names = {p.relative_to(source).as_posix(): p.read_bytes for p in paths}
    else:
        try:
            with zipfile.ZipFile(source) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{source} is not a readable zip archive ({exc}); accepted: a zip or a folder holding "
                            f"{_JPEG_LAYOUT}") from exc
        names = {i.filename: functools.partial(_zip_member, source, i.filename) for i in infos}
    members, labels = {}, {name: label for label, name in enumerate(CIFAR_NAMES)}
    for name, read in sorted(names.items()):
        match = _JPEG_MEMBER.fullmatch(name)
        if not match or match[2] not in labels:
            raise DataError(f"{source}: member {name!r} is not in the layout; accepted: {_JPEG_LAYOUT}")
        split, label, index = match[1], labels[match[2]], int(match[3])
        key = (split, None if split == "train" else label, index)
        if key in members:
            raise DataError(f"{source}: two images with {split} index {index} ({members[key][0]} and {name}); "
                            "accepted: one image per index")
        members[key] = (name, label, read)
    for split in ("train", "test"):
        per_class = [sum(1 for (s, _, _), (_, label, _) in members.items() if s == split and label == c)
                     for c in range(10)]
        if 0 in per_class:
            raise DataError(f"{source}: no {split} image of class {CIFAR_NAMES[per_class.index(0)]!r}; accepted: "
                            f"all ten classes in both splits ({_JPEG_LAYOUT})")
        usual = max(set(per_class), key=per_class.count)
        odd = next((c for c in range(10) if per_class[c] != usual), None)
        if odd is not None:
            raise DataError(f"{source}: class {CIFAR_NAMES[odd]!r} has {per_class[odd]} {split} images, the others "
                            f"{usual}; accepted: as many images in every class (CIFAR-10: 5,000 training and 1,000 "
                            "test images per class)")
    train = sorted(i for s, _, i in members if s == "train")
    if train != list(range(len(train))):
        gap = next(i for i, j in enumerate(train) if i != j)
        raise DataError(f"{source}: training index {gap} is missing; accepted: indices 0..{len(train) - 1}, the "
                        "original training order")
    return members


def _zip_member(source: Path, name: str) -> bytes:
    with zipfile.ZipFile(source) as archive:
        return archive.read(name)


def _source_sha256(source: Path, members: dict) -> str:
    """The cache key: the zip's SHA-256, or for a folder the SHA-256 of its members' names and bytes in order."""
    digest = hashlib.sha256()
    if source.is_file():
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    for key in sorted(members, key=str):
        name, _, read = members[key]
        digest.update(name.encode() + b"\0" + read())
    return digest.hexdigest()


def _decode_jpegs(source: Path, members: dict) -> tuple:
    """Decode every member with Pillow into uint8 CHW arrays: training images by index, test images class by class."""
    from PIL import Image, UnidentifiedImageError

    def images(keys):
        out = np.empty((len(keys), 3, 32, 32), dtype=np.uint8)
        for row, key in enumerate(keys):
            name, _, read = members[key]
            try:
                with Image.open(io.BytesIO(read())) as image:
                    if image.size != (32, 32):
                        raise DataError(f"{source}: {name} is {image.size[0]}x{image.size[1]}; accepted: 32x32 "
                                        "images")
                    out[row] = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
            except (UnidentifiedImageError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise DataError(f"{source}: {name} is not a readable image ({exc}); accepted: 32x32 JPEG "
                                "images") from exc
        return out

    train = sorted((k for k in members if k[0] == "train"), key=lambda k: k[2])
    test = sorted((k for k in members if k[0] == "test"), key=lambda k: (k[1], k[2]))
    labels = lambda keys: np.array([members[k][1] for k in keys], dtype=np.int64)
    with zipfile.ZipFile(source) if source.is_file() else contextlib.nullcontext() as archive:
        if archive is not None:  # one open archive for all 60,000 reads
            members = {k: (n, label, functools.partial(archive.read, n)) for k, (n, label, _) in members.items()}
        return images(train), labels(train), images(test), labels(test)


def _synthetic(per_class: int, num_classes: int = 10, test_per_class: int = 100, seed: int = 1234):
    """CIFAR-shaped images drawn around fixed class prototypes: no files needed (tests, GPU benchmarks)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(40, 216, size=(num_classes, 3, 8, 8)).repeat(4, axis=2).repeat(4, axis=3)

    def draw(n):
        y = np.repeat(np.arange(num_classes), n)
        noise = rng.normal(0, 40, size=(len(y), 3, 32, 32))
        return np.clip(prototypes[y] + noise, 0, 255).astype(np.uint8), y.astype(np.int64)
    return draw(per_class), draw(test_per_class)


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
