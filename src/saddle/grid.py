"""The paper's experiment grid: each table and figure of Sec. 5 / App. D as a list of RunConfigs at a scale, and a
runner that fills in the missing records. Lists are seed-major, so a grid stopped half-way has whole seeds.

Methods are written as the paper writes them ('LDAM+DRW+SAM'); rho comes from the paper's Table 5 (per data set
and profile). The cpu scale's Fashion-MNIST-LT has 10 classes and takes the CIFAR-10 column."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .config import RunConfig
from .results import cache_dir, find_record, get_or_run, get_or_run_many
from .splits import LARGE_DATASETS

METHODS = ("CE", "CE+SAM", "CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM", "VS", "VS+SAM")
BASELINES = ("CE+DRW", "CE+DRW+PGD", "CE+DRW+LPF-SGD", "CE+DRW+SAM")  # Table 4
FIGURE4_RHOS = (0.0, 0.05, 0.1, 0.2, 0.5, 0.8, 1.0)  # rho 0 is CE+DRW (SGD)
IMBALANCES = (10, 50, 100, 200)  # Tables 7 and 8
SEEDS = (0, 1, 2)  # the paper's tables are means over three seeds

# Table 5: the rho of each SAM method, by data set and imbalance profile.
TABLE5_RHO = {
    ("cifar10", "exp"): {"CE+SAM": 0.1, "CE+DRW+SAM": 0.5, "LDAM+DRW+SAM": 0.8, "VS+SAM": 0.5},
    ("cifar10", "step"): {"CE+SAM": 0.1, "CE+DRW+SAM": 0.2, "LDAM+DRW+SAM": 0.1, "VS+SAM": 0.2},
    ("cifar100", "exp"): {"CE+SAM": 0.2, "CE+DRW+SAM": 0.8, "LDAM+DRW+SAM": 0.8, "VS+SAM": 0.8},
    ("cifar100", "step"): {"CE+SAM": 0.5, "CE+DRW+SAM": 0.2, "LDAM+DRW+SAM": 0.5, "VS+SAM": 0.2},
}
RHO_COLUMN = {"fashion-mnist": "cifar10", "synthetic": "cifar10", "cifar10": "cifar10", "cifar100": "cifar100"}
_OPTIMIZERS = {"SAM": "sam", "PGD": "pgd", "LPF-SGD": "lpf"}
LARGE_METHODS = ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM")  # Tables 3 (iNaturalist) and 6 (ImageNet-LT)
# App. C's step schedules for the large sets: epochs 1-5, 6-60, 61-75, 76-90 (of 90); the official iNat CE run
# stops at 0.2.
LARGE_RHO_STEPS = {("imagenet-lt", "ce"): (0.05, 0.1, 0.5, 0.5), ("imagenet-lt", "ldam"): (0.05, 0.1, 0.5, 0.5),
                   ("inat2018", "ce"): (0.05, 0.1, 0.1, 0.2), ("inat2018", "ldam"): (0.05, 0.1, 0.5, 0.5)}


def datasets(scale: str) -> tuple[str, ...]:
    """The data sets a scale runs the CIFAR tables on: CIFAR-10 and -100 at paper scale, its own one elsewhere."""
    return ("cifar10", "cifar100") if scale == "paper" else (RunConfig.at_scale(scale).dataset,)


def table5_rho(method: str, dataset: str, profile: str = "exp") -> float:
    """The paper's rho for a SAM method (Table 5); Tables 7 and 8 reuse the imbalance-100 value."""
    return TABLE5_RHO[(RHO_COLUMN[dataset], profile)][method]


def method_config(method: str, scale: str, *, dataset: str | None = None, profile: str = "exp",
                  imbalance: float = 100.0, seed: int = 0, rho: float | None = None, **overrides) -> RunConfig:
    """The RunConfig of a method written as in the paper, e.g. method_config('LDAM+DRW+SAM', 'cpu')."""
    loss, *rest = method.split("+")
    unknown = [part for part in rest if part != "DRW" and part not in _OPTIMIZERS]
    if loss.lower() not in ("ce", "ldam", "vs") or unknown:
        raise ValueError(f"unknown method {method!r}: a loss (CE, LDAM, VS), then optionally +DRW and one of "
                         f"{', '.join('+' + o for o in _OPTIMIZERS)}")
    optimizer = next((_OPTIMIZERS[p] for p in rest if p in _OPTIMIZERS), "sgd")
    dataset = dataset or datasets(scale)[0]
    if optimizer == "sam" and rho is None and dataset in LARGE_DATASETS:
        overrides.setdefault("rho_steps", LARGE_RHO_STEPS[(dataset, loss.lower())])
    elif optimizer == "sam" and rho is None:
        rho = table5_rho(method, dataset, profile)
    return RunConfig.at_scale(scale, dataset=dataset, profile=profile, imbalance=float(imbalance), loss=loss.lower(),
                              drw="DRW" in rest, optimizer=optimizer, rho=rho or 0.0, seed=seed, **overrides)


def table1(scale: str, seeds=SEEDS, dataset_names=None) -> list[RunConfig]:
    """Table 1: eight methods, exponential profile, imbalance 100."""
    return [method_config(m, scale, dataset=d, seed=s)
            for s in seeds for d in dataset_names or datasets(scale) for m in METHODS]


