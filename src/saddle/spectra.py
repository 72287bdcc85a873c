"""Class-wise Hessian spectra, the paper's protocol (Sec. 3): the Hessian of one class's mean training loss (or
the average loss) at a run's snapshot, by saddle.hessian's estimator, kept as analysis records under
results/<scale>/hessian/ so the chapters read them, and the rows the chapters show."""
from __future__ import annotations

from concurrent.futures import wait
from dataclasses import replace

import torch
from tqdm import tqdm

from . import data as data_lib
from . import losses
from .checkpoints import checkpoint_path, load_checkpoint
from .checks import check_choice
from .config import RunConfig
from .hessian import Spectrum, one_core_threads, second_order_graph, spectral_density
from .results import analysis_path
from .results import get_or_compute as get_or_compute_record
from .train import build_model, load_data


HESSIAN_CRITERIA = ("ce", "drw", "ldam")
AVERAGE = "average"
AVERAGE_SAMPLE_SEED = 0  # the capped average loss's image sample: one fixed sample, whatever the probe seed


def loss_images(data, c, max_per_class: int | None = None) -> tuple:
    """Class c's first `max_per_class` training images; AVERAGE capped: a uniform sample of max_per_class x classes
    images (the set is sorted by class, so its first images would all be one class)."""
    if c != AVERAGE:
        chosen = data.train_y == c
        return data.train_x[chosen][:max_per_class], data.train_y[chosen][:max_per_class]
    if max_per_class is None or max_per_class * data.num_classes >= len(data.train_y):
        return data.train_x, data.train_y
    pick = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(AVERAGE_SAMPLE_SEED))
    return data.train_x[pick[:max_per_class * data.num_classes]], data.train_y[pick[:max_per_class * data.num_classes]]


class AugmentedBatches:
    """Class images re-augmented on every pass, as the official script's loader did (the operator is not fixed)."""

    def __init__(self, data, x, y, batch_size, seed):
        self.data, self.x, self.y, self.batch_size = data, x, y, batch_size
        self.generator = torch.Generator(device=x.device).manual_seed(seed)

    def __iter__(self):
        for i in range(0, len(self.y), self.batch_size):
            yield (self.data.normalize(data_lib.augment(self.x[i:i + self.batch_size], self.generator)),
                   self.y[i:i + self.batch_size])


def class_criterion(name: str, counts, config=None) -> torch.nn.Module:
    """The loss whose Hessian is taken: 'ce' (the paper's), 'drw' (for one class the same Hessian as 'ce'; the
    official script offers it) or 'ldam'."""
    check_choice("Hessian criterion", name, HESSIAN_CRITERIA)
    weight = losses.drw_weights(counts) if name == "drw" else None
    return losses.criterion("ldam" if name == "ldam" else "ce", counts, weight, config.max_margin if config else 0.5)


