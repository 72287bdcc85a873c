"""Where a ResNet-32 training step's time goes on a GPU (batch 128, SGD, channels_last), variants side by side.

The 200-epoch CE+DRW+SAM run took 3.1 s/epoch on an H200 (97 SAM steps: 32 ms each) against a 90 s target for the
run. A step's arithmetic is about 27 GFLOP, well under a millisecond on such a chip, so the question is whether the
time is the GPU's or the host's (one kernel launch at a time). The variants:
  eager, deterministic cuDNN  what saddle.train does on a GPU;
  eager, cudnn.benchmark      what the official code does (autotuned, not deterministic);
  eager, bf16 autocast        saddle's --precision bf16;
  CUDA graph                  the same fp32 step captured once and replayed: no per-kernel launch cost, so its time
                              is close to the GPU's own; eager / graph is the share the launches cost.
Prints ms per step and the ratios, and appends a JSON record to results/bench/. GPU only.

Usage: PYTHONPATH=src python3 bench/gpu_step.py [--steps 50] [--model resnet32]
"""

import argparse
import contextlib
import datetime
import json
import time

import torch
import torch.nn.functional as F

from saddle.models import build
from saddle.results import ROOT, device_name


def eager_step(model, opt, x, y, autocast):
    def step():
        with autocast():
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
    return step


def graph_step(model, opt, x, y):
    """The whole step (forward, backward, SGD) captured in one CUDA graph, as in PyTorch's whole-network example."""
    step = eager_step(model, opt, x, y, contextlib.nullcontext)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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

    bf16 = lambda: torch.autocast("cuda", dtype=torch.bfloat16)  # noqa: E731
    variants = {}
    for name, det, autocast in (("eager_deterministic", True, contextlib.nullcontext),
                                ("eager_benchmark", False, contextlib.nullcontext),
                                ("eager_bf16_deterministic", True, bf16)):
        variants[name] = (det, eager_step(*fresh(), x, y, autocast))
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    variants["graph_deterministic"] = (True, graph_step(*fresh(), x, y))

    total = dict.fromkeys(variants, 0.0)
    for i in range(args.steps + 3):  # alternate step by step, so machine drift hits all alike
        for name, (det, fn) in variants.items():
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = det, not det
            torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            if i >= 3:
                total[name] += time.perf_counter() - start
    ms = {name: 1000 * t / args.steps for name, t in total.items()}
    for name, value in ms.items():
        print(f"{name:26s} {value:7.2f} ms/step")
    ratios = {"benchmark_over_deterministic": ms["eager_benchmark"] / ms["eager_deterministic"],
              "bf16_over_fp32": ms["eager_bf16_deterministic"] / ms["eager_deterministic"],
              "eager_over_graph": ms["eager_deterministic"] / ms["graph_deterministic"]}
    for name, value in ratios.items():
        print(f"{name:26s} {value:7.2f}")
    now = datetime.datetime.now(datetime.timezone.utc)
    folder = ROOT / "results" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"gpu-step-{now:%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps({"date": now.isoformat(timespec="seconds"), "device": device_name(device),
                                "torch": torch.__version__, "model": args.model, "batch": 128, "steps": args.steps,
                                "ms_per_step": ms, "ratios": ratios}, indent=1) + "\n")
    print("record:", path)


if __name__ == "__main__":
    main()
