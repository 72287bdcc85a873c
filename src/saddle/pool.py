"""Training on every core: one worker process of one torch thread per core, sharing a list of runs through the
locked runner, so each run trains once and its record is bit for bit a single runner's. The parent shows an
overall bar and one per worker."""
from __future__ import annotations

import multiprocessing
import os
import queue as queue_lib

from tqdm import tqdm

from .config import RunConfig


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _worker(index: int, run, messages) -> None:
    """One worker: one thread, `run` (the locked runner over a list of runs), each epoch reported to the parent."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)

    def report(config: RunConfig, epoch: int) -> None:
        messages.put(("epoch", index, f"{config.label} s{config.seed}", epoch, config.epochs))

    try:
        messages.put(("done", index, run(report)))
    except Exception as exc:  # the parent names it; the other workers go on
        messages.put(("done", index, {"present": 0, "trained": 0, "held": [],
                                      "failed": {f"worker {index}": f"{type(exc).__name__}: {exc}"}}))


def run_on_workers(run, recorded, total: int, workers: int, *, expected_minutes: float | None = None,
                   poll_s: float = 2.0) -> dict:
    """Call `run(report)` (picklable; returns the runner's counts) on `workers` processes while `recorded()` says
    how many of the `total` runs have records. Returns the counts summed over workers ('failed' merged)."""
    context = multiprocessing.get_context("spawn")  # no torch state forked from the parent (a notebook kernel)
    messages = context.Queue()
    processes = [context.Process(target=_worker, args=(i, run, messages), daemon=True) for i in range(workers)]
    expected = f", about {expected_minutes:.0f} min expected" if expected_minutes else ""
    overall = tqdm(total=total, desc=f"runs on {workers} workers{expected}", unit="run", position=0)
    bars = [tqdm(total=1, desc=f"worker {i}: starting", unit="epoch", position=i + 1, leave=False)
            for i in range(workers)]
    for p in processes:
        p.start()
    counts = {"present": 0, "trained": 0, "held": [], "failed": {}}
    finished = 0
    try:
        while finished < workers:
            try:
                message = messages.get(timeout=poll_s)
            except queue_lib.Empty:
                message = None
            if message and message[0] == "epoch":
                _, i, name, epoch, epochs = message
                bars[i].set_description(f"worker {i}: {name}")
                bars[i].total = epochs
                bars[i].n = epoch
                bars[i].refresh()
            elif message and message[0] == "done":
                finished += 1
                for key in ("present", "trained"):
                    counts[key] += message[2][key]
                counts["failed"].update(message[2]["failed"])
            overall.n = recorded()
            overall.refresh()
            if message is None and not any(p.is_alive() for p in processes):
                break  # a worker died without a word (killed): what it finished is recorded
    finally:
        for p in processes:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        for bar in bars:
            bar.close()
        overall.close()
    counts["present"] = total - counts["trained"] - len(counts["failed"])
    return counts
