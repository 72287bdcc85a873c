import numpy as np
import pytest
import torch
import torch.nn as nn

from pyhessian import hessian as PyHessian

from conftest import trained_tiny_run
from saddle.hessian import FlatLoss, Hessian, Spectrum, min_eigenpair, spectral_density


def small_problem(seed=0):
    """A tanh MLP with ~2k parameters (float64) and data at a point where the Hessian is indefinite."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 40), nn.Tanh(), nn.Linear(40, 30), nn.Tanh(), nn.Linear(30, 5)).double()
    x, y = torch.randn(64, 10, dtype=torch.float64), torch.randint(0, 5, (64,))
    return model, nn.CrossEntropyLoss(), x, y


def dense_eigenvalues(model, criterion, x, y):
    flat = FlatLoss(model, criterion)
    return torch.linalg.eigvalsh(flat.hessian(flat.point, x, y)).numpy()


@pytest.fixture(scope="module")
def problem():
    model, criterion, x, y = small_problem()
    return model, criterion, x, y, dense_eigenvalues(model, criterion, x, y)


def test_extreme_ritz_values_match_dense(problem):
    model, criterion, x, y, exact = problem
    assert 1500 < exact.size < 2500 and exact.min() < 0 < exact.max()
    spectrum = spectral_density(model, criterion, (x, y), iters=80)
    span = exact.max() - exact.min()
    assert abs(spectrum.lambda_max - exact.max()) / span < 1e-3
    assert abs(spectrum.lambda_min - exact.min()) / span < 1e-3
    assert np.allclose(spectrum.weights.sum(axis=1), 1.0)


def test_min_eigenpair_and_reused_graph_hvp_match_dense(problem):
    model, criterion, x, y, exact = problem
    flat = FlatLoss(model, criterion)
    H = flat.hessian(flat.point, x, y)
    hvp = flat.hvp_operator(flat.point, x, y)
    probe = torch.randn(len(flat.point), dtype=torch.float64)
    assert torch.allclose(hvp(probe), H @ probe, atol=1e-10)
    lam, v, residual = min_eigenpair(hvp, len(flat.point), iters=120, dtype=torch.float64)
    span = exact.max() - exact.min()
    assert abs(lam - exact.min()) / span < 1e-4 and abs(float(v @ H @ v) - lam) / span < 1e-4
    assert residual / span < 1e-2 and abs(float(v.norm()) - 1) < 1e-12


@pytest.mark.parametrize("weighted", [False, True])
def test_batches_equal_single_batch_with_and_without_graph_reuse(problem, weighted):
    """Unequal batches are weighted by their image_mass (size, or summed class weights), so the reused graphs and
    the per-product path both give the Hessian of the mean over all images, for a DRW-weighted loss too."""
    from saddle.losses import WeightedCE
    model, criterion, x, y, _ = problem
    if weighted:
        criterion = WeightedCE(torch.linspace(0.2, 3.0, 5, dtype=torch.float64))
    whole = spectral_density(model, criterion, (x, y), iters=30, seed=3)
    batches = [(x[:20], y[:20]), (x[20:], y[20:])]
    reused = spectral_density(model, criterion, batches, iters=30, seed=3)
    reread = spectral_density(model, criterion, batches, iters=30, seed=3, reuse_graph=False)
    assert np.allclose(whole.eigenvalues, reused.eigenvalues, atol=1e-8)
    assert np.allclose(whole.eigenvalues, reread.eigenvalues, atol=1e-8)


@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_products_equal_one_graph(problem, shards):
    """The images split into parts whose products run on threads side by side, then add up: the same operator,
    and PyHessian's own power iteration still works on the engine."""
    model, criterion, x, y, exact = problem
    batches = [(x[:20], y[:20]), (x[20:], y[20:])]
    one = Hessian(model, criterion, dataloader=batches, reuse_graph=True)
    sharded = Hessian(model, criterion, dataloader=batches, reuse_graph=True, shards=shards)
    assert len(sharded.shard_grads) == shards
    probe = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    assert torch.allclose(sharded.flat_hvp(probe), one.flat_hvp(probe), atol=1e-12)
    whole = spectral_density(model, criterion, (x, y), iters=30, seed=3)
    assert np.allclose(spectral_density(model, criterion, batches, iters=30, seed=3, shards=shards).eigenvalues,
                       whole.eigenvalues, atol=1e-8)
    top, _ = sharded.eigenvalues(maxIter=500)
    assert abs(top[0] - exact[np.abs(exact).argmax()]) / np.abs(exact).max() < 1e-3


