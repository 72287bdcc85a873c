"""Carry unfinished runs from one machine to the next through git.

A 200-epoch CIFAR-10-LT run takes 4-8 hours of one core; a session lasts three, and the next may start on another
machine with an empty cache/. `save` copies the resumable state of every run in the cache that has no record yet
(its last.pt and the snapshots kept so far, each verified against its SHA-256) into
results/<scale>/unfinished/<run id>/, to commit; `restore` copies them back into the cache, where the same `grid`
or `train` command resumes them. A folder whose run has since been recorded is removed by `save`. Usage:

    SADDLE_CACHE=/root/saddle-train-cache python scripts/carry_unfinished.py save      # then commit results/
    SADDLE_CACHE=/root/saddle-train-cache python scripts/carry_unfinished.py restore   # before resuming the grid

Stop (or SIGSTOP) the workers before `save`, so that last.pt is not rewritten while it is read. A file whose digest
does not match exits 2 and nothing is copied.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from saddle.checkpoints import DamagedCheckpointError, checksum_path, load_verified
from saddle.results import cache_dir, results_dir

UNFINISHED = "unfinished"


def carried_files(folder: Path) -> list[Path]:
    """last.pt and the kept snapshots of a run folder, each verified (DamagedCheckpointError otherwise)."""
    files = sorted(folder.glob("epoch_*.pt")) + [folder / "last.pt"]
    for path in files:
        load_verified(path)
    return files


def last_epoch(folder: Path) -> int:
    return int(load_verified(folder / "last.pt")["epoch"]) if (folder / "last.pt").exists() else 0


def copy_run(files: list[Path], target: Path) -> None:
    """Copy files and checksums into target through a temporary folder renamed into place (never half-written)."""
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in files:
        for part in (path, checksum_path(path)):
            shutil.copy2(part, staging / part.name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def recorded(scale: str, run_id: str) -> bool:
    return (results_dir() / scale / f"{run_id}.json").exists()


def save() -> list[str]:
    """Copy every unrecorded run of the cache into results/<scale>/unfinished/; drop carried runs now recorded."""
    said = []
    for folder in sorted((cache_dir() / "checkpoints").glob("*/")):
        if not (folder / "last.pt").exists():
            continue
        state = load_verified(folder / "last.pt")
        scale, run_id = state["config"]["scale"], state["run_id"]
        if recorded(scale, run_id):
            continue
        copy_run(carried_files(folder), results_dir() / scale / UNFINISHED / run_id)
        said.append(f"carried {run_id} at epoch {state['epoch']}")
    for folder in sorted(results_dir().glob(f"*/{UNFINISHED}/*/")):
        if recorded(folder.parent.parent.name, folder.name):
            shutil.rmtree(folder)
            said.append(f"removed {folder.name}: its run is recorded")
    return said


def restore() -> list[str]:
    """Copy each carried run into the cache, unless the cache already holds it at the same or a later epoch."""
    said = []
    for folder in sorted(results_dir().glob(f"*/{UNFINISHED}/*/")):
        if recorded(folder.parent.parent.name, folder.name):
            continue
        target = cache_dir() / "checkpoints" / folder.name
        carried, cached = last_epoch(folder), last_epoch(target)
        if cached >= carried:
            said.append(f"kept {folder.name}: the cache is at epoch {cached}, the carried state at {carried}")
            continue
        copy_run(carried_files(folder), target)
        said.append(f"restored {folder.name} at epoch {carried}")
    return said


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "restore"])
    args = parser.parse_args(argv)
    try:
        said = save() if args.action == "save" else restore()
    except DamagedCheckpointError as exc:
        print(f"error: {exc}; accepted: files whose SHA-256 matches the one beside them", file=sys.stderr)
        return 2
    print("\n".join(said) or "nothing to carry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
