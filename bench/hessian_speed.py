"""Class-wise Hessian spectrum: this package's paths against PyHessian's own path, side by side in one run.

PyHessian's path, as the official script uses it: the class's images in batches of 128 (a DataLoader), so every
Hessian-vector product re-runs forward and backward(create_graph=True) over each batch; density() with the eigh
fix. This package's paths, both on `hessian.second_order_graph` (each eval-mode BatchNorm folded into its
convolution, the convolutions' backward rewritten for a cheap double backward): (a) the class as one batch, one
graph built once and reused by every product; (b) the default for a lone class: the class in one part per
thread, each in batches of at most 128 whose gradient graphs are all built once and reused, the parts' products
formed side by side; (c) the same in bfloat16 (precision="bf16", hessian.product_precision: each folded
convolution differentiated through bf16 copies of its input and weight, the forward and Lanczos in float32).
With --class-index all, also (d) `class_spectra` as the chapters call it: every class at once, classes side by
side on threads of one core each, largest first, and (e) the same in bf16. All start Lanczos from the same
seeded vector, so their extreme Ritz values must agree with PyHessian's path: the float32 paths to 1e-4 of the
spectral range, the bf16 paths to 5e-3 (the tolerance tests/test_hessian.py holds them to against a dense
Hessian). Each path's wall-clock seconds and the process's CPU seconds (all its threads) are printed with the
ratio of PyHessian's to them: on a machine shared with other work the CPU seconds are the steadier measure.

Usage: python bench/hessian_speed.py [--iters 30] [--class-index 0] [--run RECORD_ID --epoch 200]
                                    [--paths pyhessian,one-batch,parts,parts-bf16]"""
from __future__ import annotations

import argparse
import time

import torch

from saddle import checkpoints, hessian, spectra, train
from saddle.config import RunConfig
from saddle.losses import WeightedCE
from saddle.results import locate_record, read_record

from record import write_bench_record  # bench/, beside this script


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


PATHS = {  # short name: (what is printed, how)
    "pyhessian": ("PyHessian path (batches of 128, graph rebuilt per product)",
                  dict(batched=True, reuse_graph=False, fast_graph=False)),
    "one-batch": ("saddle, one batch (one graph, reused)", dict(batched=False, reuse_graph=True, fast_graph=True)),
    "parts": ("saddle, parts in batches of 128 (graphs built once, reused; a lone class's default)",
              dict(batched=True, reuse_graph=True, fast_graph=True)),
    "parts-bf16": ("saddle, parts in batches of 128, bf16 convolution derivatives (precision='bf16')",
                   dict(batched=True, reuse_graph=True, fast_graph=True, precision="bf16")),
}
TOLERANCE = {"fp32": 1e-4, "bf16": 5e-3}  # extreme Ritz values against PyHessian's path, of the spectral range


def time_paths(model, criterion, x, y, iters, paths):
    """(wall seconds, CPU seconds, spectrum) of each path on one class, after one untimed warm-up product per
    path."""
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(y), 128)]
    out = {}
    for name, how in (PATHS[path] for path in paths):
        data = batches if how["batched"] else (x, y)
        options = dict(reuse_graph=how["reuse_graph"], fast_graph=how["fast_graph"],
                       precision=how.get("precision", "fp32"))
        hessian.spectral_density(model, criterion, data, 1, **options)
        out[name] = timed(hessian.spectral_density, model, criterion, data, iters, **options)
    return out


def timed(function, *args, **kwargs):
    """(wall seconds, CPU seconds of the process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


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
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"per-class paths to time, of {', '.join(PATHS)} (PyHessian's, the reference, always)")
    args = parser.parse_args()
    paths = ["pyhessian"] + [p for p in args.paths.split(",") if p and p != "pyhessian"]
    if any(p not in PATHS for p in paths):
        parser.error(f"--paths: choose among {', '.join(PATHS)}")
    model, d, source = model_and_data(args.run, args.epoch)
    classes = range(d.num_classes) if args.class_index == "all" else [int(args.class_index)]
    print(f"{source}; {args.iters} Lanczos steps; {torch.get_num_threads()} threads")
    criterion = WeightedCE()
    precision = {name: how.get("precision", "fp32") for name, how in (PATHS[p] for p in paths)}
    totals = {name: [0.0, 0.0] for name in precision}
    worst = dict.fromkeys(precision, 0.0)
    references = {}
    for c in classes:
        x = d.normalize(d.train_x[d.train_y == c])
        y = torch.full((len(x),), c)
        timed_paths = time_paths(model, criterion, x, y, args.iters, paths)
        references[c] = next(iter(timed_paths.values()))[2]
        line = []
        for name, (wall, cpu, spectrum) in timed_paths.items():
            totals[name][0] += wall
            totals[name][1] += cpu
            worst[name] = max(worst[name], ritz_error(spectrum, references[c]))
            line.append(f"{wall:.1f} s ({cpu:.1f} CPU s)")
        print(f"class {c} ({d.class_names[c]}, {len(y)} images): " + " / ".join(line))
    if args.class_index == "all":
        for name, how in (("saddle, all classes side by side (class_spectra's default)", "fp32"),
                          ("saddle, all classes side by side, bf16 (class_spectra(precision='bf16'))", "bf16")):
            wall, cpu, side_by_side = timed(spectra.class_spectra, model, d, iters=args.iters, progress=False,
                                            precision=how)
            totals[name], precision[name] = [wall, cpu], how
            worst[name] = max(ritz_error(side_by_side[c], references[c]) for c in classes)
    theirs_wall, theirs_cpu = next(iter(totals.values()))
    for name, (wall, cpu) in totals.items():
        within = "within" if worst[name] <= TOLERANCE[precision[name]] else "OUTSIDE"
        print(f"{name}: {wall:.1f} s, {theirs_wall / wall:.2f}x PyHessian's; {cpu:.1f} CPU s, "
              f"{theirs_cpu / cpu:.2f}x; extreme Ritz values off by {worst[name]:.1e} of the range "
              f"({within} {TOLERANCE[precision[name]]:.0e}, {precision[name]})")
    print("target (issue 50): 3x PyHessian's path, measured side by side in this run")
    paths_found = {name: {"wall_s": wall, "cpu_s": cpu, "pyhessian_over_this": theirs_wall / wall,
                          "worst_ritz_error": worst[name], "precision": precision[name],
                          "tolerance": TOLERANCE[precision[name]]} for name, (wall, cpu) in totals.items()}
    print("record:", write_bench_record("hessian-speed", {"run": args.run, "epoch": args.epoch, "iters": args.iters,
                                                          "classes": args.class_index, "paths": paths_found}))

if __name__ == "__main__":
    main()
