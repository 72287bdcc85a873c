"""The results store: one JSON record per run, named by its config's hash, written atomically after the run.

Records of real runs are committed under results/<scale>/; checkpoints go to a git-ignored cache. Chapters call
get_or_run, so they read what exists and train only what is missing."""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import time
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
    """Write via a temporary file and rename, so a reader never sees half a record (the file is the process's
    own: chapters built side by side may write the same analysis)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path


def read_record(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no record at {path}")
    return json.loads(path.read_text())


def locate_record(run: str, root: Path | None = None) -> Path:
    """A record's path from its id (searched under every scale) or from a path."""
    path = Path(run)
    if path.exists():
        return path
    matches = sorted(Path(root or results_dir()).glob(f"*/{run}.json"))
    if not matches:
        raise FileNotFoundError(f"no record {run!r}: give a record's path or an id under {root or results_dir()}")
    return matches[0]


def find_record(config: RunConfig, root: Path | None = None) -> dict | None:
    path = record_path(config, root)
    if not path.exists():
        return None
    record = read_record(path)
    if RunConfig.from_dict(record["config"]) != config:
        raise ValueError(f"record {path} holds another config than its name says; delete it and re-run")
    return record


class MissingRecordError(RuntimeError):
    """SADDLE_READ_ONLY is set and a record that would have to be trained or computed does not exist."""


def get_or_run(config: RunConfig, *, root: Path | None = None, cache: Path | None = None, **run_kwargs) -> dict:
    """The record of `config`: read it if it exists, else train (resuming from a checkpoint) and write it.

    Environment: SADDLE_READ_ONLY=1 refuses to train (a build from committed records must not start a run);
    SADDLE_RUN_LOG=FILE appends 'read <id>' or 'trained <id>' per call (the book build's summary counts them)."""
    from .splits import LARGE_DATASETS

    if config.dataset in LARGE_DATASETS:
        from .distributed import run  # ImageNet-LT, iNaturalist: only rank 0 gets (and writes) the record
    else:
        from .train import run

    record = find_record(config, root)
    action = "read"
    if record is None:
        _refuse_if_read_only(record_path(config, root), f"get_or_run (config: {config.to_dict()})")
        record = run(config, checkpoint_dir=checkpoint_dir(config, cache), **run_kwargs)
        if record is None:
            return None
        write_record(record, record_path(config, root))
        action = "trained"
    _log(action, config.run_id)
    return record


def get_or_run_many(configs: list[RunConfig], *, root: Path | None = None, cache: Path | None = None,
                    **run_kwargs) -> list[dict]:
    """get_or_run for runs that differ in seed and rho only: the missing ones train together in one process
    (saddle.stacked, to fill a large GPU), each written as its own record with its own snapshots."""
    from .stacked import run_many

    missing = [c for c in configs if find_record(c, root) is None]
    for c in missing:
        _refuse_if_read_only(record_path(c, root), f"get_or_run_many (config: {c.to_dict()})")
    if missing:
        records = run_many(missing, checkpoint_dirs=[checkpoint_dir(c, cache) for c in missing], **run_kwargs)
        for c, record in zip(missing, records):
            write_record(record, record_path(c, root))
    for c in configs:
        _log("trained" if c in missing else "read", c.run_id)
    return [find_record(c, root) for c in configs]


def analysis_path(scale: str, kind: str, run_id: str, epoch: int, settings: dict, root: Path | None = None) -> Path:
    """Where an analysis of one checkpoint lives: results/<scale>/<kind>/<run>-e<epoch>-<hash of settings>.json."""
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return Path(root or results_dir()) / scale / kind / f"{run_id}-e{epoch}-{digest}.json"


def get_or_compute(path: Path, compute, how: str) -> dict:
    """A derived record (spectra, a theory check) at `path`: read it if it exists, else compute it, add its
    provenance and write it. `how` tells a reader of the SADDLE_READ_ONLY error what creates it."""
    path = Path(path)
    action = "read"
    if path.exists():
        record = read_record(path)
    else:
        _refuse_if_read_only(path, how)
        started, commit = time.time(), git_commit()
        record = compute()
        record["provenance"] = provenance("cpu", time.time() - started, commit)
        write_record(record, path)
        action = "computed"
    _log(action, path.stem)
    return record


def _refuse_if_read_only(path: Path, how: str):
    if os.environ.get("SADDLE_READ_ONLY"):
        raise MissingRecordError(f"no record {path} and SADDLE_READ_ONLY is set; create it with {how}")


def _log(action: str, name: str):
    if os.environ.get("SADDLE_RUN_LOG"):
        with open(os.environ["SADDLE_RUN_LOG"], "a") as log:
            log.write(f"{action} {name}\n")


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


def provenance(device, wall_time_s: float, commit: str | None = None, **extra) -> dict:
    """Where a record came from. `commit`: the code's commit when the work started (a checkout that moves during a
    long run must not relabel it); by default, now."""
    return {"git_commit": commit or git_commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "device": device_name(device), "wall_time_s": round(wall_time_s, 2),
            "python": platform.python_version(), **extra}
