"""Evaluation cost per image at several batch sizes, on one thread, with the logits compared bitwise to batch
1000's: why saddle.train.predict evaluates in batches of 128 on a CPU. A benchmark, not a test: it prints ratios.

Usage: python bench/eval_batch.py [--scale cpu] [--images 4000]"""
from __future__ import annotations

import argparse
import time

import torch

from saddle import grid, train


def logits(model, data, x, batch_size: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(data.normalize(x[i:i + batch_size]).contiguous(memory_format=torch.channels_last))
                          for i in range(0, len(x), batch_size)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu", choices=("smoke", "cpu", "r32-n500", "r8-n5000"))
    parser.add_argument("--images", type=int, default=4000)
    args = parser.parse_args()
    if args.images < 1:
        parser.exit(2, f"--images must be >= 1, got {args.images}\n")
    torch.set_num_threads(1)
    config = grid.method_config("CE+DRW", args.scale, seed=0)
    data = train.load_data(config, None)
    model = train.build_model(config, data).to(memory_format=torch.channels_last).eval()
    x = data.test_x[:args.images]
    reference, seconds = None, {}
    for batch_size in (1000, 500, 256, 128, 64):
        logits(model, data, x[:batch_size], batch_size)  # warm-up at this shape
        started = time.perf_counter()
        out = logits(model, data, x, batch_size)
        seconds[batch_size] = time.perf_counter() - started
        reference = out if reference is None else reference
        print(f"batch {batch_size:4d}: {seconds[batch_size] * 1e6 / len(x):6.0f} us/image, "
              f"{seconds[1000] / seconds[batch_size]:.2f}x batch 1000's speed, "
              f"logits bitwise equal to batch 1000's: {torch.equal(out, reference)}")


if __name__ == "__main__":
    main()
