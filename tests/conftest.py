import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from saddle.sources import CIFAR_NAMES, FASHION_MNIST_DIR

# pytest-xdist runs the test files on two workers (pyproject: -n 2): each worker, and the notebooks and scripts it
# starts, takes one core; alone (-n 0), the tests take both.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)
# Tests train into temporary folders, often while the developer's tree has uncommitted changes; the refusal of a
# dirty tree itself is tested with this unset (test_provenance.py).
os.environ.setdefault("SADDLE_ALLOW_DIRTY", "1")

needs_fashion_mnist = pytest.mark.skipif(not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                                         reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR files: protocol 2, byte strings as Python 2 `str` (BINSTRING),
    numpy arrays through numpy.core.multiarray._reconstruct. Such files load in Python 3 only with an encoding
    (torchvision uses latin1, which turns the keys into str)."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes):
        self.write((pickle.SHORT_BINSTRING + bytes([len(obj)]) if len(obj) < 256
                    else pickle.BINSTRING + struct.pack("<i", len(obj))) + obj)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        if getattr(obj, "__module__", "").startswith("numpy._core"):  # numpy 2's module, as numpy 1 named it
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n" + obj.__name__.encode() + b"\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[bytes] = save_python2_str


def python2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_fake_cifar(root: Path, name: str = "cifar10", per_class: int = 12, test_per_class: int = 3, seed: int = 0):
    """Small files in the genuine CIFAR python layout (what the CIFAR site's tarball and torchvision's download
    unpack): Python 2 pickles whose keys are byte strings, data an (n, 3072) uint8 array, labels a list."""
    rng = np.random.default_rng(seed)
    classes = 10 if name == "cifar10" else 100
    key = b"labels" if name == "cifar10" else b"fine_labels"

    def batch(n_per_class, label=b"training batch"):
        y = rng.permutation(np.repeat(np.arange(classes), n_per_class))
        x = rng.integers(0, 256, size=(len(y), 3072), dtype=np.uint8)
        return {b"batch_label": label, key: [int(v) for v in y], b"data": x,
                b"filenames": [b"img_%d.png" % i for i in range(len(y))]}

    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        full = batch(per_class)
        for i in range(5):  # five training batches, like the real set
            part = {b"batch_label": b"training batch %d of 5" % (i + 1), b"labels": full[key][i::5],
                    b"data": full[b"data"][i::5], b"filenames": full[b"filenames"][i::5]}
            (folder / f"data_batch_{i + 1}").write_bytes(python2_pickle(part))
        (folder / "test_batch").write_bytes(python2_pickle(batch(test_per_class, b"testing batch 1 of 1")))
        (folder / "batches.meta").write_bytes(python2_pickle(
            {b"num_cases_per_batch": 10000, b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_vis": 3072}))
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        full = batch(per_class)
        full[b"coarse_labels"] = [v // 5 for v in full[key]]
        (folder / "train").write_bytes(python2_pickle(full))
        test = batch(test_per_class)
        test[b"coarse_labels"] = [v // 5 for v in test[key]]
        (folder / "test").write_bytes(python2_pickle(test))
        (folder / "meta").write_bytes(python2_pickle({b"fine_label_names": [b"c%d" % i for i in range(100)],
                                                      b"coarse_label_names": [b"s%d" % i for i in range(20)]}))
    return folder, full


def trained_tiny_run(tmp_path):
    """Two epochs on the file-free synthetic set, checkpoints in tmp_path/cache: what analyses of a run need."""
    from saddle import RunConfig, get_or_run
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=2)
    return get_or_run(config, root=tmp_path, cache=tmp_path / "cache", progress=False)


def interrupted_run(config, folder, after: int):
    """Train `config` with checkpoints in `folder` and kill it (KeyboardInterrupt) after epoch `after`."""
    from saddle import train

    def stop(epoch, row):
        if epoch == after:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train.run(config, progress=False, checkpoint_dir=folder, on_epoch_end=stop)
