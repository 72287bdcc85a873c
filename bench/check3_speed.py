"""Check 3's Hessian-vector product of the optimised loss (DRW-weighted CE over the whole training set): one graph
over every image, built once and reused (FlatLoss.hvp_operator, how check 3 ran at cpu), against batches of 128
whose graphs are rebuilt for every product on second_order_graph (FlatLoss.batched_hvp_operator, how it runs now).
The comparison is of the two paths as check 3 ran them, so the old one also lacks second_order_graph. Prints each
path's graph-building and per-product seconds, the time ratio at check 3's 31 products per operator (30 Lanczos
steps and the residual) worked out from them, the products' relative difference and each path's peak memory (each
path in a process of its own).

Usage: python bench/check3_speed.py [--scale cpu] [--images 1236] [--products 3]"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

CHECK3_PRODUCTS = 31  # per operator in check 3: 30 Lanczos steps and the residual


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
    build = time.perf_counter() - start
    for _ in range(products):
        product = operator(probe)
    seconds = (time.perf_counter() - start - build) / products
    return {"build": build, "seconds": seconds, "images": len(y), "product": product.tolist(),
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--images", type=int, default=1236)
    parser.add_argument("--products", type=int, default=3)
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
    print(f"{args.scale}, {one['images']} images, {torch.get_num_threads()} threads, {args.products} products timed")
    for path, got in found.items():
        print(f"{path}: graph {got['build']:.2f} s, {got['seconds']:.2f} s per product, peak memory "
              f"{got['peak_gb']:.2f} GB")
    at_check3 = [(got["build"] + CHECK3_PRODUCTS * got["seconds"]) for got in (batched, one)]
    print(f"batches / one graph at {CHECK3_PRODUCTS} products: {at_check3[0] / at_check3[1]:.2f}x the time, "
          f"{batched['peak_gb'] / one['peak_gb']:.2f}x the memory; products differ by {(a - b).norm() / a.norm():.1e} "
          "(relative)")


if __name__ == "__main__":
    main()
