"""How a list of runs gets trained or read: the runs a spec names (config dicts, or grid tables of saddle.grid), each
config's record from the store, and the locked runner that trains the missing ones, in one process (run_missing)
or on one worker process per core (train_pool, through saddle.pool). A run is trained under its lock, so several
runners share a list and each run trains once.
"""
from __future__ import annotations

import functools
import json
import sys
import time
import warnings
from pathlib import Path

from .config import RunConfig
from .grid import DEPENDENT_GRIDS, GRIDS
from .results import RecordError, find_record
from .runs import RunLockedError, get_or_run, get_or_run_many, read_or_train
from .stacked import stackable_recipe


def unique(configs) -> list[RunConfig]:
    """Configs in order, each once (the tables share runs, e.g. CE+DRW is in Tables 1, 4, 7 and Fig. 4)."""
    return list(dict.fromkeys(configs))


def listing(spec: dict, root: Path | None = None) -> list[RunConfig]:
    """The runs a spec names: {"configs": [config dicts]}, or {"tables": [grid names], "scale": ..., "seeds":
    [...] or None, "methods": [...] or None, "precision": "fp32" (default) or "bf16"} (re-read on every call: dependent grids grow as tuning lands). A
    spec is plain data, so worker processes can rebuild the same list."""
    if "configs" in spec:
        return unique(RunConfig.from_dict(d) for d in spec["configs"])
    seeds = {} if spec.get("seeds") is None else {"seeds": spec["seeds"]}
    configs = unique([c for table in spec["tables"] for c in GRIDS[table](
        spec["scale"], **seeds, **({"root": root} if table in DEPENDENT_GRIDS else {}))])
    configs = [c for c in configs if not spec.get("methods") or c.label in spec["methods"]]
    if spec.get("precision", "fp32") != "fp32":  # the same runs in another precision: runs of their own
        configs = [c.with_precision(spec["precision"]) for c in configs]
    return configs


def train_missing(configs, *, root: Path | None = None, workers: int | None = None, **run_kwargs) -> dict:
    """Train the configs' missing runs, first saying what that costs here (saddle.costs, measured on this
    machine): on `workers` processes (default: every core), one thread each."""
    from . import costs, pool

    configs = unique(configs)
    missing = [c for c in configs if not has_record(c, root)]
    if not missing:
        return {"present": len(configs), "trained": 0, "held": [], "failed": {}}
    workers = max(1, min(workers or pool.default_workers(), len(missing)))
    plan = costs.plan(missing, workers, data_root=run_kwargs.get("data_root"))
    print(costs.plan_text(plan), file=sys.stderr, flush=True)
    return train_pool({"configs": [c.to_dict() for c in configs]}, workers, root=root,
                      expected_minutes=plan["wall"], **run_kwargs)


def _run_listing(spec: dict, root, run_kwargs: dict, report) -> dict:
    return run_missing(lambda: listing(spec, root), root=root, progress=False, report=report, **run_kwargs)


def _recorded(spec: dict, root) -> int:
    return sum(has_record(c, root) for c in listing(spec, root))


def train_pool(spec: dict, workers: int, *, root: Path | None = None, expected_minutes: float | None = None,
               **run_kwargs) -> dict:
    """Train every missing run of `spec` (listing's: config dicts, or grid tables) on `workers` processes of one
    thread each (saddle.pool), through the locked runner, so each run trains once."""
    from . import pool
    return pool.run_on_workers(functools.partial(_run_listing, spec, root, run_kwargs),
                               functools.partial(_recorded, spec, root), len(listing(spec, root)), workers,
                               expected_minutes=expected_minutes)


def records(configs, *, train: bool = False, root: Path | None = None, workers: int | None = None,
            **run_kwargs) -> dict[str, dict | None]:
    """Each config's record by run id, read from the store; with `train`, the missing ones are trained first
    (train_missing, on `workers` processes), else they are None (a chapter shows them as 'not run here', with the
    command that fills them)."""
    configs = unique(configs)
    if train:
        train_missing(configs, root=root, workers=workers, **run_kwargs)
    return {c.run_id: get_or_run(c, root=root) if has_record(c, root, warn=True) else None for c in configs}


