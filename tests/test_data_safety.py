"""A data folder cannot run code or forge a record: crafted pickles are refused unread, inconsistent files exit 2
before any run starts, and every record names the data it was made from."""
import gzip
import os
import pickle
from unittest import mock

import numpy as np
import pytest

from conftest import python2_pickle, write_fake_cifar
from saddle import data, sources
from saddle.cli import main


def write_idx(path, array):
    header = (0x800 + array.ndim).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion(root, train_per_class=100, test_per_class=50, labels_dropped=0, test_shape=(28, 28),
                  bad_label=None):
    """Small Fashion-MNIST idx.gz files (random pixels) with one chosen defect."""
    rng = np.random.default_rng(0)
    for (images, labels), per_class, shape in (
            (sources.FASHION_MNIST_FILES["train"], train_per_class, (28, 28)),
            (sources.FASHION_MNIST_FILES["test"], test_per_class, test_shape)):
        y = rng.permutation(np.repeat(np.arange(10), per_class))
        if bad_label is not None and per_class == train_per_class:
            y[3] = bad_label
        write_idx(root / images, rng.integers(0, 256, size=(len(y), *shape)))
        write_idx(root / labels, y[:len(y) - labels_dropped] if per_class == train_per_class else y)
    return root


def smoke_train(root, out, dataset="fashion-mnist"):
    """`python -m saddle train` at the smoke scale on the files in `root`, with a cache of its own: another test
    file, on the other worker, may be training the same smoke run and hold its lock in the shared cache."""
    with mock.patch.dict(os.environ, SADDLE_CACHE=str(root / "cache")):
        return main(["train", "--scale", "smoke", "--dataset", dataset, "--data-root", str(root), "--out", str(out),
                     "--quiet"])


class Payload:
    """Unpickling this object calls os.system: what a crafted data_batch_1 would do."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def test_a_crafted_cifar_batch_is_refused_without_running_it(tmp_path, capsys):
    write_fake_cifar(tmp_path)
    target = tmp_path / "pwned"
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps({"data": Payload(target)}))
    assert smoke_train(tmp_path, tmp_path / "out", "cifar10") == 2
    err = capsys.readouterr().err
    assert not target.exists()
    assert "data_batch_1" in err and ("posix.system" in err or "os.system" in err)
    assert not (tmp_path / "out" / "smoke").exists() or not list((tmp_path / "out" / "smoke").glob("*.json"))


def test_a_crafted_cifar100_meta_is_refused(tmp_path):
    write_fake_cifar(tmp_path, "cifar100")
    target = tmp_path / "pwned"
    (tmp_path / "cifar-100-python" / "meta").write_bytes(pickle.dumps({"fine_label_names": Payload(target)}))
    with pytest.raises(sources.DataError, match="meta"):
        data.load("cifar100", data_root=tmp_path, download=False)
    assert not target.exists()


def test_genuine_cifar_pickles_still_load(tmp_path):
    write_fake_cifar(tmp_path)
    loaded = data.load("cifar10", imbalance=2, n_max=10, data_root=tmp_path, download=False)
    assert loaded.train_x.shape[1:] == (3, 32, 32) and loaded.num_classes == 10


@pytest.mark.parametrize("defect, message", [
    (dict(labels_dropped=10), "1000 images but 990 labels"),
    (dict(test_shape=(14, 56)), "shape (1, 14, 56)"),
    (dict(bad_label=200), "labels include 200"),
])
def test_inconsistent_fashion_mnist_files_exit_2_and_write_no_record(tmp_path, capsys, defect, message):
    write_fashion(tmp_path, **defect)
    assert smoke_train(tmp_path, tmp_path / "out") == 2
    assert message in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*.json"))


def test_cifar_labels_out_of_range_exit_2(tmp_path, capsys):
    write_fake_cifar(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    entry = pickle.loads(batch.read_bytes(), encoding="latin1")
    entry = {k.encode(): v for k, v in entry.items()}
    entry[b"labels"] = [20 + v for v in entry[b"labels"]]
    batch.write_bytes(python2_pickle(entry))
    assert smoke_train(tmp_path, tmp_path / "out", "cifar10") == 2
    assert "labels include 2" in capsys.readouterr().err


def test_the_record_names_the_data_it_was_made_from(tmp_path):
    from saddle import RunConfig, train
    config = RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=1)
    record = train.run(config, progress=False)
    digest = train.load_data(config).digest()
    assert record["provenance"]["data_sha256"] == digest and len(digest) == 64
    other = train.load_data(config)
    other.train_x[0, 0, 0, 0] ^= 1
    assert other.digest() != digest
