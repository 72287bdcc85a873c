"""Training-step benchmark, measured side by side in one run on this machine's CPU (or GPU if present).

1. SGD vs SAM step time for ResNet-32 at batch 128 (target: SAM/SGD <= 2.1).
2. Images/s of saddle's trainer (data held as uint8 tensors, crop+flip in batch, channels_last) against a loop
   built the official way (torchvision Dataset with per-image PIL transforms, DataLoader, channels-first)
   (target: >= 1.3x on CPU).

Usage: python bench/train_step.py [--steps N] [--model resnet32]"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from saddle import RunConfig, data, optim, train
from saddle.models import build


def timed(fn, steps, warmup=2):
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def step_times(model_name, steps, device):
    x = torch.randn(128, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device=device)
    results = {}
    for name in ("sgd", "sam"):
        torch.manual_seed(0)
        model = build(model_name).to(device, memory_format=torch.channels_last).train()
        config = RunConfig.at_scale("paper", optimizer=name, rho=0.05 if name == "sam" else 0.0)
        opt = train.build_optimizer(config, model)

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if name == "sam":
                opt.first_step(zero_grad=True)
                F.cross_entropy(model(x), y).backward()
                opt.second_step(zero_grad=True)
            else:
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
        results[name] = timed(step, steps)
    return results


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


def official_images_per_s(model_name, d, steps, device, workers):
    torch.manual_seed(0)
    model = build(model_name).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    loader = torch.utils.data.DataLoader(OfficialStyleDataset(d.train_x.cpu(), d.train_y.cpu()), batch_size=128,
                                         shuffle=True, num_workers=workers, drop_last=True)
    batches = iter(loader)
    next(batches)  # start the workers before timing
    start, seen = time.perf_counter(), 0
    for _ in range(steps):
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def saddle_images_per_s(model_name, d, steps, device):
    config = RunConfig.at_scale("paper", dataset="synthetic", model=model_name)
    torch.manual_seed(0)
    model = build(model_name).to(device, memory_format=torch.channels_last)
    opt = train.build_optimizer(config, model)
    crit = train.build_criterion(config, d.counts, 0, device)
    gen = torch.Generator(device=device).manual_seed(0)
    subset = data.LongTailData("bench", d.train_x[: 128 * (steps + 1)], d.train_y[: 128 * (steps + 1)], d.test_x,
                               d.test_y, d.counts, d.class_names, d.mean, d.std)
    warm = data.LongTailData("warm", d.train_x[:256], d.train_y[:256], d.test_x, d.test_y, d.counts, d.class_names,
                             d.mean, d.std)
    train.train_epoch(model, opt, crit, warm, gen, config, torch.channels_last)
    start = time.perf_counter()
    train.train_epoch(model, opt, crit, subset, gen, config, torch.channels_last)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(subset.train_y) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--model", default="resnet32")
    args = parser.parse_args()
    device = train.default_device()
    print(f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, model {args.model}")
    times = step_times(args.model, args.steps, device)
    print(f"step time, batch 128: SGD {times['sgd']:.3f} s, SAM {times['sam']:.3f} s, "
          f"SAM/SGD {times['sam'] / times['sgd']:.2f} (target <= 2.1)")
    d = data.load("synthetic", n_max=128 * (args.steps + 2) // 10 + 13, imbalance=1).to(device)
    ours = saddle_images_per_s(args.model, d, args.steps, device)
    official = {w: official_images_per_s(args.model, d, args.steps, device, w) for w in (0, 2)}
    best_workers = max(official, key=official.get)
    print("official-style loop (PIL transforms, DataLoader, channels-first): "
          + ", ".join(f"{v:.0f} img/s with {w} workers" for w, v in official.items()))
    print(f"saddle trainer (tensors, batched augmentation, channels_last): {ours:.0f} img/s")
    print(f"saddle / official (best of its worker settings, {best_workers}): {ours / official[best_workers]:.2f}x "
          "(target >= 1.3x on CPU)")


if __name__ == "__main__":
    main()
