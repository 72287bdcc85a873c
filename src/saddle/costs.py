"""What training costs on this machine, measured rather than remembered: a few real training steps timed and
scaled to the run (records of other machines never enter an estimate: CPUs differ)."""
from __future__ import annotations

import copy
import math
import time

import torch

from . import train
from .config import SAM_LIKE, RunConfig

_CACHE: dict = {}


def _model_key(config: RunConfig) -> tuple:
    """What a step's cost depends on."""
    passes = 2 if config.optimizer in SAM_LIKE else config.lpf_samples if config.optimizer == "lpf" else 1
    return (config.dataset, config.model, config.width, config.n_max, config.imbalance, config.profile,
            config.batch_size, config.val_per_class, config.test_limit, passes, config.precision,
            torch.get_num_threads())


def seconds_per_epoch(config: RunConfig, *, data_root=None, batches: int = 4) -> float:
    """Wall seconds of one epoch of `config` here, its evaluations spread over the epochs (measured once per
    network, data and optimizer in a process)."""
    key = _model_key(config)
    if key not in _CACHE:
        _CACHE[key] = _measure(config, data_root, batches)
    train_per_image, eval_per_image, n_train, n_evaluated = _CACHE[key]
    evals = len(train.evaluation_epochs(config))
    return train_per_image * n_train + eval_per_image * (n_evaluated * evals + n_train) / config.epochs


def _measure(config: RunConfig, data_root, batches: int) -> tuple[float, float, int, int]:
    """(training s/image, evaluation s/image, training images, evaluated images), after warm-up steps."""
    data = train.load_data(config, data_root)
    cpu = torch.device("cpu")
    memory_format, autocast = train.memory_format_for(config, cpu), train.autocast_for(config, cpu)
    model = train.build_model(config, data).to(memory_format=memory_format)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = train.build_optimizer(config, model, generator, data.counts)
    criterion = train.build_criterion(config, data.counts, 0, "cpu")
    n = min(len(data.train_y), (batches + 1) * config.batch_size)
    sample = copy.copy(data)
    sample.train_x, sample.train_y = data.train_x[:config.batch_size], data.train_y[:config.batch_size]
    for _ in range(2):  # warm-up: the first step is ~2x slower than the ones after it
        train.train_epoch(model, optimizer, criterion, sample, generator, config, memory_format, autocast)
    sample.train_x, sample.train_y = data.train_x[:n], data.train_y[:n]
    started = time.perf_counter()
    train.train_epoch(model, optimizer, criterion, sample, generator, config, memory_format, autocast)
    train_per_image = (time.perf_counter() - started) / n
    probe = data.test_x[:min(len(data.test_y), 1000)]
    train.predict(model, data, probe, memory_format)  # warm-up: a cold first pass is ~2x slower
    started = time.perf_counter()
    train.predict(model, data, probe, memory_format)
    eval_per_image = (time.perf_counter() - started) / len(probe)
    evaluated = len(data.test_y) + (0 if data.val_y is None else len(data.val_y))
    return train_per_image, eval_per_image, len(data.train_y), evaluated


def run_minutes(config: RunConfig, **kwargs) -> float:
    """Minutes one run of `config` takes here, from seconds_per_epoch."""
    return seconds_per_epoch(config, **kwargs) * config.epochs / 60


def plan(configs, workers: int = 1, **kwargs) -> dict:
    """Minutes per run, their total, and the wall minutes on `workers` processes taking the longest run first."""
    minutes = [run_minutes(c, **kwargs) for c in configs]
    loads = [0.0] * max(1, int(workers))
    for m in sorted(minutes, reverse=True):
        loads[loads.index(min(loads))] += m
    return {"runs": len(minutes), "minutes": minutes, "total": sum(minutes), "wall": max(loads) if minutes else 0.0,
            "workers": len(loads)}


def plan_text(plan_: dict) -> str:
    """'12 runs, 9-16 minutes each on one thread: about 75 minutes of wall time on 2 workers'."""
    if not plan_["runs"]:
        return "nothing to train"
    low, high = min(plan_["minutes"]), max(plan_["minutes"])
    each = f"{low:.0f}" if math.isclose(round(low), round(high)) else f"{low:.0f}-{high:.0f}"
    return (f"{plan_['runs']} run{'s' * (plan_['runs'] != 1)}, {each} minutes each on one thread (measured here): "
            f"about {plan_['wall']:.0f} minutes of wall time on {plan_['workers']} worker"
            f"{'s' * (plan_['workers'] != 1)}")