def test_density_converges_to_exact_histogram(problem):
    model, criterion, x, y, exact = problem
    edges = np.linspace(exact.min() - 1e-3, exact.max() + 1e-3, 9)
    target = np.histogram(exact, edges)[0] / exact.size
    errors = []
    for iters in (10, 200):
        s = spectral_density(model, criterion, (x, y), iters=iters, n_v=8)
        mass = np.array([s.weights[(s.eigenvalues >= lo) & (s.eigenvalues < hi)].sum() / len(s.weights)
                         for lo, hi in zip(edges[:-1], edges[1:])])
        errors.append(np.abs(mass - target).sum())
    assert errors[1] < errors[0] and errors[1] < 0.15
    grid, density = s.density()
    assert abs(np.trapezoid(density, grid) - 1) < 1e-2


def test_power_iteration_finds_largest_magnitude(problem):
    model, criterion, x, y, exact = problem
    top, _ = Hessian(model, criterion, data=(x, y)).eigenvalues(maxIter=500)
    largest = exact[np.abs(exact).argmax()]
    assert abs(top[0] - largest) / abs(largest) < 1e-3


def test_bad_iters(problem):
    model, criterion, x, y, _ = problem
    with pytest.raises(ValueError, match="iters must be between 1 and the parameter count"):
        spectral_density(model, criterion, (x, y), iters=10 ** 6)


def test_spectrum_ratio():
    s = Spectrum(np.array([[-2.0, 1.0, 8.0]]), np.array([[0.2, 0.5, 0.3]]))
    assert s.lambda_min == -2 and s.lambda_max == 8 and s.ratio == 0.25


def test_pyhessian_density_is_broken_on_this_torch(problem):
    """Why the subclass exists: the released PyHessian calls torch.eig, removed from torch 2."""
    model, criterion, x, y, _ = problem
    with pytest.raises((RuntimeError, AttributeError), match="eig"):
        PyHessian(model, criterion, data=(x, y), cuda=False).density(iter=5)


def test_capped_average_loss_samples_the_whole_set_not_its_first_class():
    """The training set is sorted by class: a capped average loss over its first images would be class 0's loss."""
    from types import SimpleNamespace
    from saddle.spectra import AVERAGE, loss_images
    y = torch.repeat_interleave(torch.arange(4), torch.tensor([400, 200, 100, 50]))
    data = SimpleNamespace(train_x=torch.arange(len(y), dtype=torch.float32)[:, None], train_y=y, num_classes=4)
    _, sample = loss_images(data, AVERAGE, 25)
    counts = torch.bincount(sample, minlength=4).tolist()
    assert len(sample) == 100 and all(abs(n - 100 * share) <= 15 for n, share in zip(counts, (8 / 15, 4 / 15, 2 / 15, 1 / 15)))
    assert torch.equal(loss_images(data, AVERAGE, 25)[1], sample)  # one fixed sample
    assert torch.equal(loss_images(data, AVERAGE)[1], y) and torch.equal(loss_images(data, AVERAGE, 500)[1], y)
    x, labels = loss_images(data, 2, 25)
    assert labels.tolist() == [2] * 25 and x[:, 0].tolist() == list(range(600, 625))  # a class: its first images