def table2(scale: str, seeds=(0,), dataset_names=None) -> list[RunConfig]:
    """Table 2: the same eight methods on the step profile (imbalance 100); one seed by default, as a check of
    Table 1 on another profile."""
    return [method_config(m, scale, dataset=d, profile="step", seed=s)
            for s in seeds for d in dataset_names or datasets(scale) for m in METHODS]


def table4(scale: str, seeds=SEEDS, dataset_names=None) -> list[RunConfig]:
    """Table 4: CE+DRW with SGD, PGD, LPF-SGD and SAM."""
    return [method_config(m, scale, dataset=d, seed=s)
            for s in seeds for d in dataset_names or datasets(scale) for m in BASELINES]


def tables7_8(scale: str, seeds=SEEDS, imbalances=IMBALANCES, dataset_names=None) -> list[RunConfig]:
    """Tables 7 and 8: CE+DRW and LDAM+DRW, each with and without SAM, across imbalance factors."""
    methods = ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM")
    return [method_config(m, scale, dataset=d, imbalance=b, seed=s)
            for s in seeds for d in dataset_names or datasets(scale) for b in imbalances for m in methods]


def figure4(scale: str, seeds=SEEDS, rhos=FIGURE4_RHOS, dataset_names=None) -> list[RunConfig]:
    """Fig. 4: CE+DRW+SAM across rho (rho 0 is CE+DRW with plain SGD)."""
    return [method_config("CE+DRW+SAM" if rho else "CE+DRW", scale, dataset=d, seed=s, rho=rho or None)
            for s in seeds for d in dataset_names or datasets(scale) for rho in rhos]


def large_table(dataset: str, seeds=(0,)) -> list[RunConfig]:
    """Table 3 (iNaturalist 2018) or Table 6 (ImageNet-LT): four methods with ResNet-50 at the large scale,
    SAM on App. C's rho schedule. Each run is one torchrun job (see chapter 5), so these are not in GRIDS."""
    return [method_config(m, "large", dataset=dataset, seed=s) for s in seeds for m in LARGE_METHODS]


GRIDS = {"table1": table1, "table2": table2, "table4": table4, "tables7-8": tables7_8, "figure4": figure4}


def unique(configs) -> list[RunConfig]:
    """Configs in order, each once (the tables share runs, e.g. CE+DRW is in Tables 1, 4, 7 and Fig. 4)."""
    return list(dict.fromkeys(configs))


def collect(configs, *, train: bool = False, root: Path | None = None, **run_kwargs) -> dict[str, dict | None]:
    """Each config's record by run id; a missing one is trained first when `train`, else None (a chapter shows
    it as 'not run here', with the command that fills it)."""
    configs = unique(configs)
    if train:
        run_missing(configs, root=root, **run_kwargs)
    return {c.run_id: get_or_run(c, root=root) if find_record(c, root) is not None else None for c in configs}


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
                **run_kwargs) -> dict[str, int]:
    """Train every config that has no record yet. Several runners may share the work: each run is claimed with a
    lock file (cache/locks/<run id>), so two processes never train the same run; a lock whose process is gone is
    taken over. stack: runs that differ in seed and rho only train together (saddle.stacked; for a large GPU).
    Returns counts of 'present', 'trained' and 'skipped' (claimed by another runner)."""
    from tqdm import tqdm

    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    counts = {"present": 0, "trained": 0, "skipped": 0}
    groups = stack_groups(unique(configs)) if stack else [[c] for c in unique(configs)]
    for group in tqdm(groups, desc="grid", unit="group" if stack else "run", disable=not progress):
        present = [c for c in group if find_record(c, root) is not None]
        counts["present"] += len(present)
        claimed = [c for c in group if c not in present and _claim(locks / c.run_id)]
        counts["skipped"] += len(group) - len(present) - len(claimed)
        if not claimed:
            continue
        try:
            if stack and len(claimed) > 1:
                get_or_run_many(claimed, root=root, progress=progress, **run_kwargs)
            else:
                get_or_run(claimed[0], root=root, progress=progress, **run_kwargs)
            counts["trained"] += len(claimed)
        finally:
            for c in claimed:
                (locks / c.run_id).unlink(missing_ok=True)
    return counts


def stack_groups(configs) -> list[list[RunConfig]]:
    """Configs grouped by everything but seed and rho (what saddle.stacked trains together), in first-seen order;
    optimizers other than SGD and SAM stay alone."""
    groups: dict = {}
    for c in configs:
        key = c.run_id if c.optimizer not in ("sgd", "sam") else \
            json.dumps({k: v for k, v in c.to_dict().items() if k not in ("seed", "rho")}, sort_keys=True)
        groups.setdefault(key, []).append(c)
    return list(groups.values())


def _claim(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        owner = lock.read_text().strip()
        if not owner.isdigit():
            return False  # being written by its owner right now
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            lock.unlink(missing_ok=True)  # stale: its owner died
            return _claim(lock)
        except PermissionError:
            pass  # alive, another user's
        return False
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True
