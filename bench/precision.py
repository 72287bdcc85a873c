"""fp32 against bf16 autocast on this machine's CPU: one training step (SGD and SAM) of ResNet-8 (Fashion-MNIST's
1x28x28 images) and ResNet-32 (CIFAR's 3x32x32), batch 128, one thread, in both memory formats.

The four variants of a model alternate step by step, so drifts in machine speed hit them alike and cancel in the
ratios; the minimum over the timed rounds is the step time. Prints microseconds per image and the ratios fp32/bf16
(above 1: bf16 faster), says whether the CPU has native bf16 (train.cpu_has_native_bf16), and appends a JSON record
to results/bench/. train.BF16_CPU_CONTIGUOUS holds the memory format this benchmark finds faster for bf16.

Usage: OMP_NUM_THREADS=1 python bench/precision.py [--rounds 5]"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import time

import torch

from saddle import RunConfig, losses, optim, train
from saddle.models import build
from saddle.results import device_name

from record import write_bench_record  # bench/, beside this script

SHAPES = {"resnet8": (1, 28, 28), "resnet32": (3, 32, 32)}
VARIANTS = list(itertools.product(("fp32", "bf16"), ("channels_last", "contiguous")))


def step(model, optimizer, criterion, x, y, autocast):
    optimizer.zero_grad(set_to_none=True)
    optimizer.step_batch(optim.Batch(model, criterion, x, y, autocast=autocast))


def measure(model_name: str, optimizer_name: str, rounds: int) -> dict:
    """Microseconds per image of each (precision, memory format), the minimum over `rounds` alternating rounds."""
    shape = SHAPES[model_name]
    setups = {}
    for precision, layout in VARIANTS:
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        torch.manual_seed(0)
        model = build(model_name, in_channels=shape[0]).to(memory_format=fmt).train()
        config = RunConfig.at_scale("cpu", model=model_name, optimizer=optimizer_name,
                                    rho=0.05 if optimizer_name == "sam" else 0.0, precision=precision)
        opt = train.build_optimizer(config, model)
        x = torch.randn(128, *shape).contiguous(memory_format=fmt)
        y = torch.randint(0, 10, (128,))
        autocast = train.autocast_for(config, torch.device("cpu"))
        setups[(precision, layout)] = (model, opt, losses.criterion("ce", [100] * 10), x, y, autocast)
    best = {key: float("inf") for key in setups}
    for round_ in range(rounds + 1):
        for key, (model, opt, criterion, x, y, autocast) in setups.items():
            started = time.perf_counter()
            step(model, opt, criterion, x, y, autocast)
            if round_:  # round 0 warms up
                best[key] = min(best[key], (time.perf_counter() - started) / len(y) * 1e6)
    return {f"{p}, {layout}": round(us, 1) for (p, layout), us in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 1:
        raise SystemExit(f"--rounds {args.rounds}: expected an integer >= 1")
    torch.set_num_threads(1)
    native = train.cpu_has_native_bf16()
    print(f"{device_name(torch.device('cpu'))}; native bf16: {'yes' if native else 'no (bf16 is emulated)'}; "
          "one thread, batch 128, microseconds per image (lower is faster)")
    results = {}
    for model_name, optimizer_name in itertools.product(SHAPES, ("sgd", "sam")):
        times = measure(model_name, optimizer_name, args.rounds)
        best_fp32 = min(v for k, v in times.items() if k.startswith("fp32"))
        best_bf16_key = min((k for k in times if k.startswith("bf16")), key=times.get)
        results[f"{model_name} {optimizer_name}"] = {"us_per_image": times,
                                                     "fp32_over_bf16": round(best_fp32 / times[best_bf16_key], 2),
                                                     "bf16_layout": best_bf16_key.split(", ")[1]}
        print(f"{model_name:8s} {optimizer_name}: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items())
              + f"  -> fp32/bf16 {best_fp32 / times[best_bf16_key]:.2f}x (bf16 {best_bf16_key.split(', ')[1]})")
    out = write_bench_record("precision", {"native_bf16": native, "rounds": args.rounds, "results": results})
    print(f"record: {out}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
