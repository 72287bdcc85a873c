"""Every benchmark's record, with one provenance: results/bench/<name>-<UTC time>.json carries the figures with the
date, commit, torch, device, CPU model, threads and the load average at the end (a benchmark on a machine shared
with training says so). Written whole or not at all."""
from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import torch

from saddle.results import ROOT, device_name, git_commit


def cpu_model() -> str:
    """The CPU's model name (Linux), so a record says which machine its seconds are of."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def write_bench_record(name: str, figures: dict, device=torch.device("cpu"), folder: Path | None = None) -> Path:
    """results/bench/NAME-<UTC time>.json: `figures` with the provenance every benchmark record carries."""
    folder = folder or ROOT / "results" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    path = folder / f"{name}-{now:%Y%m%dT%H%M%S}.json"
    record = {"bench": name, "date": now.isoformat(timespec="seconds"), "git_commit": git_commit(),
              "torch": torch.__version__, "device": device_name(device), "cpu_model": cpu_model(),
              "cpus": os.cpu_count(), "threads": torch.get_num_threads(), "load_average": os.getloadavg(), **figures}
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(partial, path)
    return path
