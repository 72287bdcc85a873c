"""Training throughput, measured side by side in one run on this machine's device (GPU if present, else CPU).

1. SGD vs SAM step time for ResNet-32 at batch 128 (target: SAM/SGD <= 2.1).
2. Images/s of saddle's trainer (data held as uint8 tensors, crop+flip in batch, channels_last) against a loop
   built the official way (torchvision Dataset with per-image PIL transforms, DataLoader, channels-first)
   (target: >= 1.3x on CPU), and the same trainer with its step's model torch.compile'd (--compile; the compile
   time is reported on its own, the images/s are after it).
3. Several runs at once (saddle.stacked: seeds of one recipe as one vectorised network) against the same runs
   trained one after the other, images/s over all runs.
Each run appends a JSON record (device, torch, figures, ratios) to results/bench/.

Usage: python bench/throughput.py [--steps N] [--model resnet32] [--stacked 4] [--compile inductor|none]"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from saddle import RunConfig, data, optim, stacked, train
from saddle.models import build
from record import write_bench_record  # bench/, beside this script


def step_times(model_name, steps, device):
    """Seconds per step for SGD and SAM. The two alternate step by step, so drifts in machine speed (shared
    cores, frequency) hit both alike and cancel in the ratio."""
    x = torch.randn(128, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device=device)
    steps_of = {}
    for name in ("sgd", "sam"):
        torch.manual_seed(0)
        model = build(model_name).to(device, memory_format=torch.channels_last).train()
        config = RunConfig.at_scale("paper", optimizer=name, rho=0.05 if name == "sam" else 0.0)
        steps_of[name] = _step_fn(model, train.build_optimizer(config, model), x, y, device)
    total = dict.fromkeys(steps_of, 0.0)
    for i in range(steps + 2):
        for name, fn in steps_of.items():
            start = time.perf_counter()
            fn()
            if i >= 2:  # the first two are warm-up
                total[name] += time.perf_counter() - start
    return {name: t / steps for name, t in total.items()}


def _step_fn(model, opt, x, y, device):
    criterion = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        opt.step_batch(optim.Batch(model, criterion, x, y))  # the trainer's own step: SGD's, or SAM's two passes
        if device.type == "cuda":
            torch.cuda.synchronize()
    return step


class OfficialStyleDataset(torch.utils.data.Dataset):
    """What IMBALANCECIFAR10 + the official transforms do: one PIL image at a time."""

    def __init__(self, x, y):
        self.x, self.y = x.permute(0, 2, 3, 1).numpy(), y.numpy()
        self.transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                                    T.Normalize(data.CIFAR_MEAN, data.CIFAR_STD)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])


def official_step_fn(model_name, d, device, workers):
    """One training step of the official-style loop (next batch from the DataLoader, then SGD)."""
    torch.manual_seed(0)
    model = build(model_name).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    loader = torch.utils.data.DataLoader(OfficialStyleDataset(d.train_x.cpu(), d.train_y.cpu()), batch_size=128,
                                         shuffle=True, num_workers=workers, drop_last=True)
    batches = iter(loader)

    def step():
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def saddle_step_fn(model_name, d, device, compile=None):
    """One training step of saddle's trainer: train_epoch over a one-batch slice of the resident data, with the
    step's model compiled by `compile` (a torch.compile backend) or eager (None)."""
    config = RunConfig.at_scale("paper", dataset="synthetic", model=model_name)
    torch.manual_seed(0)
    model = build(model_name).to(device, memory_format=torch.channels_last)
    opt = train.build_optimizer(config, model)
    crit = train.build_criterion(config, d.counts, 0, device)
    gen = torch.Generator(device=device).manual_seed(0)
    slices = iter([data.LongTailData("bench", d.train_x[i:i + 128], d.train_y[i:i + 128], d.test_x, d.test_y,
                                     d.counts, d.class_names, d.mean, d.std) for i in range(0, len(d.train_y), 128)])
    forward = train.step_model(model, compile)
    return lambda: train.train_epoch(forward, opt, crit, next(slices), gen, config, torch.channels_last)


def images_per_s(step_fns: dict, steps: int, device) -> dict:
    """Alternate the loops batch by batch (after two warm-up batches each), so machine drift cancels."""
    total = dict.fromkeys(step_fns, 0.0)
    for i in range(steps + 2):
        for name, fn in step_fns.items():
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                total[name] += time.perf_counter() - start
    return {name: 128 * steps / t for name, t in total.items()}


