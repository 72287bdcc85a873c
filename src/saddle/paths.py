"""Where the project's folders are: settings with defaults, read in one place.

SADDLE_RESULTS (run records, default results/ of this checkout), SADDLE_CACHE (checkpoints, locks, decoded data;
default cache/), SADDLE_SHARED (the read-only shared data folder, default ../shared beside the checkout)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    return Path(os.environ.get("SADDLE_RESULTS", ROOT / "results"))


def cache_dir() -> Path:
    return Path(os.environ.get("SADDLE_CACHE", ROOT / "cache"))


def shared_dir() -> Path:
    return Path(os.environ.get("SADDLE_SHARED", ROOT.parent / "shared"))