@pytest.mark.slow  # trains a run, then five sets of spectra (11 s of one core measured)
def test_class_spectra_record_and_cache(tmp_path):
    from saddle.spectra import run_spectra
    record = trained_tiny_run(tmp_path)
    result = run_spectra(record, epoch=2, classes=[0, 9, "average"], iters=8, root=tmp_path,
                            cache=tmp_path / "cache", progress=False)
    assert set(result["spectra"]) == {"0", "9", "average"} and result["train_counts"][9] == 4
    s = result["spectra"]["9"]
    assert s["lambda_min"] <= s["lambda_max"] and len(s["eigenvalues"][0]) == 8
    again = run_spectra(record, epoch=2, classes=[0, 9, "average"], iters=8, root=tmp_path,
                           cache=tmp_path / "cache")
    assert again == result  # read back, not recomputed
    assert result["provenance"]["data_sha256"] == record["provenance"]["data_sha256"]  # the run's arrays
    assert result["provenance"]["precision"] == "fp32" and result["provenance"]["threads"] >= 1
    test = run_spectra(record, epoch=2, classes=[9], iters=8, root=tmp_path, cache=tmp_path / "cache",
                       progress=False, images="test")  # class 9's test images: another loss, another record
    assert test["settings"]["images"] == "test" and "images" not in result["settings"]
    assert test["provenance"]["data_sha256"] == record["provenance"]["data_sha256"]
    assert "average" not in result["settings"]  # uncapped: the whole set, as before
    capped = run_spectra(record, epoch=2, classes=["average"], iters=4, root=tmp_path, cache=tmp_path / "cache",
                         progress=False, max_per_class=2)
    assert capped["settings"]["average"] == "uniform sample"  # a key of its own: first-images records are not read
    assert test["spectra"]["9"] != result["spectra"]["9"] and test["at_point"]["9"] != result["at_point"]["9"]
    with pytest.raises(ValueError, match="images 'val'"):
        run_spectra(record, epoch=2, classes=[9], iters=8, root=tmp_path, images="val")
    with pytest.raises(FileNotFoundError, match=r"no checkpoint of run .* at epoch 5 .* available epochs: \[1, 2\]"):
        run_spectra(record, epoch=5, iters=3, root=tmp_path, cache=tmp_path / "cache")


def test_read_only_build_names_the_command_that_writes_the_missing_record(tmp_path, monkeypatch):
    """The command a read-only build prints must write the very record the chapter reads (every setting carried),
    not one with the command's defaults."""
    import shlex
    from saddle.cli import main
    from saddle.results import MissingRecordError
    from saddle.spectra import run_spectra
    record = trained_tiny_run(tmp_path)
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    wanted = dict(epoch=2, classes=[9, "average"], iters=6, seed=4, max_per_class=3, images="test")
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    with pytest.raises(MissingRecordError, match="create it with: python -m saddle hessian") as missing:
        run_spectra(record, root=tmp_path, progress=False, **wanted)
    command = str(missing.value).split("create it with: ")[1]
    assert "--probe-seed 4" in command and "--max-per-class 3" in command and "--n-v" not in command
    monkeypatch.delenv("SADDLE_READ_ONLY")
    assert main(shlex.split(command)[3:] + ["--out", str(tmp_path), "--quiet"]) == 0
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    assert run_spectra(record, root=tmp_path, progress=False, **wanted)["settings"]["seed"] == 4  # read, not refused


@pytest.mark.slow  # trains a run, then four spectra (7 s of one core measured)
def test_train_and_test_images_put_each_tail_class_on_both_image_sets(tmp_path):
    from saddle.spectra import IMAGE_SETS, run_spectra
    from saddle_book.saddle_points import images_sentence, train_and_test_images
    from saddle_book.saddle_setup import Estimator
    record = trained_tiny_run(tmp_path)
    where = dict(root=tmp_path, cache=tmp_path / "cache", progress=False)
    estimator = Estimator(iters=6, max_per_class=None, seed=0)  # the book's: it reads what is recorded
    assert train_and_test_images({"SGD": record}, estimator, 2, [8, 9], **where).empty
    for images in IMAGE_SETS:  # what `python -m saddle analyse chapter2` computes for the chapter
        run_spectra(record, 2, [8, 9], iters=6, seed=0, images=images, **where)
    rows = train_and_test_images({"SGD": record}, estimator, 2, [8, 9], **where)
    assert sorted(zip(rows["class"].str[0], rows["images"])) == [("8", "test"), ("8", "train"), ("9", "test"),
                                                                 ("9", "train")]
    assert (rows["lambda_min"] <= rows["lambda_max"]).all() and (rows["loss"] > 0).all()
    assert images_sentence(rows).startswith("Means over the tail classes. SGD: lambda_min ")
    assert images_sentence(rows[rows["images"] == "train"]).endswith("not computed at this scale yet.")


