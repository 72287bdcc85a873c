"""Where the project's folders are (settings with defaults, read in one place), and a file's SHA-256.

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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
