import gzip
import pickle
import shutil

import numpy as np
import pytest
import torch

from conftest import needs_fashion_mnist, write_fake_cifar
from saddle import data, sources


def test_cifar10_lt_counts():
    counts = data.long_tail_counts(5000, 10, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(counts) == 12406


@pytest.mark.parametrize("classes,n_max,imbalance,total", [
    (10, 5000, 50, 13996), (10, 5000, 10, 20431), (10, 5000, 200, 11203),
    (100, 500, 100, 10847), (100, 500, 50, 12608), (100, 500, 10, 19573), (100, 500, 200, 9502)])
def test_exp_totals(classes, n_max, imbalance, total):
    assert sum(data.long_tail_counts(n_max, classes, imbalance)) == total


def test_step_profile():
    assert sum(data.long_tail_counts(5000, 10, 100, "step")) == 25250
    assert sum(data.long_tail_counts(500, 100, 100, "step")) == 25250
    assert data.long_tail_counts(5000, 10, 100, "step") == [5000] * 5 + [50] * 5


def test_bad_profile_and_imbalance():
    with pytest.raises(ValueError, match="unknown profile 'linear'; accepted: exp, step"):
        data.long_tail_counts(10, 10, 10, "linear")
    with pytest.raises(ValueError, match="imbalance must be >= 1"):
        data.long_tail_counts(10, 10, 0.5)


def official_subset(targets, counts, seed):
    """imbalance_cifar.py's gen_imbalanced_data, written out as the official code has it."""
    np.random.seed(seed)
    kept = []
    for the_class, the_img_num in zip(np.unique(targets), counts):
        idx = np.where(np.asarray(targets) == the_class)[0]
        np.random.shuffle(idx)
        kept.extend(idx[:the_img_num].tolist())
    return kept


def test_subset_rule_matches_official():
    targets = np.random.default_rng(3).permutation(np.repeat(np.arange(10), 40))
    counts = data.long_tail_counts(40, 10, 10)
    assert data.long_tail_indices(targets, counts, seed=0).tolist() == official_subset(targets, counts, 0)
    assert data.long_tail_indices(targets, counts, seed=1).tolist() != official_subset(targets, counts, 0)
    # numpy's legacy stream is stable: pin the first draws so a change of RNG would show.
    assert data.long_tail_indices(np.repeat(np.arange(2), 5), [3, 2], seed=0).tolist() == [2, 0, 1, 5, 7]


def test_groups():
    assert data.class_groups(10, "exp") == {"head": [0, 1, 2], "mid": [3, 4, 5, 6], "tail": [7, 8, 9]}
    g = data.class_groups(100, "exp")
    assert (len(g["head"]), len(g["mid"]), len(g["tail"])) == (36, 35, 29)
    assert data.class_groups(10, "step") == {"head": [0, 1, 2, 3, 4], "tail": [5, 6, 7, 8, 9]}
    few = data.count_groups(data.long_tail_counts(500, 100, 100))
    assert (len(few["many"]), len(few["medium"]), len(few["few"])) == (35, 35, 30)


def test_augment_is_a_crop_or_flipped_crop():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = data.augment(x, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2,) * 4)
    for i in range(len(x)):
        crops = [padded[i, :, r:r + 8, c:c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], c) or torch.equal(out[i], c.flip(2)) for c in crops)
    again = data.augment(x, torch.Generator().manual_seed(0), padding=2)
    assert torch.equal(out, again)
    assert not torch.equal(out, data.augment(x, torch.Generator().manual_seed(1), padding=2))