def test_spectra_from_committed_snapshots_on_a_fresh_clone(tmp_path, monkeypatch):
    """A run's snapshots kept in results/<scale>/checkpoints/ are what a fresh clone (no cache) analyses: new
    Hessian settings are computed from them without training; each class also gets its loss and gradient norm."""
    import shutil
    from saddle.checkpoints import keep_snapshots
    from saddle.spectra import run_spectra
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))
    record = trained_tiny_run(tmp_path)
    kept = keep_snapshots(record, epochs=[2], cache=tmp_path / "cache")
    assert [p.name for p in kept] == ["epoch_0002.pt"] and (kept[0].parent / "epoch_0002.pt.sha256").exists()
    shutil.rmtree(tmp_path / "cache")  # a fresh clone: no cache
    with pytest.raises(FileNotFoundError, match=f"no snapshot of run {record['id']} at epoch 2"):
        keep_snapshots(record, epochs=[2], cache=tmp_path / "cache")  # named, not a damaged-file error
    result = run_spectra(record, epoch=2, classes=[9], iters=5, root=tmp_path, cache=tmp_path / "cache",
                            progress=False)
    point = result["at_point"]["9"]
    assert result["spectra"]["9"]["lambda_min"] <= result["spectra"]["9"]["lambda_max"]
    assert point["loss"] > 0 and point["grad_norm"] > 0
    with pytest.raises(FileNotFoundError, match="available epochs: \\[2\\]"):
        run_spectra(record, epoch=1, classes=[9], iters=5, root=tmp_path, cache=tmp_path / "cache")


def test_sweep_rows_are_the_tail_spectra_of_each_run_and_skip_what_is_missing(tmp_path):
    """sweep_rows: one row per tail class of each (rho, seed) run, tagged with both; a run without a record, and with
    compute=False a run without spectra, is left out rather than computed."""
    from saddle.spectra import run_spectra, sweep_rows
    record = trained_tiny_run(tmp_path)
    tail = record["groups"]["tail"]
    assert sweep_rows({(0.0, 0): record}, iters=4, root=tmp_path, cache=tmp_path / "cache", compute=False) == []
    rows = sweep_rows({(0.0, 0): record, (0.5, 1): None}, iters=4, root=tmp_path, cache=tmp_path / "cache",
                      progress=False)
    assert [(r["rho"], r["seed"]) for r in rows] == [(0.0, 0)] * len(tail)
    stored = run_spectra(record, record["config"]["epochs"], tail, iters=4, seed=0, root=tmp_path,
                            cache=tmp_path / "cache", compute=False)
    assert [r["lambda_min"] for r in rows] == [stored["spectra"][str(c)]["lambda_min"] for c in tail]


def test_class_spectra_bad_input():
    from saddle import data, models
    from saddle.spectra import class_spectra
    d = data.load("synthetic", n_max=20, imbalance=10)
    model = models.resnet(8)
    with pytest.raises(ValueError, match=r"classes \[12\] out of range; accepted: 0..9, 'average' or 'all'"):
        class_spectra(model, d, classes=[12], progress=False)
    with pytest.raises(ValueError, match="unknown Hessian criterion 'mse'"):
        class_spectra(model, d, classes=[0], criterion="mse", progress=False)
    keep = d.train_y != 9
    d.train_x, d.train_y = d.train_x[keep], d.train_y[keep]
    with pytest.raises(ValueError, match=r"class 9 \(class 9\) has no training samples"):
        class_spectra(model, d, classes=[9], iters=3, progress=False)


