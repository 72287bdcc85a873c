"""Where a ResNet-32 training step's time goes on a GPU (batch 128, SGD, channels_last), variants side by side.

The paper-scale CE+DRW+SAM run went at 3.3 s/epoch on an H200 (97 SAM steps: 34 ms each, evaluation included)
against a 90 s target for 200 epochs. A step's arithmetic is about 27 GMAC, well under a millisecond on such a chip,
so the question is whether the time is the GPU's or the host's (one kernel launch at a time). Each variant
alternates step by step with the reference, eager fp32 with deterministic cuDNN (what saddle.train does on a GPU), so drift cancels in the ratio:
  benchmark   cudnn.benchmark, what the official code does (autotuned, not deterministic);
  bf16        saddle's --precision bf16 (autocast);
  graph       the whole fp32 step (forward, backward, SGD) captured once in a CUDA graph and replayed, as in
              PyTorch's whole-network example: no per-kernel launch cost, so its time is close to the GPU's own;
  compiled    torch.compile(mode="reduce-overhead"): inductor's kernels replayed as CUDA graphs (compile excluded).
Prints ms per step and the ratio for one variant, appends a JSON record to results/bench/. GPU only; run each
variant in its own process (a failed capture can poison a CUDA context).

Usage: PYTHONPATH=src python3 bench/gpu_step.py VARIANT [--steps 50] [--model resnet32]
"""

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F

from saddle.models import build
from record import write_bench_record  # bench/, beside this script


VARIANTS = ("benchmark", "bf16", "graph", "compiled")


def eager_step(model, opt, x, y, autocast=contextlib.nullcontext):
    def step():
        with autocast():
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def graph_step(model, opt, x, y):
    """The whole step captured in one CUDA graph: warm-up on a side stream, gradients allocated inside the capture."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return graph.replay


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--model", default="resnet32")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu_step.py measures a GPU; none is visible here")
    device = torch.device("cuda")
    x = torch.randn(128, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device=device)

    def fresh():
        torch.manual_seed(0)
        model = build(args.model).to(device, memory_format=torch.channels_last).train()
        return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)

    deterministic = args.variant != "benchmark"
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    steps = {"reference": eager_step(*fresh(), x, y)}
    if args.variant == "graph":
        steps["graph"] = graph_step(*fresh(), x, y)
    elif args.variant == "compiled":
        model, opt = fresh()
        steps["compiled"] = eager_step(torch.compile(model, mode="reduce-overhead"), opt, x, y)
    elif args.variant == "bf16":
        steps["bf16"] = eager_step(*fresh(), x, y, lambda: torch.autocast("cuda", dtype=torch.bfloat16))
    else:
        steps["benchmark"] = eager_step(*fresh(), x, y)
    total = dict.fromkeys(steps, 0.0)
    for i in range(args.steps + 3):  # three warm-up steps each (the compile happens in the first)
        for name, fn in steps.items():
            on = name == "reference" or deterministic
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = on, not on
            torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            if i >= 3:
                total[name] += time.perf_counter() - start
    ms = {name: 1000 * t / args.steps for name, t in total.items()}
    ratio = ms["reference"] / ms[args.variant]
    print(f"{args.model}, batch 128, {args.steps} steps: eager deterministic fp32 {ms['reference']:.2f} ms/step, "
          f"{args.variant} {ms[args.variant]:.2f} ms/step: reference / {args.variant} = {ratio:.2f}")
    path = write_bench_record(f"gpu-step-{args.variant}", {"model": args.model, "batch": 128, "steps": args.steps,
                              "variant": args.variant, "ms_per_step": ms, "reference_over_variant": ratio}, device)
    print("record:", path)


if __name__ == "__main__":
    main()
