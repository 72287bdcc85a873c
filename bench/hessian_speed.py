"""Class-wise Hessian spectrum: this package's path against PyHessian's own path, side by side in one run.

PyHessian's path, as the official script uses it: the class's images in batches of 128 (a DataLoader), so every
Hessian-vector product re-runs forward and backward(create_graph=True) over each batch; density() with the eigh
fix. This package's path: the class as one batch, one graph built once and reused by every product (channels-first:
channels_last made the double backward 1.5x slower here).
Both start Lanczos from the same seeded vector, so their extreme Ritz values must agree (to 1e-4 relative).

Usage: python bench/hessian_speed.py [--iters 30] [--class-index 0] [--run RECORD_ID --epoch 200]"""
from __future__ import annotations

import argparse
import time

import torch

from saddle import hessian, train
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
        train.load_checkpoint(hessian.checkpoint_path(config.run_id, epoch), config, model)
        source = f"checkpoint {config.run_id} epoch {epoch}"
    except FileNotFoundError:
        source = "untrained network (no checkpoint on this machine)"
    return model.eval(), d, source


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--class-index", type=int, default=0)
    parser.add_argument("--run", default="fashion-mnist-ce-drw-s0-edf7009d25")
    parser.add_argument("--epoch", type=int, default=200)
    args = parser.parse_args()
    model, d, source = model_and_data(args.run, args.epoch)
    x_all = d.normalize(d.train_x[d.train_y == args.class_index])
    y_all = torch.full((len(x_all),), args.class_index)
    print(f"{source}; class {args.class_index} ({d.class_names[args.class_index]}, {len(y_all)} images); "
          f"{args.iters} Lanczos steps; {torch.get_num_threads()} threads")
    criterion = WeightedCE()

    start = time.perf_counter()
    batches = [(x_all[i:i + 128], y_all[i:i + 128]) for i in range(0, len(y_all), 128)]
    engine = hessian.Hessian(model, criterion, dataloader=batches)
    eig, _ = engine.density(iter=args.iters, generator=torch.Generator().manual_seed(0))
    theirs = time.perf_counter() - start
    model.zero_grad(set_to_none=True)

    start = time.perf_counter()
    spectrum = hessian.spectral_density(model, criterion, (x_all, y_all), iters=args.iters, seed=0)
    ours = time.perf_counter() - start

    span = max(eig[0]) - min(eig[0])
    err = max(abs(spectrum.lambda_min - min(eig[0])), abs(spectrum.lambda_max - max(eig[0]))) / span
    print(f"PyHessian path (batches of 128, graph rebuilt per product): {theirs:.1f} s; "
          f"lambda_min {min(eig[0]):.6g}, lambda_max {max(eig[0]):.6g}")
    print(f"saddle path (one graph, reused): {ours:.1f} s; "
          f"lambda_min {spectrum.lambda_min:.6g}, lambda_max {spectrum.lambda_max:.6g}")
    print(f"speed-up {theirs / ours:.2f}x (target >= 2x); extreme Ritz values agree to {err:.1e} of the range "
          "(target <= 1e-4)")


if __name__ == "__main__":
    main()