def test_classes_side_by_side_equal_one_at_a_time():
    """Classes computed on threads of their own give each class the spectrum it gets alone, and the model is
    restored (no rewritten forward left) after success and after an error."""
    from saddle import data, models
    from saddle.spectra import AVERAGE, class_spectra
    d = data.load("synthetic", n_max=20, imbalance=10)
    torch.manual_seed(0)
    model = models.resnet(8)
    classes = [0, 3, 9, AVERAGE]
    alone = class_spectra(model, d, classes=classes, iters=8, progress=False, workers=1)
    side_by_side = class_spectra(model, d, classes=classes, iters=8, progress=False, workers=2)
    assert list(side_by_side) == classes
    for c in classes:
        assert np.allclose(side_by_side[c].eigenvalues, alone[c].eigenvalues, rtol=1e-4, atol=1e-6)
        assert np.allclose(side_by_side[c].weights, alone[c].weights, rtol=1e-3, atol=1e-6)
    assert not any("forward" in vars(m) for m in model.modules())
    with pytest.raises(ValueError, match="iters must be between 1 and the parameter count"):
        class_spectra(model, d, classes=classes, iters=10 ** 9, progress=False, workers=2)
    assert not any("forward" in vars(m) for m in model.modules())


def test_augmented_operator_differs_from_fixed_one():
    from saddle import data, models
    from saddle.spectra import class_spectra
    d = data.load("synthetic", n_max=20, imbalance=10)
    torch.manual_seed(0)
    model = models.resnet(8)
    fixed = class_spectra(model, d, classes=[0], iters=5, progress=False)[0]
    again = class_spectra(model, d, classes=[0], iters=5, progress=False)[0]
    moving = class_spectra(model, d, classes=[0], iters=5, augment=True, progress=False)[0]
    assert np.allclose(fixed.eigenvalues, again.eigenvalues)
    assert not np.allclose(fixed.eigenvalues, moving.eigenvalues)


def _resnet_with_batchnorm_statistics(name):
    from saddle import models
    torch.manual_seed(0)
    model = models.build(name, num_classes=5).double()
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5), bn.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.mark.parametrize("size", [16, 15])  # even and odd: a strided convolution drops an edge row or not
def test_second_order_graph_gives_the_same_hessian(size):
    """Folding each eval-mode BatchNorm into its convolution and rewriting the convolution's backward change the
    graph, not the function: float64 Hessian-vector products agree to rounding, every pair is rewritten, and the
    model is restored after."""
    from saddle.hessian import second_order_graph
    model = _resnet_with_batchnorm_statistics("resnet8")
    x, y = torch.randn(6, 3, size, size, dtype=torch.float64), torch.randint(0, 5, (6,))
    criterion = nn.CrossEntropyLoss()
    params = list(model.parameters())
    probe = [torch.randn_like(p) for p in params]

    def hvp():
        grads = torch.autograd.grad(criterion(model(x), y), params, create_graph=True)
        return torch.cat([h.reshape(-1) for h in torch.autograd.grad(grads, params, probe)])

    before, logits = hvp(), model(x)
    with second_order_graph(model) as folded:
        inside = hvp()
    assert folded == 7  # the stem and two per block of ResNet-8's three blocks
    assert torch.allclose(inside, before, rtol=1e-9, atol=1e-9 * before.abs().max())
    assert not any("forward" in vars(m) for m in model.modules())
    assert torch.equal(model(x), logits)
    with second_order_graph(model.train()) as folded:
        assert folded == 0  # batch statistics: nothing to fold


