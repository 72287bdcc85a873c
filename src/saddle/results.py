"""The results store: one JSON record per run under results/<scale>/, named by its config's hash and written
atomically. It knows paths, records and provenance and imports no trainer (saddle.runs sits above both)."""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import time
import warnings
from pathlib import Path

import torch

from .config import RunConfig
from .paths import ROOT, cache_dir, results_dir, write_synced  # noqa: F401 (re-exported: the store's folders)

def record_path(config: RunConfig, root: Path | None = None) -> Path:
    return Path(root or results_dir()) / config.scale / f"{config.run_id}.json"


def checkpoint_dir(config: RunConfig, root: Path | None = None) -> Path:
    return Path(root or cache_dir()) / "checkpoints" / config.run_id


class RecordError(ValueError):
    """A record file that is not valid JSON or lacks a field every record has; the message names the path."""


REQUIRED_FIELDS = ("id", "status", "config", "metrics", "curves", "provenance")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def check_record(record, path: Path) -> None:
    """RecordError naming the path unless the record has the required fields, a wall time and (complete) metrics."""
    missing = [f for f in REQUIRED_FIELDS if not isinstance(record, dict) or f not in record]
    if missing:
        raise RecordError(f"record {path} lacks the field(s) {', '.join(missing)}; delete it and re-run what made it")
    kinds = {"config": dict, "metrics": dict, "curves": list, "provenance": dict, "status": str}
    wrong = [f for f, kind in kinds.items() if not isinstance(record[f], kind)]
    if not wrong and not isinstance(record["provenance"].get("wall_time_s"), (int, float)):
        wrong = ["provenance.wall_time_s"]
    if not wrong and record["status"] == "complete" and not isinstance(record["metrics"].get("final"), dict):
        wrong = ["metrics.final"]
    if wrong:
        raise RecordError(f"record {path} has no valid {', '.join(wrong)}; delete it and re-run what made it")


def strict_json(value):
    """The value with every non-finite float as None, so the file is strict JSON (a diverged run's NaN loss)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_record(record: dict, path: Path) -> Path:
    """Write strict JSON via the process's own temporary and a rename, so a reader never sees half a record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write_synced(tmp, lambda f: f.write(json.dumps(strict_json(record), indent=1, allow_nan=False).encode()))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_writable(folder: Path) -> None:
    """PermissionError unless a file can be created in `folder` (checked before a run trains, not after)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"cannot write records to {folder}: {exc.strerror or exc}; pass --out DIR with a "
                              "writable folder") from exc


def read_record(path: str | Path, run_record: bool = True) -> dict:
    """A record, checked by check_record for a run's (a derived record need only be a JSON object)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no record at {path}")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"record {path} is not valid JSON ({exc}); delete it and re-run what made it") from exc
    if run_record:
        check_record(record, path)
    elif not isinstance(record, dict):
        raise RecordError(f"record {path} is not a JSON object; delete it and re-run what made it")
    return record


def locate_record(run: str, root: Path | None = None) -> Path:
    """A run record's path from its id (looked up under every scale) or from a path to a record in the store."""
    store = Path(root or results_dir()).resolve()
    if run.endswith(".json") or os.sep in run:
        path = Path(run).resolve()
        if store not in path.parents or path.suffix != ".json":
            raise ValueError(f"--run {run!r}: expected a run id or the path of a record inside {store}")
        if not path.is_file():
            raise FileNotFoundError(f"no record {path}")
        return path
    if not RUN_ID.fullmatch(run):
        raise ValueError(f"--run {run!r}: expected a run id (letters, digits, '.', '+', '-'), e.g. "
                         "fashion-mnist-ce-drw-s0-8ecfdfadd0, or a record's path inside the store")
    matches = sorted(p for p in store.iterdir() if (p / f"{run}.json").is_file()) if store.is_dir() else []
    if not matches:
        raise FileNotFoundError(f"no record {run!r} under {store}: give a run id listed by `grid --list` or a "
                                "record's path")
    return matches[0] / f"{run}.json"


def find_record(config: RunConfig, root: Path | None = None) -> dict | None:
    path = record_path(config, root)
    if not path.exists():
        return None
    record = read_record(path)
    try:
        same = RunConfig.from_dict(record["config"]) == config
    except (TypeError, ValueError) as exc:
        raise RecordError(f"record {path}: its config is not valid ({exc}); delete it and re-run") from exc
    if not same:
        raise ValueError(f"record {path} holds another config than its name says; delete it and re-run")
    return record


