"""Where a run's time goes, fp32 against bf16, side by side in one process: start-up (data and network), one
training epoch, one evaluation (test and validation sets), the final pass over the training set, and the
augmentation inside an epoch; then a whole run's minutes from those parts (epochs x epoch + evaluations x
evaluation + start-up). What stands between chapter 4 at a new rho and 30
minutes on 2 workers (issue 50): the part that does not shrink in bf16.

A benchmark, not a test: one thread, as a worker trains. Usage: python bench/run_parts.py [--epochs 3]
[--method CE+DRW+SAM] [--rho 0.3]"""
from __future__ import annotations

import argparse
import time

import torch

from saddle import data as data_lib, grid, train
from record import write_bench_record  # bench/, beside this script


def seconds(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def parts(config, epochs: int) -> dict:
    """Seconds of each part of one run of `config` (its precision's autocast and memory format)."""
    started = time.perf_counter()
    d = train.load_data(config)
    model = train.build_model(config, d)
    startup = time.perf_counter() - started
    device = torch.device("cpu")
    memory_format, autocast = train.memory_format_for(config, device), train.autocast_for(config, device)
    model = model.to(memory_format=memory_format)
    generator = torch.Generator().manual_seed(0)
    optimizer = train.build_optimizer(config, model, generator, d.counts)
    criterion = train.build_criterion(config, d.counts, 0, device)
    train.train_epoch(model, optimizer, criterion, d, generator, config, memory_format, autocast)  # warm-up
    epoch = seconds(lambda: train.train_epoch(model, optimizer, criterion, d, generator, config, memory_format,
                                              autocast), epochs)
    sets = [d.test_x] + ([d.val_x] if d.val_x is not None else [])
    evaluation = seconds(lambda: [train.predict(model, d, x, memory_format) for x in sets])
    final_train = seconds(lambda: train.predict(model, d, d.train_x, memory_format))
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(d.train_y))
    augment = seconds(lambda: [d.normalize(data_lib.augment(d.train_x[order[i:i + config.batch_size]], g))
                               for i in range(0, len(order), config.batch_size)], epochs)
    runs = len(train.evaluation_epochs(config))
    whole = startup + config.epochs * epoch + runs * evaluation + final_train
    return {"startup": startup, "epoch": epoch, "augment": augment, "evaluation": evaluation, "evaluations": runs,
            "final_train": final_train, "run_min": whole / 60, "images": len(d.train_y)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--method", default="CE+DRW+SAM")
    parser.add_argument("--rho", type=float, default=0.3)
    args = parser.parse_args()
    if args.epochs < 1 or not 0 < args.rho < 10:
        parser.exit(2, f"--epochs must be >= 1 and --rho in (0, 10), got {args.epochs} and {args.rho}\n")
    torch.set_num_threads(1)
    base = grid.method_config(args.method, "cpu", seed=0, rho=grid.sam_rho(args.method, args.rho))
    print(f"{args.method} at the cpu scale, one thread, {torch.get_num_threads()} thread(s); "
          f"train.fast_precision: {train.fast_precision('cpu')[1]}")
    found = {}
    for precision in ("fp32", "bf16"):
        found[precision] = parts(base.with_precision(precision), args.epochs)
        p = found[precision]
        share = {"epochs": base.epochs * p["epoch"], "evaluations": p["evaluations"] * p["evaluation"],
                 "start-up and final pass": p["startup"] + p["final_train"]}
        total = sum(share.values())
        print(f"{precision}: {p['images']} training images; start-up {p['startup']:.1f} s, epoch {p['epoch']:.2f} s "
              f"(augmentation {p['augment']:.2f} s of it), evaluation {p['evaluation']:.2f} s x {p['evaluations']}, "
              f"final training-set pass {p['final_train']:.2f} s: a run of {p['run_min']:.1f} min ("
              + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in share.items()) + ")")
    ratio = {k: found["fp32"][k] / found["bf16"][k] for k in ("epoch", "augment", "evaluation", "run_min")}
    print("fp32 / bf16: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    path = write_bench_record("run-parts", {"method": args.method, "rho": args.rho, "scale": "cpu",
                                            "timed_epochs": args.epochs, "parts_s": found, "fp32_over_bf16": ratio})
    print(f"record: {path}")


if __name__ == "__main__":
    main()