def test_batched_products_of_a_weighted_loss_equal_one_graph_over_the_whole_set():
    """Check 3's operator: batches of unequal size and class mix, a DRW-weighted mean, graphs rebuilt per product on
    second_order_graph: the same products as one graph over every image (float64, ResNet-8 with BatchNorm
    statistics), and as the dense Hessian on the MLP."""
    from saddle.losses import WeightedCE, image_mass
    model = _resnet_with_batchnorm_statistics("resnet8")
    x, y = torch.randn(11, 3, 16, 16, dtype=torch.float64), torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4])
    criterion = WeightedCE(torch.tensor([0.2, 0.5, 1.0, 1.5, 1.8], dtype=torch.float64))
    assert image_mass(criterion, y[:3]) == pytest.approx(0.6) and image_mass(nn.CrossEntropyLoss(), y) == 11
    with pytest.raises(ValueError, match="reduction 'sum'"):
        image_mass(nn.CrossEntropyLoss(reduction="sum"), y)
    flat = FlatLoss(model, criterion)
    probe = torch.randn(len(flat.point), dtype=torch.float64)
    whole = flat.hvp_operator(flat.point, x, y)(probe)
    operator = flat.batched_hvp_operator(flat.point, x, y, batch_size=4)  # 4 + 4 + 3, classes mixed
    batched, again = operator(probe), operator(probe)
    assert torch.allclose(batched, whole, rtol=1e-9, atol=1e-9 * whole.abs().max()) and torch.equal(again, batched)
    assert not any("forward" in vars(m) for m in model.modules())  # second_order_graph undone after each product
    mlp, _, xs, ys = small_problem()
    weighted = FlatLoss(mlp, WeightedCE(torch.linspace(0.5, 2.0, 5, dtype=torch.float64)))
    H = weighted.hessian(weighted.point, xs, ys)
    u = torch.randn(len(weighted.point), dtype=torch.float64)
    assert torch.allclose(weighted.batched_hvp_operator(weighted.point, xs, ys, batch_size=20)(u), H @ u, atol=1e-10)


def test_every_batchnorm_of_resnet50_is_folded():
    """torchvision's ResNet-50 (the large scale): stem, three per bottleneck and each downsample's Sequential."""
    from saddle.hessian import second_order_graph
    model = _resnet_with_batchnorm_statistics("resnet50")
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        logits = model(x)
        with second_order_graph(model) as folded:
            assert torch.allclose(model(x), logits, rtol=1e-9, atol=1e-9)
    assert folded == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 53


def test_estimator_check_gives_the_probe_spread_at_each_number_of_steps(tmp_path):
    from saddle.spectra import estimator_check
    record = trained_tiny_run(tmp_path)
    kwargs = dict(root=tmp_path, cache=tmp_path / "cache")
    assert estimator_check({"tiny": record}, [9], iters=(4, 8), compute=False, **kwargs) == []  # nothing computed
    rows = estimator_check({"tiny": record, "missing": None}, [9], iters=(4, 8), probes=(0, 1), **kwargs)
    assert [(r["method"], r["Lanczos steps"], r["probes"]) for r in rows] == [("tiny", 4, 2), ("tiny", 8, 2)]
    assert all(r["lambda_min spread"] >= 0 and r["lambda_min"] <= r["lambda_max"] for r in rows)
    again = estimator_check({"tiny": record}, [9], iters=(4, 8), probes=(0, 1), compute=False, **kwargs)
    assert again == rows  # read back from the analysis records


