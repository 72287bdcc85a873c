"""How a list of runs gets trained or read: the runs a spec names, their records, and the locked runner that
trains the missing ones in one process (run_missing) or on one worker per core (train_pool). A run trains under
its lock, so several runners share a list and each run trains once."""
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
from .stacked import MAY_DIFFER, stackable_recipe


def unique(configs) -> list[RunConfig]:
    """Configs in order, each once (the tables share runs, e.g. CE+DRW is in Tables 1, 4, 7 and Fig. 4)."""
    return list(dict.fromkeys(configs))


def listing(spec: dict, root: Path | None = None) -> list[RunConfig]:
    """The runs a spec names: {"configs": [dicts]} or {"tables", "scale", "seeds", "methods", "precision"}; plain
    data, so worker processes rebuild the same list (re-read each call: dependent grids grow)."""
    if "configs" in spec:
        return unique(RunConfig.from_dict(d) for d in spec["configs"])
    seeds = {} if spec.get("seeds") is None else {"seeds": spec["seeds"]}
    configs = unique([c for table in spec["tables"] for c in GRIDS[table](
        spec["scale"], **seeds, **({"root": root} if table in DEPENDENT_GRIDS else {}))])
    configs = [c for c in configs if not spec.get("methods") or c.label in spec["methods"]]
    if spec.get("precision", "fp32") != "fp32":  # the same runs in another precision: runs of their own
        configs = [c.with_precision(spec["precision"]) for c in configs]
    return configs


def train_missing(configs, *, root: Path | None = None, workers: int | None = None, spec: dict | None = None,
                  **run_kwargs) -> dict:
    """Train the missing runs on `workers` one-thread processes (default every core), saying first what it costs.
    The workers re-read `spec` (a grid's, whose dependent tables grow) where given, else the configs."""
    from . import costs, pool

    configs = unique(configs)
    missing = [c for c in configs if not has_record(c, root, warn=True)]
    if not missing:
        return {"present": len(configs), "trained": 0, "held": [], "failed": {}}
    workers = workers or pool.default_workers()  # a growing grid's later runs need the workers asked for
    workers = max(1, workers if spec else min(workers, len(missing)))
    plan = costs.plan(missing, workers, data_root=run_kwargs.get("data_root"))
    print(costs.plan_text(plan), file=sys.stderr, flush=True)
    return train_pool(spec or {"configs": [c.to_dict() for c in configs]}, workers, root=root,
                      expected_minutes=plan["wall"], **run_kwargs)


def _run_listing(spec: dict, root, run_kwargs: dict, report) -> dict:
    return run_missing(lambda: listing(spec, root), root=root, progress=False, report=report, **run_kwargs)


def _recorded(spec: dict, root) -> int:
    return sum(has_record(c, root) for c in listing(spec, root))


def train_pool(spec: dict, workers: int, *, root: Path | None = None, expected_minutes: float | None = None,
               **run_kwargs) -> dict:
    """Train every missing run of `spec` on `workers` one-thread processes through the locked runner."""
    from . import pool
    return pool.run_on_workers(functools.partial(_run_listing, spec, root, run_kwargs),
                               functools.partial(_recorded, spec, root), len(listing(spec, root)), workers,
                               expected_minutes=expected_minutes)


def records(configs, *, train: bool = False, root: Path | None = None, workers: int | None = None,
            **run_kwargs) -> dict[str, dict | None]:
    """Each config's record by run id (None where missing; with `train`, those are trained first)."""
    configs = unique(configs)
    if train:
        train_missing(configs, root=root, workers=workers, **run_kwargs)
    return {c.run_id: get_or_run(c, root=root) if has_record(c, root, warn=not train) else None for c in configs}


def training_time(records) -> dict:
    """Hours of wall time summed over the recorded runs: 'measured' as timed (a resumed run timed only its last
    stretch), 'scaled' with resumed runs estimated from their timed epochs, 'resumed' how many."""
    done = [r for r in records.values() if r is not None]
    measured = sum(r["provenance"]["wall_time_s"] for r in done)
    scaled = sum(r["provenance"]["wall_time_s"] * len(r["curves"])
                 / max(1, len(r["curves"]) - (r["provenance"].get("resumed_from_epoch") or 0)) for r in done)
    return {"runs": len(done), "measured": measured / 3600, "scaled": scaled / 3600,
            "resumed": sum(bool(r["provenance"].get("resumed_from_epoch")) for r in done)}


def run_missing(configs, *, root: Path | None = None, progress: bool = True, stack: bool = False,
                poll_s: float = 30.0, wait: bool = True, report=None, **run_kwargs) -> dict:
    """Train every config without a record, each under its lock, until all are recorded: runs held by another
    process are waited for (wait=False: returned as 'held'). configs: a list, or a callable re-read after every
    run (dependent grids grow). stack: runs differing in seed and rho only train together. Returns counts of
    'present', 'trained', 'held' and 'failed' (run id -> error)."""
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
    """Configs grouped by everything but seed and rho, in first-seen order (a recipe that does not stack alone)."""
    groups: dict = {}
    for c in configs:
        key = c.run_id if not stackable_recipe(c) else \
            json.dumps({k: v for k, v in c.to_dict().items() if k not in MAY_DIFFER}, sort_keys=True)
        groups.setdefault(key, []).append(c)
    return list(groups.values())
