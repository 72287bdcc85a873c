"""Checkpoints and snapshots: a run trains into cache/checkpoints/<run id>/, last.pt (resumable, rewritten every
epoch) and epoch_XXXX.pt snapshots at checkpoint_epochs, each with a .sha256 beside it, written crash-safe and
loaded verified and weights-only. keep_snapshots copies snapshots into results/<scale>/checkpoints/ to commit."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from .config import RunConfig
from .paths import file_sha256, write_synced
from .results import cache_dir, checkpoint_dir, results_dir

CHECKPOINT_FRACTIONS = (10, 50, 160, 170, 190, 200)  # of 200 epochs: the epochs the paper's Fig. 3 looks at


def checkpoint_epochs(epochs: int) -> list[int]:
    """1-based epochs at which a snapshot is kept for the Hessian chapters (paper's 10, 50, ... of 200)."""
    return sorted({max(1, round(epochs * f / 200)) for f in CHECKPOINT_FRACTIONS})


def save_checkpoint(folder: Path, config, model, optimizer, generator, epoch, curves, keep=False):
    """Write last.pt atomically; `keep` first stores the epoch's snapshot, so a kill never leaves last.pt past a
    snapshot it did not write. generator None: the epoch seeds it (the distributed trainer)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {"run_id": config.run_id, "config": config.to_dict(), "epoch": epoch, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "curves": curves,
             "generator": generator.get_state() if generator is not None else None}
    if keep:
        save_verified({k: state[k] for k in ("run_id", "config", "epoch", "model")}, folder / snapshot_name(epoch))
    save_verified(state, folder / "last.pt")


def best_val_epoch(curves: list) -> int | None:
    """The epoch of highest validation accuracy so far (the earliest on a tie), None without a split."""
    rows = [r for r in curves if "val_acc" in r]
    return max(rows, key=lambda r: r["val_acc"])["epoch"] if rows else None


def drop_stale_snapshots(folder: Path, keep, best: int | None) -> None:
    """Remove the snapshots of earlier best-validation epochs: a run keeps its `keep` epochs and its current best."""
    for path in Path(folder).glob("epoch_*.pt"):
        if int(path.stem.split("_")[1]) not in keep and int(path.stem.split("_")[1]) != best:
            path.unlink()
            checksum_path(path).unlink(missing_ok=True)


def snapshot_name(epoch: int) -> str:
    return f"epoch_{epoch:04d}.pt"


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def pending_checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.pending")


def save_verified(obj, path: Path) -> None:
    """torch.save with its SHA-256 beside it, safe against a kill at any point: a synced temporary, its digest
    written as .sha256.pending, then both renamed into place (load_verified accepts a file matching the pending
    digest)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    write_synced(tmp, lambda f: torch.save(obj, f))
    pending = pending_checksum_path(path)
    digest = file_sha256(tmp)
    write_synced(pending, lambda f: f.write(f"{digest}  {path.name}\n".encode()))
    os.replace(tmp, path)
    os.replace(pending, checksum_path(path))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the *.<pid>.tmp files that processes no longer alive left in `folder`."""
    removed = []
    for tmp in Path(folder).glob("*.tmp*"):
        parts = tmp.name.split(".")
        pid = next((p for p in reversed(parts[:parts.index("tmp")]) if p.isdigit()), None) if "tmp" in parts else None
        if pid is None or _alive(int(pid)):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


class DamagedCheckpointError(ValueError):
    """A checkpoint without a matching SHA-256 beside it, or that torch cannot read safely."""


def _recorded_digest(sums: Path) -> str:
    try:
        words = sums.read_text(encoding="ascii").split()
    except (UnicodeDecodeError, OSError) as exc:
        raise DamagedCheckpointError(f"checksum file {sums} cannot be read ({exc}); it is damaged") from exc
    return words[0] if words else ""


def load_verified(path: Path) -> dict:
    """A checkpoint read weights-only after its SHA-256 is checked (a pending digest left by a kill is promoted).
    A missing checksum is an error: every checkpoint this package writes has one."""
    path = Path(path)
    sums, pending = checksum_path(path), pending_checksum_path(path)
    if not sums.exists() and not pending.exists():
        raise DamagedCheckpointError(f"checkpoint {path} has no SHA-256 beside it ({sums.name}): it cannot be "
                                     "verified; restore both files (git checkout, or re-run what made them)")
    actual = file_sha256(path)
    expected = _recorded_digest(sums) if sums.exists() else ""
    if actual != expected and pending.exists() and _recorded_digest(pending) == actual:
        os.replace(pending, sums)  # finish the interrupted save
        expected = actual
    if actual != expected:
        raise DamagedCheckpointError(f"checkpoint {path} is damaged: its SHA-256 is {actual[:16]}..., the one "
                                     f"recorded beside it ({sums.name}) is {expected[:16] or 'empty'}...")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DamagedCheckpointError(f"checkpoint {path} cannot be read as a weights-only checkpoint: {exc}") from exc


def set_aside(path: Path) -> Path:
    """Move a damaged checkpoint (and its checksum) out of the way, keeping it for inspection."""
    aside = path.with_name(path.name + ".damaged")
    os.replace(path, aside)
    if checksum_path(path).exists():
        os.replace(checksum_path(path), checksum_path(aside))
    return aside


def remove_checkpoint(path: Path) -> None:
    Path(path).unlink(missing_ok=True)
    checksum_path(Path(path)).unlink(missing_ok=True)
    pending_checksum_path(Path(path)).unlink(missing_ok=True)


def resume_state(folder: Path | None, config, model, optimizer, generator, keep=()) -> tuple[int, list]:
    """(epochs done, curves) from folder/last.pt, or (0, []). A damaged last.pt is set aside with a warning and the
    run restarts; a kept snapshot a kill lost is rewritten when last.pt is at that epoch."""
    last = Path(folder) / "last.pt" if folder else None
    if last is not None and last.parent.is_dir():
        remove_stale_temporaries(last.parent)
    if last is None or not last.exists():
        return 0, []
    try:
        epoch, curves = load_checkpoint(last, config, model, optimizer, generator)
    except DamagedCheckpointError as exc:
        aside = set_aside(last)
        warnings.warn(f"{exc}; moved it to {aside} and restarting the run from epoch 0", stacklevel=2)
        return 0, []
    snapshot = Path(folder) / snapshot_name(epoch)
    if epoch in keep and not snapshot.exists():
        save_verified({"run_id": config.run_id, "config": config.to_dict(), "epoch": epoch,
                       "model": model.state_dict()}, snapshot)
    return epoch, curves


def load_checkpoint(path: Path, config, model, optimizer=None, generator=None):
    """Restore a checkpoint of *this* config (verified, weights only); returns (epochs done, curves so far)."""
    state = load_verified(path)
    if state.get("run_id") != config.run_id:
        raise ValueError(f"checkpoint {path} belongs to run {state.get('run_id')!r}, not {config.run_id!r}; "
                         "it was written by another configuration")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if generator is not None:
        generator.set_state(state["generator"])
    return state["epoch"], state.get("curves", [])


def checkpoint_path(run_id: str, epoch: int, cache=None) -> Path:
    """A run's snapshot at `epoch`: in the cache, else among the committed ones (a fresh clone analyses those)."""
    folders = [Path(cache or cache_dir()) / "checkpoints" / run_id, *sorted(results_dir().glob(f"*/checkpoints/{run_id}"))]
    for folder in folders:
        if (folder / snapshot_name(epoch)).exists():
            return folder / snapshot_name(epoch)
    have = sorted({int(p.stem.split("_")[1]) for f in folders if f.exists() for p in f.glob("epoch_*.pt")})
    none = ("none: no snapshot of this run was kept or committed; retrain it into an empty results folder "
            "(SADDLE_RESULTS=<folder>) to create them")
    raise FileNotFoundError(f"no checkpoint of run {run_id} at epoch {epoch} in {folders[0]} or among the committed "
                            f"snapshots; available epochs: {have or none}")


def keep_snapshots(record: dict, epochs=None, cache=None) -> list[Path]:
    """Copy a run's verified snapshots (its kept epochs, or `epochs`) and checksums into results/ to commit."""
    import shutil

    config = RunConfig.from_dict(record["config"])
    target = results_dir() / config.scale / "checkpoints" / config.run_id
    copied = []
    for epoch in epochs or record["checkpoint_epochs"]:
        source = checkpoint_dir(config, cache) / snapshot_name(epoch)
        if not source.exists():  # a run recorded on another machine has no snapshots in this cache
            raise FileNotFoundError(f"no snapshot of run {config.run_id} at epoch {epoch} in {source.parent}")
        load_verified(source)  # a damaged snapshot is not committed
        target.mkdir(parents=True, exist_ok=True)
        for path in (source, checksum_path(source)):
            if path.exists():
                shutil.copy2(path, target / path.name)
        copied.append(target / source.name)
    return copied

