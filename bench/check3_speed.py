"""Check 3's Hessian-vector product of the optimised loss (DRW-weighted CE over the whole training set): one graph
over every image, built once and reused (FlatLoss.hvp_operator, how check 3 ran at cpu), against batches of 128
whose graphs are rebuilt for every product on second_order_graph (FlatLoss.batched_hvp_operator, how it runs now).
Prints seconds per product, their ratio, the products' relative difference and each path's peak memory (each
path in a process of its own).

Usage: python bench/check3_speed.py [--scale cpu] [--images 1236] [--products 2]"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def one_path(scale: str, path: str, images: int, products: int) -> dict:
    """Time `products` products of one path on a uniform sample of `images` training images of the scale's
    validated CE+DRW seed-0 run at its last epoch."""
    from saddle import grid
    from saddle.hessian import FlatLoss
    from saddle.results import find_record
    from saddle.spectra import snapshot_model
    from saddle.train import build_criterion

    config = grid.protocol_config("CE+DRW", scale, seed=0)
    if find_record(config) is None:
        sys.exit(f"no record of {config.run_id} on this machine: train it with python -m saddle train ...")
    data, model = snapshot_model(config, config.epochs)
    criterion = build_criterion(config, data.counts, config.epochs - 1, "cpu")
    pick = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(0))[:images]
    x, y = data.normalize(data.train_x)[pick], data.train_y[pick]
    flat = FlatLoss(model, criterion)
    probe = torch.randn(len(flat.point), generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    operator = (flat.hvp_operator if path == "one graph" else flat.batched_hvp_operator)(flat.point, x, y)
    for _ in range(products):
        product = operator(probe)
    seconds = (time.perf_counter() - start) / products
    return {"seconds": seconds, "images": len(y), "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "product": product.tolist()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--images", type=int, default=1236)
    parser.add_argument("--products", type=int, default=2)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path:  # the child process of one path
        print(json.dumps(one_path(args.scale, args.path, args.images, args.products)))
        return
    found = {}
    for path in ("one graph", "batches of 128"):
        out = subprocess.run([sys.executable, __file__, "--scale", args.scale, "--images", str(args.images),
                              "--products", str(args.products), "--path", path],
                             capture_output=True, text=True, check=True)
        found[path] = json.loads(out.stdout.strip().splitlines()[-1])
    one, batched = found["one graph"], found["batches of 128"]
    a, b = torch.tensor(one["product"]), torch.tensor(batched["product"])
    print(f"{args.scale}, {one['images']} images, {torch.get_num_threads()} threads, graph built within the time")
    for path, got in found.items():
        print(f"{path}: {got['seconds']:.2f} s per product, peak memory {got['peak_gb']:.2f} GB")
    print(f"batches / one graph: {batched['seconds'] / one['seconds']:.2f}x the time, "
          f"{batched['peak_gb'] / one['peak_gb']:.2f}x the memory; products differ by {(a - b).norm() / a.norm():.1e} "
          "(relative)")


if __name__ == "__main__":
    main()