def analysis_path(scale: str, kind: str, run_id: str, epoch: int, settings: dict, root: Path | None = None) -> Path:
    """Where an analysis of one checkpoint lives: results/<scale>/<kind>/<run>-e<epoch>-<hash of settings>.json."""
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return Path(root or results_dir()) / scale / kind / f"{run_id}-e{epoch}-{digest}.json"


def get_or_compute(path: Path, compute, how: str) -> dict:
    """A derived record at `path`, read, or computed and written with its provenance (`how`: what creates it).
    `compute` may return provenance fields of its own (what it measured: the data's digest, the precision)."""
    path = Path(path)
    action = "read"
    if path.exists():
        record = read_record(path, run_record=False)
    else:
        refuse_if_read_only(path, how)
        started, commit = time.time(), git_commit()
        record = compute()
        record["provenance"] = provenance("cpu", time.time() - started, commit, **record.get("provenance", {}))
        write_record(record, path)
        action = "computed"
    log(action, path.stem)
    return record


class MissingRecordError(RuntimeError):
    """SADDLE_READ_ONLY is on and a record that would have to be trained or computed does not exist."""


def read_only() -> bool:
    """SADDLE_READ_ONLY: 1/true/yes on, unset/empty/0/false/no off, anything else an error (a typo must not start
    a long run)."""
    value = os.environ.get("SADDLE_READ_ONLY", "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("", "0", "false", "no"):
        return False
    raise ValueError(f"SADDLE_READ_ONLY={os.environ['SADDLE_READ_ONLY']!r}; accepted: 1, true, yes (on) or 0, false, "
                     "no, empty (off)")


def refuse_if_read_only(path: Path, how: str):
    if read_only():
        raise MissingRecordError(f"no record {path} and SADDLE_READ_ONLY is set; create it with: {how}")


def log(action: str, name: str):
    if os.environ.get("SADDLE_RUN_LOG"):
        with open(os.environ["SADDLE_RUN_LOG"], "a") as log:
            log.write(f"{action} {name}\n")


def load_records(scale: str, root: Path | None = None, **match) -> list[dict]:
    """The records of a scale whose config matches the given fields (a damaged one skipped with a warning)."""
    folder = Path(root or results_dir()) / scale
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            records.append(read_record(path))
        except RecordError as exc:
            warnings.warn(f"skipped: {exc}", stacklevel=2)
    return [r for r in records if all(r["config"].get(k) == v for k, v in match.items())]


def git_commit() -> str:
    """HEAD ("-dirty" when tracked files differ), or SADDLE_GIT_COMMIT (a copied tree keeps a stale .git)."""
    if os.environ.get("SADDLE_GIT_COMMIT"):
        return os.environ["SADDLE_GIT_COMMIT"]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class DirtyTreeError(ValueError):
    """The code has uncommitted changes and the run was not told to record them (--allow-dirty)."""


def allow_dirty() -> bool:
    """SADDLE_ALLOW_DIRTY=1 (--allow-dirty): a run may start from a dirty tree and records its diff."""
    return os.environ.get("SADDLE_ALLOW_DIRTY", "").strip().lower() in ("1", "true", "yes")


def tree_diff() -> str:
    """`git diff HEAD` of the tracked files ('' when clean or without git)."""
    if os.environ.get("SADDLE_GIT_COMMIT"):
        return ""
    try:
        return subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def check_clean_or_allowed(how: str) -> str:
    """The tree's diff ('' when clean); DirtyTreeError when it has changes and SADDLE_ALLOW_DIRTY is off."""
    diff = tree_diff()
    if diff and not allow_dirty():
        raise DirtyTreeError(f"the code in {ROOT} has uncommitted changes, so a record would name a commit that "
                             f"did not make it: commit them, or {how} to record the diff beside the record")
    return diff


def keep_diff(record: dict, path: Path, diff: str) -> None:
    """Save a dirty tree's diff beside its record (<record>.diff) and its SHA-256 in the provenance."""
    if not diff:
        return
    record["provenance"]["git_diff_sha256"] = hashlib.sha256(diff.encode()).hexdigest()
    target = Path(path).with_suffix(".diff")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(diff)


def device_name(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device, wall_time_s: float, commit: str | None = None, **extra) -> dict:
    """Where a record came from; `commit`: the commit when the work started (default now)."""
    return {"git_commit": commit or git_commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "device": device_name(device), "threads": torch.get_num_threads(),
            "wall_time_s": round(wall_time_s, 2), "python": platform.python_version(), **extra}


def train_group_accuracy(record: dict, group: str) -> float | None:
    """Mean final training accuracy over a group's classes in % (None for a group the profile lacks)."""
    members = record["groups"].get(group)
    if not members:
        return None
    return sum(record["metrics"]["train_final"]["per_class"][c] for c in members) / len(members)
