"""Each data set's raw files as uint8 NCHW images and int64 labels, in its own order: Fashion-MNIST's idx.gz,
CIFAR's pickles (through an unpickler that runs no code), the CIFAR-10 JPEG copy (decoded once, cached by its
SHA-256) and synthetic images. Anything missing or malformed raises DataError saying how to get the files."""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import os
import pickle
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .paths import cache_dir, file_sha256, shared_dir

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DataError(RuntimeError):
    """Data files missing, unreadable or malformed; the message says how to get them."""


def _fashion_mnist(data_root, download):
    """Read the idx.gz files from Debian's dataset-fashion-mnist, --data-root, or torchvision's download."""
    root = Path(data_root) if data_root else FASHION_MNIST_DIR
    for candidate in (root, root / "FashionMNIST" / "raw"):
        if all((candidate / f).exists() for pair in FASHION_MNIST_FILES.values() for f in pair):
            return [_read_idx_pair(candidate, *FASHION_MNIST_FILES[s]) for s in ("train", "test")]
    if data_root and not root.is_dir():
        raise DataError(f"--data-root {data_root} does not exist; pass the folder holding "
                        f"{', '.join(f for p in FASHION_MNIST_FILES.values() for f in p)} (nothing was created)")
    if data_root:  # the user's folder: read, never downloaded into
        absent = [f for p in FASHION_MNIST_FILES.values() for f in p if not (root / f).exists()]
        raise DataError(f"--data-root {data_root} lacks {', '.join(absent)}; put the four Fashion-MNIST idx.gz files "
                        "there, or leave --data-root out after `apt-get install dataset-fashion-mnist` (nothing was downloaded or created)")
    reason = ""
    if download:
        where = Path.home() / ".cache" / "saddle"
        try:
            import torchvision
            torchvision.datasets.FashionMNIST(where, download=True)
            return [_read_idx_pair(where / "FashionMNIST" / "raw", *FASHION_MNIST_FILES[s]) for s in ("train", "test")]
        except Exception as exc:  # offline: fall through to the explanation
            reason = f" (download failed: {exc})"
    raise DataError(f"Fashion-MNIST not found in {FASHION_MNIST_DIR} or --data-root {data_root}{reason}. "
                    "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass --data-root DIR "
                    f"holding {', '.join(f for p in FASHION_MNIST_FILES.values() for f in p)}.")


def _read_idx_pair(root: Path, images: str, labels: str):
    return _read_idx(root / images, 3), _read_idx(root / labels, 1)


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx.gz file as a fresh array; the parsed file is kept per process (decompressing takes most of a second)."""
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
    """One batch file, a Python 2 pickle read with latin1 (as torchvision does) through the restricted unpickler."""
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
    """CIFAR-10 from the JPEG copy as the genuine loader returns it (training order kept; test class by class).
    source: the zip, a folder in its layout, or a folder holding the zip; default the shared copy. Decoded once,
    then read from cache/data/ keyed by the source's SHA-256."""
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
    """{(split, label, index): how to read its bytes}, the layout, classes and indices checked."""
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
    if source.is_file():
        return file_sha256(source)
    digest = hashlib.sha256()
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