def small_conv_problem(seed=0, dense=True):
    """A float32 network of two (convolution, BatchNorm) pairs second_order_graph folds, tanh activations (an
    indefinite Hessian) and a linear classifier (559 parameters), BatchNorm statistics drawn at random, and 48
    8x8 images in two batches; with its dense float64 Hessian (column by column) unless dense=False."""
    import copy
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.Tanh(),
                          nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.Tanh(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    for bn in (m for m in model if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5), bn.bias.data.uniform_(-0.5, 0.5)
    x, y = torch.randn(48, 1, 8, 8), torch.randint(0, 5, (48,))
    criterion = nn.CrossEntropyLoss()
    if not dense:
        return model.eval(), criterion, [(x[:24], y[:24]), (x[24:], y[24:])], None
    exact = copy.deepcopy(model).double().eval()
    params = list(exact.parameters())
    grads = torch.autograd.grad(criterion(exact(x.double()), y), params, create_graph=True)
    g = torch.cat([t.reshape(-1) for t in grads])
    H = torch.stack([torch.cat([t.reshape(-1) for t in torch.autograd.grad(g, params, e, retain_graph=True)])
                     for e in torch.eye(len(g), dtype=torch.float64)])
    return model.eval(), criterion, [(x[:24], y[:24]), (x[24:], y[24:])], H


def test_bf16_products_give_the_dense_hessians_extremes_to_a_stated_tolerance():
    """precision="bf16" (the folded convolutions differentiated through bfloat16 copies, the forward float32):
    extreme Ritz values within 5e-3 of the spectral range of the dense float64 Hessian's. Why 5e-3: a product off
    by a relative e moves no eigenvalue by more than e ||H|| (Weyl), and ||H|| <= the range of an indefinite
    Hessian; bfloat16's unit roundoff is 2^-9 = 2e-3, and the products here are off by 0.2-0.3% (0.4% on the
    cpu-scale ResNet-8); the extremes measured 2.5e-4 at most (three seeds). The float32 path on the same network
    agrees to 1e-3, as on the MLP. The bf16 products must differ from float32's (the option acts) by under 1%."""
    from saddle.hessian import second_order_graph
    model, criterion, batches, H = small_conv_problem()
    exact = torch.linalg.eigvalsh(H).numpy()
    span = exact.max() - exact.min()
    assert H.shape == (559, 559) and torch.allclose(H, H.T, atol=1e-10) and exact.min() < 0 < exact.max()
    for precision, tolerance in (("fp32", 1e-3), ("bf16", 5e-3)):
        spectrum = spectral_density(model, criterion, batches, iters=40, precision=precision)
        assert abs(spectrum.lambda_max - exact.max()) / span < tolerance, precision
        assert abs(spectrum.lambda_min - exact.min()) / span < tolerance, precision
        assert np.allclose(spectrum.weights.sum(axis=1), 1.0)
    probe = torch.randn(len(H))
    with second_order_graph(model):
        products = {precision: Hessian(model, criterion, dataloader=batches, reuse_graph=True,
                                       precision=precision).flat_hvp(probe).double()
                    for precision in ("fp32", "bf16")}
    target = H @ probe.double()
    error = {precision: float((product - target).norm() / target.norm()) for precision, product in products.items()}
    assert error["fp32"] < 1e-5 and 1e-4 < error["bf16"] < 1e-2
    assert all(p.grad is None for p in model.parameters()) and not any("forward" in vars(m) for m in model.modules())


def test_bf16_is_refused_where_it_would_not_act(problem):
    model, criterion, x, y, _ = problem  # a float64 MLP: no convolution to fold
    conv, _, batches, _ = small_conv_problem(dense=False)
    with pytest.raises(ValueError, match="unknown precision 'fp16'; accepted: fp32, bf16"):
        spectral_density(conv, nn.CrossEntropyLoss(), batches, iters=3, precision="fp16")
    with pytest.raises(ValueError, match="precision 'bf16' needs fast_graph"):
        spectral_density(conv, nn.CrossEntropyLoss(), batches, iters=3, precision="bf16", fast_graph=False)
    with pytest.raises(ValueError, match="needs a float32 model inside second_order_graph"):
        spectral_density(model, criterion, (x, y), iters=3, precision="bf16")
    with pytest.raises(ValueError, match="needs a float32 model inside second_order_graph"):
        Hessian(conv, nn.CrossEntropyLoss(), dataloader=batches, reuse_graph=True, precision="bf16")


def test_class_spectra_takes_bf16_on_request_only():
    """class_spectra's bf16 option reaches the products: spectra close to float32's (the default, what run_spectra
    stores), not equal to them."""
    from saddle import data, models
    from saddle.spectra import class_spectra
    d = data.load("synthetic", n_max=20, imbalance=10)
    torch.manual_seed(0)
    model = models.resnet(8)
    fp32 = class_spectra(model, d, classes=[0, 9], iters=6, progress=False)
    bf16 = class_spectra(model, d, classes=[0, 9], iters=6, progress=False, precision="bf16")
    for c in (0, 9):
        span = fp32[c].lambda_max - fp32[c].lambda_min
        assert not np.array_equal(bf16[c].eigenvalues, fp32[c].eigenvalues)
        assert max(abs(bf16[c].lambda_min - fp32[c].lambda_min), abs(bf16[c].lambda_max - fp32[c].lambda_max)) < 5e-2 * span