def class_spectra(model, data, classes="all", criterion: str = "ce", max_per_class: int | None = None,
                  iters: int = 100, n_v: int = 1, seed: int = 0, augment: bool = False,
                  batch_size: int = 128, max_graph_images: int = 2048, progress: bool = True,
                  config=None, workers: int | None = None, precision: str = "fp32") -> dict:
    """Spectrum of each class's mean training loss ("average": the whole set's, the spectrum that hides the
    saddles, Fig. 2 A/D). A class of up to max_graph_images keeps its graphs; a larger one is re-read per product.
    workers: classes side by side on one-core threads, largest first (a small class gains nothing from a second
    core inside its products); re-read classes run one at a time, as they write the shared .grad. Stored
    analyses use fp32 (run_spectra does not take `precision`)."""
    classes = list(range(data.num_classes)) if classes == "all" else list(classes)
    bad = [c for c in classes if c != AVERAGE and not (isinstance(c, int) and 0 <= c < data.num_classes)]
    if bad:
        raise ValueError(f"classes {bad} out of range; accepted: 0..{data.num_classes - 1}, {AVERAGE!r} or 'all'")
    device = next(model.parameters()).device
    loss = class_criterion(criterion, data.counts, config).to(device)
    images = {}
    for c in classes:
        images[c] = loss_images(data, c, max_per_class)
        if len(images[c][1]) == 0:
            raise ValueError(f"class {c} ({data.class_names[c]}) has no training samples")
    if workers is None:
        workers = torch.get_num_threads() if device.type == "cpu" else 1
    kept = not augment and all(len(y) <= max_graph_images for _, y in images.values())
    workers = max(1, min(workers, len(classes))) if kept else 1

    def spectrum(c):
        x, y = images[c]
        if augment:
            batches = AugmentedBatches(data, x, y, batch_size, seed)
        else:
            batches = [(data.normalize(x[i:i + batch_size]), y[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return spectral_density(model, loss, batches, iters=iters, n_v=n_v, seed=seed,
                                reuse_graph=len(x) <= max_graph_images, shards=1 if workers > 1 else None,
                                precision=precision)

    largest_first = sorted(classes, key=lambda c: -len(images[c][1]))
    model.eval()  # as spectral_density sets it: folded here once, or each thread would fold and unfold the
    # shared model under the others (a thread's graph then missed the BatchNorm parameters: a flaky RuntimeError)
    with second_order_graph(model), tqdm(total=len(classes), desc="class spectra", disable=not progress) as bar:
        if workers == 1:
            spectra = {}
            for c in largest_first:
                spectra[c] = spectrum(c)
                bar.update()
        else:
            futures = {c: one_core_threads(workers).submit(spectrum, c) for c in largest_first}
            for future in futures.values():
                future.add_done_callback(lambda _: bar.update())
            try:
                spectra = {c: future.result() for c, future in futures.items()}
            finally:  # on an error, no class may still be using the model once it is restored
                for future in futures.values():
                    future.cancel()
                wait(futures.values())
    return {c: spectra[c] for c in classes}


def class_loss_and_gradient(model, data, classes, criterion: str = "ce", max_per_class: int | None = None,
                            config=None) -> dict:
    """Each class's mean loss and gradient norm at the point: a saddle has a *small* gradient, so a negative
    lambda_min means little beside a large one."""
    device = next(model.parameters()).device
    loss_fn = class_criterion(criterion, data.counts, config).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    out = {}
    for c in classes:
        x, y = loss_images(data, c, max_per_class)
        loss = loss_fn(model(data.normalize(x).to(device)), y.to(device))
        grads = torch.autograd.grad(loss, params)
        out[str(c)] = {"loss": loss.item(), "grad_norm": float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))}
    return out


IMAGE_SETS = ("train", "test")


def run_spectra(record: dict, epoch: int, classes="all", criterion: str = "ce", iters: int = 100,
                   n_v: int = 1, seed: int = 0, augment: bool = False, max_per_class: int | None = None,
                   data_root=None, root=None, cache=None, progress: bool = True,
                   compute: bool = True, images: str = "train") -> dict | None:
    """Class-wise spectra of a run at one epoch as an analysis record (compute=False: None where missing).
    images 'test': each class's test images instead (is negative curvature a mark of memorised images?)."""
    check_choice("images", images, IMAGE_SETS)
    config = RunConfig.from_dict(record["config"])
    settings = dict(epoch=epoch, classes=classes, criterion=criterion, iters=iters, n_v=n_v, seed=seed,
                    augment=augment, max_per_class=max_per_class)
    if images != "train":  # only then: the records of training images keep their paths
        settings["images"] = images
    if max_per_class is not None and classes != "all" and AVERAGE in classes:
        settings["average"] = "uniform sample"  # not the first images, as records before 2026-12-05 took

    def spectra_record():
        data, model = snapshot_model(config, epoch, data_root, cache)
        provenance = measured_on(data)  # the run's arrays, whichever images the spectra take
        if images == "test":
            data = replace(data, train_x=data.test_x, train_y=data.test_y)
        spectra = class_spectra(model, data, classes, criterion, max_per_class, iters, n_v, seed, augment,
                                progress=progress, config=config)
        return {"run_id": config.run_id, "label": config.label, "settings": settings,
                "class_names": data.class_names, "train_counts": data.counts,
                "spectra": {str(c): s.to_dict() for c, s in spectra.items()},
                "at_point": class_loss_and_gradient(model, data, list(spectra), criterion, max_per_class, config),
                "provenance": provenance}
    return stored_analysis(config, "hessian", epoch, settings, spectra_record, hessian_command(config.run_id, settings),
                           root, compute)


def hessian_command(run_id: str, settings: dict) -> str:
    """The `python -m saddle hessian` command that writes the record of these settings (each non-default one)."""
    classes = settings["classes"]
    words = [f"python -m saddle hessian --run {run_id} --epoch {settings['epoch']}"]
    if classes != "all":
        words.append("--classes " + ",".join(str(c) for c in classes))
    for option, key, default in (("--criterion", "criterion", "ce"), ("--iters", "iters", 100), ("--n-v", "n_v", 1),
                                 ("--max-per-class", "max_per_class", None), ("--probe-seed", "seed", 0),
                                 ("--images", "images", "train")):
        if settings.get(key, default) != default:
            words.append(f"{option} {settings[key]}")
    if settings.get("augment"):
        words.append("--augment")
    return " ".join(words)


def snapshot_model(config: RunConfig, epoch: int, data_root=None, cache=None):
    """A run's data and its network at a snapshot (a verified weights-only load): where every analysis starts."""
    data = load_data(config, data_root)
    model = build_model(config, data)
    load_checkpoint(checkpoint_path(config.run_id, epoch, cache), config, model)
    return data, model


def measured_on(data) -> dict:
    """The provenance an analysis adds: the digest of its run's arrays and its arithmetic (analyses run in fp32)."""
    return {"data_sha256": data.digest(), "precision": "fp32"}


def stored_analysis(config: RunConfig, kind: str, epoch: int, settings: dict, make, how: str, root=None,
                    compute: bool = True) -> dict | None:
    """The analysis record of `kind`, computed by `make` where missing (compute=False: None)."""
    path = analysis_path(config.scale, kind, config.run_id, epoch, settings, root)
    if not compute and not path.exists():
        return None
    return get_or_compute_record(path, make, how)


def sweep_rows(runs: dict, iters: int = 100, max_per_class: int | None = None, compute: bool = True,
               **kwargs) -> list[dict]:
    """A row per tail class of each run of a radius sweep {(rho, seed): record or None}, from its last epoch's
    spectra (probe seeded by the run's seed): Fig. 3 C and chapter 6's panels. Missing ones are left out."""
    rows = []
    for (rho, seed), record in runs.items():
        if record is None or record.get("status") != "complete":
            continue
        result = run_spectra(record, record["config"]["epochs"], record["groups"]["tail"], iters=iters, seed=seed,
                                max_per_class=max_per_class, compute=compute, **kwargs)
        if result is not None:
            rows += [{"rho": rho, "seed": seed, **row} for row in spectra_rows(result, record, f"rho {rho:g}")]
    return rows


def spectra_rows(result: dict, record: dict, method: str) -> list[dict]:
    """A row per spectrum: class, group, extremes, ratio and the class's final test and training accuracy."""
    owner = {c: g for g in ("head", "mid", "tail") for c in record["groups"].get(g, [])}
    rows = []
    for key, stored in result["spectra"].items():
        spectrum = Spectrum.from_dict(stored)
        row = {"method": method, "epoch": result["settings"]["epoch"], "lambda_min": spectrum.lambda_min,
               "lambda_max": spectrum.lambda_max, "ratio": spectrum.ratio}
        if key == AVERAGE:
            row.update({"class": AVERAGE, "group": "all", "test acc": record["metrics"]["final"]["acc"],
                        "train acc": record["metrics"]["train_final"]["acc"]})
        else:
            c = int(key)
            row.update({"class": f"{c} {result['class_names'][c]}", "group": owner[c],
                        "test acc": record["metrics"]["final"]["per_class"][c],
                        "train acc": record["metrics"]["train_final"]["per_class"][c]})
        rows.append(row)
    return rows


ESTIMATOR_ITERS = (50, 100, 200)  # Lanczos steps the estimator check compares
ESTIMATOR_PROBES = (0, 1, 2)  # seeds of the starting probe


def estimator_check(records: dict, classes, iters=ESTIMATOR_ITERS, probes=ESTIMATOR_PROBES, compute: bool = True,
                    **kwargs) -> list[dict]:
    """How much a class's extremes depend on the estimator: a row per run, class and Lanczos steps with the mean
    and spread of the extremes over the probe seeds (missing spectra left out)."""
    rows = []
    for name, record in records.items():
        if record is None:
            continue
        epoch = record["config"]["epochs"]
        for steps in iters:
            found = [run_spectra(record, epoch, list(classes), iters=steps, seed=probe, compute=compute,
                                 progress=False, **kwargs) for probe in probes]
            found = [f for f in found if f is not None]
            if not found:
                continue
            for c in classes:
                spectra = [Spectrum.from_dict(f["spectra"][str(c)]) for f in found]
                lows, highs = [s.lambda_min for s in spectra], [s.lambda_max for s in spectra]
                rows.append({"method": name, "class": f"{c} {found[0]['class_names'][c]}", "Lanczos steps": steps,
                             "probes": len(found), "lambda_min": sum(lows) / len(lows),
                             "lambda_min spread": max(lows) - min(lows), "lambda_max": sum(highs) / len(highs),
                             "lambda_max spread": max(highs) - min(highs)})
    return rows