def test_fake_cifar10_loader(tmp_path):
    _, full = write_fake_cifar(tmp_path, "cifar10", per_class=12)
    d = data.load("cifar10", imbalance=4, n_max=12, data_root=tmp_path, download=False)
    counts = data.long_tail_counts(12, 10, 4)
    assert d.counts == counts and len(d.train_y) == sum(counts)
    # the training files are read in order data_batch_1..5, so rebuild that order and apply the official rule
    x_all = np.concatenate([full[b"data"][i::5] for i in range(5)]).reshape(-1, 3, 32, 32)
    y_all = np.concatenate([np.asarray(full[b"labels"])[i::5] for i in range(5)])
    keep = official_subset(y_all, counts, 0)
    assert torch.equal(d.train_x, torch.from_numpy(x_all[keep]))
    assert d.train_y.tolist() == y_all[keep].tolist()
    assert len(d.test_y) == 30 and d.mean == data.CIFAR_MEAN
    assert d.class_names[0] == "airplane"


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_files_read_alike_by_torchvision_and_by_us(name, tmp_path, monkeypatch):
    """The fixture is in the genuine format (Python 2 pickles): torchvision's own reader opens it, a plain Python 3
    pickle.load cannot, and ours reads the same images, labels and class names."""
    import torchvision
    import torchvision.datasets.cifar as tv_cifar
    folder, _ = write_fake_cifar(tmp_path, name, per_class=4, test_per_class=2)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads((folder / ("test_batch" if name == "cifar10" else "test")).read_bytes())
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)  # the fixture has no real md5s
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    (train_x, train_y), (test_x, test_y), names = sources._cifar(name, tmp_path, download=False)
    for split, (x, y) in (("train", (train_x, train_y)), ("test", (test_x, test_y))):
        theirs = cls(str(tmp_path), train=split == "train", download=False)
        assert np.array_equal(x, theirs.data.transpose(0, 3, 1, 2)) and y.tolist() == list(theirs.targets)
    assert list(names) == theirs.classes


def test_fake_cifar100_loader(tmp_path):
    write_fake_cifar(tmp_path, "cifar100", per_class=5, test_per_class=1)
    d = data.load("cifar100", imbalance=5, data_root=tmp_path, download=False)
    assert d.counts == data.long_tail_counts(5, 100, 5) and d.num_classes == 100
    assert d.class_names[3] == "c3"
    assert len(d.groups["head"]) == 36


def test_missing_and_truncated_cifar(tmp_path):
    with pytest.raises(sources.DataError, match="--data-root"):
        data.load("cifar10", data_root=tmp_path, download=False)
    folder, _ = write_fake_cifar(tmp_path, "cifar10")
    raw = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(sources.DataError, match="data_batch_3"):
        data.load("cifar10", n_max=12, data_root=tmp_path, download=False)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; accepted: fashion-mnist, cifar10"):
        data.load("mnist")


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(sources.DataError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", data_root=tmp_path, download=False)


@needs_fashion_mnist
def test_truncated_fashion_mnist(tmp_path):
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(sources.FASHION_MNIST_DIR / name, tmp_path / name)
    raw = gzip.decompress((sources.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[: len(raw) // 3]))
    with pytest.raises(sources.DataError, match="truncated"):
        data.load("fashion-mnist", data_root=tmp_path, download=False)


@needs_fashion_mnist
def test_fashion_mnist_cpu_data_and_class_order():
    d = data.load("fashion-mnist", n_max=500)
    assert d.counts == data.long_tail_counts(500, 10, 100)
    assert d.train_x.shape[1:] == (1, 28, 28) and len(d.test_y) == 10000
    assert torch.bincount(d.test_y).tolist() == [1000] * 10
    assert d.class_names[-3:] == ["Coat", "Pullover", "Shirt"]
    (tx, ty), (vx, vy) = sources._fashion_mnist(None, download=False)
    assert data.nearest_mean_class_order(tx, ty, vx, vy) == data.FASHION_MNIST_ORDER


def test_synthetic_is_deterministic():
    a, b = data.load("synthetic", n_max=20, imbalance=10), data.load("synthetic", n_max=20, imbalance=10)
    assert torch.equal(a.train_x, b.train_x) and a.train_x.shape[1:] == (3, 32, 32)


def test_profile_that_empties_a_class():
    with pytest.raises(ValueError, match="leaves class 8 with no images; use n_max >= 100"):
        data.load("synthetic", n_max=40, imbalance=100)
