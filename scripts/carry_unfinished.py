"""Carry unfinished runs from one machine to the next through git.

A 200-epoch CIFAR-10-LT run takes 4-8 hours of one core; a session lasts three, and the next may start on another
machine with an empty cache/. `save` copies the resumable state of every run in the cache that has no record yet
(its last.pt and the snapshots kept so far) into results/<scale>/unfinished/<run id>/, to commit; `restore` copies
them back into the cache, where the same `grid` or `train` command resumes them. Every copy is verified against its
SHA-256 before it replaces anything; neither direction replaces a state by an earlier one; `save` drops the folder
of a run recorded since. Usage:

    SADDLE_CACHE=/root/saddle-train-cache python scripts/carry_unfinished.py save      # then commit results/
    SADDLE_CACHE=/root/saddle-train-cache python scripts/carry_unfinished.py restore   # before resuming the grid

Stop (SIGSTOP) the workers before `save` and commit before they go on: a changed tracked file makes the next run's
record name a dirty commit. `restore` refuses a run a worker holds. A run whose files do not verify is named, the
others are carried, and the exit code is 2.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from saddle.checkpoints import DamagedCheckpointError, checksum_path, load_verified, pending_checksum_path
from saddle.results import cache_dir, results_dir
from saddle.runs import RunLockedError, run_lock

UNFINISHED = "unfinished"


def run_folders(parent: Path, pattern: str = "*/") -> list[Path]:
    """The run folders `pattern` finds under `parent`, leaving out a copy in progress (<run>.tmp*) left by a kill."""
    return sorted(p for p in parent.glob(pattern) if ".tmp" not in p.name)


def stage(source: Path, staging: Path) -> dict:
    """Copy last.pt, the snapshots and their checksums from `source` into `staging`, then verify the copies (never
    the originals, which a worker may be writing); the staged last.pt's state."""
    staging.mkdir(parents=True)
    for path in sorted(source.glob("epoch_*.pt")) + [source / "last.pt"]:
        for part in (path, checksum_path(path), pending_checksum_path(path)):
            if part.exists():
                shutil.copy2(part, staging / part.name)
    for path in sorted(staging.glob("epoch_*.pt")):
        load_verified(path)
    return load_verified(staging / "last.pt")


def last_epoch(folder: Path) -> int:
    """The epoch of folder/last.pt; -1 where there is none or it is damaged (any state is better)."""
    try:
        return int(load_verified(folder / "last.pt")["epoch"])
    except (FileNotFoundError, DamagedCheckpointError):
        return -1


def put_in_place(staging: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)


def recorded(scale: str, run_id: str) -> bool:
    return (results_dir() / scale / f"{run_id}.json").exists()


def save() -> tuple[list[str], list[str]]:
    """Copy every unrecorded run of the cache into results/<scale>/unfinished/; drop carried runs now recorded.
    (lines said, errors)."""
    said, errors = [f"cache: {cache_dir()}"], []
    results_dir().mkdir(parents=True, exist_ok=True)
    for folder in run_folders(cache_dir() / "checkpoints"):
        if not (folder / "last.pt").exists():
            continue
        with tempfile.TemporaryDirectory(dir=results_dir(), prefix=".carry-", suffix=".tmp") as scratch:
            staging = Path(scratch) / folder.name
            try:
                state = stage(folder, staging)
            except DamagedCheckpointError as exc:
                errors.append(f"{folder.name}: {exc} (stop its worker, then save again)")
                continue
            scale, epoch = state["config"]["scale"], int(state["epoch"])
            target = results_dir() / scale / UNFINISHED / folder.name
            if recorded(scale, folder.name):
                continue
            if last_epoch(target) >= epoch:
                said.append(f"kept {folder.name}: carried at epoch {last_epoch(target)}, the cache at {epoch}")
                continue
            put_in_place(staging, target)
            said.append(f"carried {folder.name} at epoch {epoch}")
    for folder in run_folders(results_dir(), f"*/{UNFINISHED}/*/"):
        if recorded(folder.parent.parent.name, folder.name):
            shutil.rmtree(folder)
            said.append(f"removed {folder.name}: its run is recorded")
    return said, errors


def restore() -> tuple[list[str], list[str]]:
    """Copy each carried run into the cache, unless a worker holds it or the cache is at the same or a later epoch.
    (lines said, errors)."""
    said, errors = [f"cache: {cache_dir()}"], []
    cache_dir().mkdir(parents=True, exist_ok=True)
    for folder in run_folders(results_dir(), f"*/{UNFINISHED}/*/"):
        if recorded(folder.parent.parent.name, folder.name):
            continue
        target = cache_dir() / "checkpoints" / folder.name
        try:
            with run_lock(folder.name), tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".carry-",
                                                                      suffix=".tmp") as scratch:
                staging = Path(scratch) / folder.name
                carried, cached = int(stage(folder, staging)["epoch"]), last_epoch(target)
                if cached >= carried:
                    said.append(f"kept {folder.name}: the cache is at epoch {cached}, the carried state at {carried}")
                    continue
                put_in_place(staging, target)
                said.append(f"restored {folder.name} at epoch {carried}")
        except (DamagedCheckpointError, RunLockedError) as exc:
            errors.append(f"{folder.name}: {exc}")
    return said, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "restore"])
    args = parser.parse_args(argv)
    said, errors = save() if args.action == "save" else restore()
    print("\n".join(said))
    for error in errors:
        print(f"error: {error}; accepted: files whose SHA-256 matches the one beside them, runs no worker holds",
              file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
