"""CIFAR-10 from the JPEG copy: order, labels, caching, the official subset, and refusals of bad archives."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from saddle import data, sources
from saddle.cli import main
from saddle.sources import CIFAR_NAMES, DataError, read_cifar10_jpeg

PER_CLASS, TEST_PER_CLASS = 3, 2


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    return tmp_path / "cache"


def jpeg(value: int, size=(32, 32)) -> bytes:
    """A flat image whose grey level names it (JPEG keeps a flat image's level to within a unit or two)."""
    out = io.BytesIO()
    Image.new("RGB", size, (value, value, value)).save(out, "JPEG", quality=95)
    return out.getvalue()


def labels_in_order(n: int) -> list[int]:
    """A shuffled but balanced label sequence, as CIFAR's training order is."""
    return list(np.random.RandomState(1).permutation(np.repeat(np.arange(10), n)))


def members(per_class=PER_CLASS):
    """{member name: bytes}: training image i has grey level 5 i; test image n of class c 200 + 5 c + n."""
    files = {f"train/{CIFAR_NAMES[label]}/{i:05d}.jpg": jpeg(5 * i)
             for i, label in enumerate(labels_in_order(per_class))}
    files.update({f"test/{name}/{n:04d}.jpg": jpeg(200 + 5 * c + n)
                  for c, name in enumerate(CIFAR_NAMES) for n in range(TEST_PER_CLASS)})
    return files


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return path


def test_order_labels_and_cache(tmp_path, cache, monkeypatch):
    archive = write_zip(tmp_path / "small.zip", members())
    (train_x, train_y), (test_x, test_y) = read_cifar10_jpeg(archive)
    assert train_x.shape == (30, 3, 32, 32) and train_x.dtype == np.uint8
    assert list(train_y) == labels_in_order(PER_CLASS)  # the original training order, labels from the folders
    assert np.abs(train_x.reshape(30, -1).mean(1) - 5 * np.arange(30)).max() < 2
    assert list(test_y) == [c for c in range(10) for _ in range(TEST_PER_CLASS)]
    assert np.abs(test_x.reshape(20, -1).mean(1) - [200 + 5 * c + n for c in range(10)
                                                    for n in range(TEST_PER_CLASS)]).max() < 2
    cached = list((cache / "data").iterdir())
    assert len(cached) == 1 and sources._source_sha256(archive, {})[:20] in cached[0].name
    monkeypatch.setattr(sources, "_decode_jpegs", lambda *a: pytest.fail("decoded again despite the cache"))
    (again_x, _), _ = read_cifar10_jpeg(archive)
    assert np.array_equal(again_x, train_x)


def test_folder_layout_reads_as_the_zip(tmp_path):
    files = members()
    for name, body in files.items():
        (tmp_path / "folder" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "folder" / name).write_bytes(body)
    (zx, zy), (zt, zty) = read_cifar10_jpeg(write_zip(tmp_path / "small.zip", files))
    (fx, fy), (ft, fty) = read_cifar10_jpeg(tmp_path / "folder")
    assert np.array_equal(zx, fx) and np.array_equal(zy, fy) and np.array_equal(zt, ft) and np.array_equal(zty, fty)


def damaged(kind: str, tmp_path):
    files = members()
    first = next(iter(files))
    if kind == "truncated":
        body = write_zip(tmp_path / "whole.zip", files).read_bytes()
        (tmp_path / "bad.zip").write_bytes(body[: len(body) // 2])
        return tmp_path / "bad.zip"
    if kind == "not a zip":
        (tmp_path / "bad.zip").write_text("not an archive")
        return tmp_path / "bad.zip"
    if kind == "not 32x32":
        files[first] = jpeg(0, (16, 16))
    elif kind == "not an image":
        files[first] = b"GIF89a not really"
    elif kind == "missing class":
        files = {n: b for n, b in files.items() if "/truck/" not in n}
    elif kind == "two images, one index":
        other = next(n for n in files if n.startswith("train/") and not n.startswith(first.rsplit("/", 1)[0]))
        files[other.rsplit("/", 1)[0] + "/" + first.rsplit("/", 1)[1]] = files.pop(other)
    elif kind == "class count off":
        files = members(per_class=PER_CLASS)
        extra = f"train/{CIFAR_NAMES[0]}/{10 * PER_CLASS:05d}.jpg"
        files[extra] = jpeg(0)
    elif kind == "stray member":
        files["README.txt"] = b"hello"
    return write_zip(tmp_path / "bad.zip", files)


BAD = ("truncated", "not a zip", "not 32x32", "not an image", "missing class", "two images, one index",
       "class count off", "stray member")


@pytest.mark.parametrize("kind", BAD)
def test_bad_archives_are_refused_and_cache_nothing(kind, tmp_path, cache):
    archive = damaged(kind, tmp_path)
    with pytest.raises(DataError, match="accepted"):
        read_cifar10_jpeg(archive)
    assert not (cache / "data").exists() or not any((cache / "data").iterdir())


@pytest.mark.parametrize("kind", ("truncated", "missing class"))
def test_train_exits_2_on_a_bad_archive(kind, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))  # its own lock: another file may train this run
    archive = damaged(kind, tmp_path)
    assert main(["train", "--scale", "cifar10-r32", "--loss", "ce", "--drw", "--epochs", "1",
                 "--data-root", str(archive), "--out", str(tmp_path / "out")]) == 2
    assert str(archive) in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.json"))


def test_missing_source_is_not_downloaded(tmp_path):
    with pytest.raises(DataError, match="Nothing is downloaded"):
        read_cifar10_jpeg(tmp_path / "absent.zip")
    assert not (tmp_path / "absent.zip").exists()


@pytest.mark.skipif(not sources.default_jpeg_source().is_file(),
                    reason=f"the shared JPEG copy is not at {sources.default_jpeg_source()} (shared/data/README.md)")
@pytest.mark.slow  # decodes the real archive's 60,000 JPEGs
def test_official_subset_on_the_real_archive():
    lt = data.load("cifar10-jpeg")
    assert [int((lt.train_y == c).sum()) for c in range(10)] == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert lt.counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert len(lt.test_y) == 10_000 and lt.class_names == list(CIFAR_NAMES)
    (train_x, train_y), _ = read_cifar10_jpeg()
    assert list(train_y[:10]) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # the original order (frog first), README's check
