import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from saddle.data import FASHION_MNIST_DIR

# pytest-xdist runs the test files on two workers (pyproject: -n 2): each worker, and the notebooks and scripts it
# starts, takes one core; alone (-n 0), the tests take both.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)

needs_fashion_mnist = pytest.mark.skipif(not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                                         reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


def write_fake_cifar(root: Path, name: str = "cifar10", per_class: int = 12, test_per_class: int = 3, seed: int = 0):
    """Small files in the genuine CIFAR python-pickle layout (what torchvision's download unpacks)."""
    rng = np.random.default_rng(seed)
    classes = 10 if name == "cifar10" else 100
    key = b"labels" if name == "cifar10" else b"fine_labels"

    def batch(n_per_class):
        y = rng.permutation(np.repeat(np.arange(classes), n_per_class))
        x = rng.integers(0, 256, size=(len(y), 3072), dtype=np.uint8)
        return {b"data": x, key: y.tolist(), b"batch_label": b"fake"}

    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        full = batch(per_class)
        for i in range(5):  # five training batches, like the real set
            part = {b"data": full[b"data"][i::5], key: full[key][i::5]}
            (folder / f"data_batch_{i + 1}").write_bytes(pickle.dumps(part))
        (folder / "test_batch").write_bytes(pickle.dumps(batch(test_per_class)))
        (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"x"] * 10}))
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        full = batch(per_class)
        (folder / "train").write_bytes(pickle.dumps(full))
        (folder / "test").write_bytes(pickle.dumps(batch(test_per_class)))
        (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"c{i}".encode() for i in range(100)]}))
    return folder, full


def trained_tiny_run(tmp_path):
    """Two epochs on the file-free synthetic set, checkpoints in tmp_path/cache: what analyses of a run need."""
    from saddle import RunConfig, get_or_run
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=2)
    return get_or_run(config, root=tmp_path, cache=tmp_path / "cache", progress=False)
