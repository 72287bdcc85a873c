"""Class-wise Hessian spectrum: this package's paths against PyHessian's own path, side by side in one run.

PyHessian's path, as the official script uses it: the class's images in batches of 128 (a DataLoader), so every
Hessian-vector product re-runs forward and backward(create_graph=True) over each batch; density() with the eigh
fix. This package's paths, both on `hessian.second_order_graph` (each eval-mode BatchNorm folded into its
convolution, the convolutions' backward rewritten for a cheap double backward): (a) the class as one batch, one
graph built once and reused by every product; (b) the default for a lone class: the class in one part per
thread, each in batches of at most 128 whose gradient graphs are all built once and reused, the parts' products
formed side by side. With --class-index all, also (c) `class_spectra` as the chapters call it: every class
at once, classes side by side on threads of one core each, largest first. All start Lanczos from the same
seeded vector, so their extreme Ritz values must agree (to 1e-4 of the spectral range).

Usage: python bench/hessian_speed.py [--iters 30] [--class-index 0] [--run RECORD_ID --epoch 200]"""
from __future__ import annotations

import argparse
import time

import torch

from saddle import checkpoints, hessian, spectra, train
from saddle.config import RunConfig
from saddle.losses import WeightedCE
from saddle.results import locate_record, read_record


def model_and_data(run_id, epoch):
    """A trained cpu-scale checkpoint when this machine has it, else the same network freshly initialised."""
    if run_id:
        config = RunConfig.from_dict(read_record(locate_record(run_id))["config"])
    else:
        config = RunConfig.at_scale("cpu", drw=True)
    d = train.load_data(config)
    model = train.build_model(config, d)
    try:
        checkpoints.load_checkpoint(checkpoints.checkpoint_path(config.run_id, epoch), config, model)
        source = f"checkpoint {config.run_id} epoch {epoch}"
    except FileNotFoundError:
        source = "untrained network (no checkpoint on this machine)"
    return model.eval(), d, source


PATHS = {
    "PyHessian path (batches of 128, graph rebuilt per product)": dict(batched=True, reuse_graph=False,
                                                                        fast_graph=False),
    "saddle, one batch (one graph, reused)": dict(batched=False, reuse_graph=True, fast_graph=True),
    "saddle, parts in batches of 128 (graphs built once, reused; a lone class's default)":
        dict(batched=True, reuse_graph=True, fast_graph=True),
}


def time_paths(model, criterion, x, y, iters):
    """Seconds and spectrum of each path on one class, after one untimed warm-up product per path."""
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(y), 128)]
    out = {}
    for name, how in PATHS.items():
        data = batches if how["batched"] else (x, y)
        options = dict(reuse_graph=how["reuse_graph"], fast_graph=how["fast_graph"])
        hessian.spectral_density(model, criterion, data, 1, **options)
        start = time.perf_counter()
        spectrum = hessian.spectral_density(model, criterion, data, iters, **options)
        out[name] = (time.perf_counter() - start, spectrum)
    return out


def ritz_error(spectrum, reference) -> float:
    """How far the extreme Ritz values are from the reference's, relative to its spectral range."""
    return max(abs(spectrum.lambda_min - reference.lambda_min),
               abs(spectrum.lambda_max - reference.lambda_max)) / (reference.lambda_max - reference.lambda_min)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--class-index", default="0", help="a class index, or 'all' (the chapter's workload)")
    parser.add_argument("--run", default="fashion-mnist-ce-drw-s0-edf7009d25")
    parser.add_argument("--epoch", type=int, default=200)
    args = parser.parse_args()
    model, d, source = model_and_data(args.run, args.epoch)
    classes = range(d.num_classes) if args.class_index == "all" else [int(args.class_index)]
    print(f"{source}; {args.iters} Lanczos steps; {torch.get_num_threads()} threads")
    criterion = WeightedCE()
    totals = dict.fromkeys(PATHS, 0.0)
    worst = dict.fromkeys(PATHS, 0.0)
    references = {}
    for c in classes:
        x = d.normalize(d.train_x[d.train_y == c])
        y = torch.full((len(x),), c)
        timed = time_paths(model, criterion, x, y, args.iters)
        references[c] = next(iter(timed.values()))[1]
        line = []
        for name, (seconds, spectrum) in timed.items():
            totals[name] += seconds
            worst[name] = max(worst[name], ritz_error(spectrum, references[c]))
            line.append(f"{seconds:.1f} s")
        print(f"class {c} ({d.class_names[c]}, {len(y)} images): " + " / ".join(line))
    if args.class_index == "all":
        name = "saddle, all classes side by side (class_spectra's default)"
        start = time.perf_counter()
        side_by_side = spectra.class_spectra(model, d, iters=args.iters, progress=False)
        totals[name] = time.perf_counter() - start
        worst[name] = max(ritz_error(side_by_side[c], references[c]) for c in classes)
    theirs = next(iter(totals.values()))
    for name in totals:
        print(f"{name}: {totals[name]:.1f} s, {theirs / totals[name]:.2f}x; extreme Ritz values off by at most "
              f"{worst[name]:.1e} of the range")
    print("target: >= 2x at <= 1e-4 of the range")


if __name__ == "__main__":
    main()
