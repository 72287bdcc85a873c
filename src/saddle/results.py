"""The results store: one JSON record per run, named by its config's hash, written atomically after the run.

Records of real runs are committed under results/<scale>/; checkpoints go to a git-ignored cache. Chapters call
get_or_run, so they read what exists and train only what is missing."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from .config import RunConfig

ROOT = Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    return Path(os.environ.get("SADDLE_RESULTS", ROOT / "results"))


def cache_dir() -> Path:
    return Path(os.environ.get("SADDLE_CACHE", ROOT / "cache"))


def record_path(config: RunConfig, root: Path | None = None) -> Path:
    return Path(root or results_dir()) / config.scale / f"{config.run_id}.json"


def checkpoint_dir(config: RunConfig, root: Path | None = None) -> Path:
    return Path(root or cache_dir()) / "checkpoints" / config.run_id


def write_record(record: dict, path: Path) -> Path:
    """Write via a temporary file and rename, so a reader never sees half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path


def read_record(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no record at {path}")
    return json.loads(path.read_text())


def find_record(config: RunConfig, root: Path | None = None) -> dict | None:
    path = record_path(config, root)
    if not path.exists():
        return None
    record = read_record(path)
    if RunConfig.from_dict(record["config"]) != config:
        raise ValueError(f"record {path} holds another config than its name says; delete it and re-run")
    return record


def get_or_run(config: RunConfig, *, root: Path | None = None, cache: Path | None = None, **run_kwargs) -> dict:
    """The record of `config`: read it if it exists, else train (resuming from a checkpoint) and write it."""
    from .train import run

    record = find_record(config, root)
    if record is None:
        record = run(config, checkpoint_dir=checkpoint_dir(config, cache), **run_kwargs)
        write_record(record, record_path(config, root))
    return record


def load_records(scale: str, root: Path | None = None, **match) -> list[dict]:
    """All committed records of a scale whose config matches the given fields, e.g. loss='ldam'."""
    folder = Path(root or results_dir()) / scale
    records = [read_record(p) for p in sorted(folder.glob("*.json"))]
    return [r for r in records if all(r["config"].get(k) == v for k, v in match.items())]


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_name(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device, wall_time_s: float, **extra) -> dict:
    return {"git_commit": git_commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "device": device_name(device), "wall_time_s": round(wall_time_s, 2),
            "python": platform.python_version(), **extra}