def training_time(records) -> dict:
    """What the recorded runs (records: run id -> record or None) cost, in hours of wall time summed over runs (at
    the cpu scale one thread per run). A run resumed after an interruption timed only its last stretch:
    'measured' counts what was timed, 'scaled' counts each resumed run at its timed seconds per epoch over all
    its epochs (an estimate), 'resumed' how many runs that concerns."""
    done = [r for r in records.values() if r is not None]
    measured = sum(r["provenance"]["wall_time_s"] for r in done)
    scaled = sum(r["provenance"]["wall_time_s"] * len(r["curves"])
                 / max(1, len(r["curves"]) - (r["provenance"].get("resumed_from_epoch") or 0)) for r in done)
    return {"runs": len(done), "measured": measured / 3600, "scaled": scaled / 3600,
            "resumed": sum(bool(r["provenance"].get("resumed_from_epoch")) for r in done)}


def fill_command(table: str, scale: str, seeds) -> str:
    """The command that trains a table's missing runs (several copies may run side by side)."""
    return f"python -m saddle grid {table} --scale {scale} --seeds {','.join(str(s) for s in seeds)}"


def run_missing(configs, *, root: Path | None = None, progress: bool = True, stack: bool = False,
                poll_s: float = 30.0, wait: bool = True, report=None, **run_kwargs) -> dict:
    """Train every config that has no record yet. Several runners (and `train` commands) share the work: a run is trained
    under its lock (saddle.runs.run_lock), so no two processes train it; a lock dies with its process.

    configs: a list, or a callable returning the list (re-read after every run, for grids that grow as their
    tuning lands). The runner loops until every run is recorded: runs held by another process are waited for
    (polling every poll_s seconds) and taken over if that process dies; wait=False returns instead once every
    missing run is held elsewhere (so that a chain of grids moves on to the next one). stack: runs that differ in
    seed and rho only train together (saddle.stacked; for a large GPU). Returns counts of 'present' (recorded
    before, or by another runner), 'trained', 'held' (run ids left to other processes, with wait=False) and
    'failed' (run id -> error; the caller exits non-zero naming them)."""
    from tqdm import tqdm

    listing = configs if callable(configs) else (lambda: configs)
    counts = {"present": 0, "trained": 0, "held": [], "failed": {}}
    counted = set()
    bar = tqdm(desc="grid", unit="run", disable=not progress, file=sys.stderr)
    while True:
        todo = unique(listing())
        bar.total = len(todo)
        for c in todo:
            if c.run_id not in counted and c.run_id not in counts["failed"] and has_record(c, root):
                counted.add(c.run_id)
                counts["present"] += 1
        bar.n = len(counted) + len(counts["failed"])
        bar.refresh()
        missing = [c for c in todo if c.run_id not in counted and c.run_id not in counts["failed"]]
        if not missing:
            break
        groups = stack_groups(missing) if stack else [[c] for c in missing]
        progressed = False
        for group in groups:
            try:
                if stack and len(group) > 1:
                    get_or_run_many(group, root=root, progress=progress, **run_kwargs)
                    action = "trained"
                else:
                    hook = {} if report is None else {"on_epoch_end": lambda epoch, row, c=group[0]: report(c, epoch)}
                    action = read_or_train(group[0], root=root, progress=progress, **hook, **run_kwargs)[1]
            except RunLockedError:
                continue  # another runner has it: come back to it
            except (ValueError, RuntimeError, OSError) as exc:
                for c in group:
                    counts["failed"][c.run_id] = f"{type(exc).__name__}: {exc}"
                    print(f"grid: run {c.run_id} failed: {exc}", file=sys.stderr)
                continue
            for c in group:
                counted.add(c.run_id)
            counts["trained" if action == "trained" else "present"] += len(group)
            progressed = True
            break  # re-read the grid: a dependent grid may have grown
        held = [c.run_id for c in missing if c.run_id not in counts["failed"]]
        if not progressed and held and not wait:
            counts["held"] = held
            break
        if not progressed and held:
            time.sleep(poll_s)  # every missing run is held by another process: wait for them
    bar.close()
    return counts


def has_record(config: RunConfig, root, warn: bool = False) -> bool:
    """Whether `config` has a usable record; a damaged one counts as missing (with a warning naming it)."""
    try:
        return find_record(config, root) is not None
    except RecordError as exc:
        if warn:
            warnings.warn(f"skipped: {exc}", stacklevel=3)
        return False


def stack_groups(configs) -> list[list[RunConfig]]:
    """Configs grouped by everything but seed and rho (what saddle.stacked trains together), in first-seen order;
    a recipe that does not stack (stacked.stackable_recipe) stays alone."""
    groups: dict = {}
    for c in configs:
        key = c.run_id if not stackable_recipe(c) else \
            json.dumps({k: v for k, v in c.to_dict().items() if k not in ("seed", "rho")}, sort_keys=True)
        groups.setdefault(key, []).append(c)
    return list(groups.values())
