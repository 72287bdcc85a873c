"""Where the project's folders are (settings with defaults, read in one place), a synced write and a file's SHA-256.

SADDLE_RESULTS (run records, default results/ of this checkout), SADDLE_CACHE (checkpoints, locks, decoded data;
default cache/), SADDLE_SHARED (the read-only shared data folder, default ../shared beside the checkout)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    return Path(os.environ.get("SADDLE_RESULTS", ROOT / "results"))


def cache_dir() -> Path:
    return Path(os.environ.get("SADDLE_CACHE", ROOT / "cache"))


def shared_dir() -> Path:
    return Path(os.environ.get("SADDLE_SHARED", ROOT.parent / "shared"))


def write_synced(path: Path, write) -> None:
    """`write(f)` into `path` opened for bytes, then flushed and on disk (before a rename makes it the file)."""
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