def stacked_vs_one_by_one(model_name: str, runs: int, device) -> dict:
    """Images/s over all runs: `runs` seeds of one epoch of CE+DRW+SAM on synthetic long-tailed data, trained
    together (saddle.stacked) and one after the other (train.run), each including its test evaluation."""
    configs = [RunConfig.at_scale("smoke", dataset="synthetic", model=model_name, drw=True, optimizer="sam",
                                  rho=0.5, epochs=1, seed=s) for s in range(runs)]
    images = runs * sum(data.load("synthetic", n_max=configs[0].n_max).counts)
    start = time.perf_counter()
    stacked.run_many(configs, device=device, progress=False)
    together = time.perf_counter() - start
    start = time.perf_counter()
    for c in configs:
        train.run(c, device=device, progress=False)
    alone = time.perf_counter() - start
    return {"runs": runs, "stacked_img_s": images / together, "one_by_one_img_s": images / alone}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--model", default="resnet32")
    parser.add_argument("--stacked", type=int, default=4, help="runs trained at once in part 3 (0: skip)")
    parser.add_argument("--compile", default="inductor", help="torch.compile backend for the compiled trainer in "
                        "part 2 ('none': skip)")
    args = parser.parse_args()
    device = train.default_device()
    print(f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, model {args.model}")
    times = step_times(args.model, args.steps, device)
    print(f"step time, batch 128: SGD {times['sgd']:.3f} s, SAM {times['sam']:.3f} s, "
          f"SAM/SGD {times['sam'] / times['sgd']:.2f} (target <= 2.1)")
    d = data.load("synthetic", n_max=128 * (args.steps + 4) // 10 + 13, imbalance=1).to(device)
    loops = {"official": official_step_fn(args.model, d, device, workers=0),
             "saddle": saddle_step_fn(args.model, d, device)}
    compile_s = None
    if args.compile != "none":
        loops["saddle_compiled"] = saddle_step_fn(args.model, d, device, compile=args.compile)
        start = time.perf_counter()
        loops["saddle_compiled"]()  # compiles forward and backward
        compile_s = time.perf_counter() - start
    speed = images_per_s(loops, args.steps, device)
    with_workers = images_per_s({"official": official_step_fn(args.model, d, device, workers=2)}, args.steps,
                                device)["official"]
    print(f"official-style loop (PIL transforms, DataLoader, channels-first): {speed['official']:.0f} img/s "
          f"(0 workers; with 2 workers, measured after: {with_workers:.0f} img/s)")
    print(f"saddle trainer (tensors, batched augmentation, channels_last): {speed['saddle']:.0f} img/s")
    print(f"saddle / official, alternating batch by batch: {speed['saddle'] / speed['official']:.2f}x "
          "(target >= 1.3x on CPU)")
    figures = {"model": args.model, "steps": args.steps, "sgd_step_s": times["sgd"], "sam_step_s": times["sam"],
               "sam_over_sgd": times["sam"] / times["sgd"], "official_img_s": speed["official"],
               "official_2_workers_img_s": with_workers, "saddle_img_s": speed["saddle"],
               "saddle_over_official": speed["saddle"] / speed["official"]}
    if compile_s is not None:
        print(f"saddle trainer, step's model compiled ({args.compile}; first step {compile_s:.0f} s): "
              f"{speed['saddle_compiled']:.0f} img/s, {speed['saddle_compiled'] / speed['official']:.2f}x the "
              f"official-style loop, {speed['saddle_compiled'] / speed['saddle']:.2f}x eager")
        figures.update(compile_backend=args.compile, compile_first_step_s=compile_s,
                       saddle_compiled_img_s=speed["saddle_compiled"],
                       saddle_compiled_over_official=speed["saddle_compiled"] / speed["official"])
    if args.stacked:
        many = stacked_vs_one_by_one(args.model, args.stacked, device)
        print(f"{many['runs']} runs of one recipe: together {many['stacked_img_s']:.0f} img/s, one by one "
              f"{many['one_by_one_img_s']:.0f} img/s: {many['stacked_img_s'] / many['one_by_one_img_s']:.2f}x")
        figures.update(stacked=many, stacked_over_one_by_one=many["stacked_img_s"] / many["one_by_one_img_s"])
    print(f"record: {write_bench_record('throughput', figures, device)}")


if __name__ == "__main__":
    main()
