"""What the declared analyses of a grid cost on this machine (one thread), measured on one snapshot: the time of a
Lanczos step for every class's spectrum (head and mid classes capped as the plan caps them, the tail whole) and of
a step of the tail's Gauss-Newton/residual split, each from two step counts so the one-off set-up (graphs built
once, the split's first backward pass) is separated from the per-step cost. Then the plan's minutes per run:
spectra of all classes, the split, Fig. 3's classes at its epochs (on the seeds that have them) and the estimator
check (once per grid), at the plan's Lanczos steps.

A benchmark, not a test. Usage: OMP_NUM_THREADS=1 SADDLE_CACHE=... python bench/analysis_cost.py
[--run-label CE+DRW --seed 0 --epoch 50] (the CIFAR-10-LT (JPEG copy) headline by default; any snapshot serves,
the cost of a product does not depend on the epoch)."""
from __future__ import annotations

import argparse
import time

import torch

from saddle import grid
from saddle.curvature import class_split
from saddle.spectra import ESTIMATOR_ITERS, ESTIMATOR_PROBES, class_spectra, loss_images, snapshot_model

from record import write_bench_record  # bench/, beside this script

STEPS = (1, 4)  # two step counts: their difference is the per-step cost, the rest the set-up


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_step(fn) -> tuple[float, float]:
    """(set-up s, s per step) of fn(steps), from STEPS."""
    few, more = (seconds(lambda: fn(steps)) for steps in STEPS)
    step = max(more - few, 0.0) / (STEPS[1] - STEPS[0])
    return max(few - STEPS[0] * step, 0.0), step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-label", default=grid.CIFAR_HEADLINE[0], choices=grid.CIFAR_HEADLINE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    plan = grid.CIFAR_ANALYSES
    config = next(c for c in grid.cifar_headline(seeds=(args.seed,)) if c.label == args.run_label)
    try:
        data, model = snapshot_model(config, args.epoch)
    except FileNotFoundError as missing:
        parser.exit(2, f"no snapshot of {config.run_id} at epoch {args.epoch} ({missing}); accepted: an epoch whose "
                       f"snapshot is in the cache (SADDLE_CACHE) or committed\n")
    tail = sorted(data.groups["tail"])
    spectra = {}
    for c in range(data.num_classes):
        images = len(loss_images(data, c, plan["max_per_class"])[1])
        setup, step = per_step(lambda steps: class_spectra(model, data, [c], iters=steps,
                                                           max_per_class=plan["max_per_class"], progress=False))
        spectra[c] = {"images": images, "setup_s": setup, "step_s": step}
        print(f"class {c} ({images} images): set-up {setup:.1f} s, {step:.2f} s per Lanczos step")
    setup, step = per_step(lambda steps: class_split(model, data, tail, iters=steps))
    split = {"classes": tail, "setup_s": setup, "step_s": step}
    print(f"G/R split of the tail {tail}: set-up {setup:.1f} s, {step:.2f} s per step of H, G and R")

    def minutes(classes, iters):
        return sum(spectra[c]["setup_s"] + iters * spectra[c]["step_s"] for c in classes) / 60

    iters = plan["iters"]
    per_run = {"spectra of all classes": minutes(range(data.num_classes), iters),
               "G/R split of the tail": (split["setup_s"] + iters * split["step_s"]) / 60,
               "Fig. 3's classes at its epochs": len(plan["fig3_epochs"]) * minutes(plan["fig3_classes"], iters)}
    estimator = sum(minutes([plan["estimator_class"]], steps) for steps in ESTIMATOR_ITERS) * len(ESTIMATOR_PROBES)
    runs = len(grid.cifar_headline())
    fig3_runs = sum(c.seed in plan["fig3_seeds"] for c in grid.cifar_headline())
    grid_minutes = (runs * (per_run["spectra of all classes"] + per_run["G/R split of the tail"])
                    + fig3_runs * per_run["Fig. 3's classes at its epochs"] + estimator)
    for what, m in per_run.items():
        print(f"{what}: {m:.0f} min per run")
    print(f"estimator check (once): {estimator:.0f} min; the whole plan over {runs} runs ({fig3_runs} with Fig. 3): "
          f"{grid_minutes / 60:.1f} hours of one core")
    path = write_bench_record("analysis-cost", {"run": config.run_id, "epoch": args.epoch, "plan": {
        k: list(v) if isinstance(v, tuple) else v for k, v in plan.items()}, "steps_timed": list(STEPS),
        "spectra": spectra, "split": split, "per_run_min": per_run, "estimator_min": estimator,
        "grid_runs": runs, "fig3_runs": fig3_runs, "grid_hours": grid_minutes / 60})
    print(f"record: {path}")


if __name__ == "__main__":
    main()
