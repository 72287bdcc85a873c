"""The experiment grids: each table and figure of the paper (Sec. 5, App. D), and each grid added here, as a
seed-major list of RunConfigs (a grid stopped half-way has whole seeds). Methods are written as the paper writes
them ('LDAM+DRW+SAM'); rho comes from its Table 5 (Fashion-MNIST-LT takes the CIFAR-10 column)."""
from __future__ import annotations

from pathlib import Path

from .config import REGIME_CANDIDATES, VALIDATED_SCALES, RunConfig
from .results import find_record
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
RHO_COLUMN = {"fashion-mnist": "cifar10", "synthetic": "cifar10", "cifar10": "cifar10", "cifar10-jpeg": "cifar10",
              "cifar100": "cifar100"}
_OPTIMIZERS = {"SAM": "sam", "PGD": "pgd", "LPF-SGD": "lpf", "ImbSAM": "imbsam", "CC-SAM": "ccsam"}
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
    elif optimizer in ("imbsam", "ccsam") and rho is None:
        raise ValueError(f"{method} needs a rho: the paper's Table 5 has none for it (grid followups tunes it)")
    return RunConfig.at_scale(scale, dataset=dataset, profile=profile, imbalance=float(imbalance), loss=loss.lower(),
                              drw="DRW" in rest, optimizer=optimizer, rho=rho or 0.0, seed=seed, **overrides)


def table1(scale: str, seeds=SEEDS, dataset_names=None, rho: float | None = None) -> list[RunConfig]:
    """Table 1: eight methods, exponential profile, imbalance 100; rho: every SAM method at it, not Table 5's."""
    return [method_config(m, scale, dataset=d, seed=s, rho=sam_rho(m, rho))
            for s in seeds for d in dataset_names or datasets(scale) for m in METHODS]


def sam_rho(method: str, rho: float | None) -> float | None:
    """The radius to ask of `method`: `rho` for a SAM-like method (SAM, ImbSAM, CC-SAM), None for the others."""
    return rho if "SAM" in method else None


def table2(scale: str, seeds=(0,), dataset_names=None) -> list[RunConfig]:
    """Table 2: the eight methods on the step profile; one seed by default."""
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


def chapter4(scale: str, seeds, table2_seeds, imbalances, dataset_names, tables, methods) -> dict:
    """Chapter 4's runs: its `tables` (table1, table2, tables7-8) -> their configs, only `methods`' runs."""
    made = {"table1": lambda: table1(scale, seeds, dataset_names),
            "table2": lambda: table2(scale, table2_seeds, dataset_names),
            "tables7-8": lambda: tables7_8(scale, seeds, imbalances, dataset_names)}
    return {t: [c for c in make() if c.label in methods] for t, make in made.items() if t in tables}


# ---- The validated protocol (cpu and smoke scales), declared before its runs (saddle_book.declared dates each
# declaration from git): a validation split, subset_seed = seed, each SAM method's rho chosen by select_rho on
# TUNE_SEEDS (disjoint from the evaluation seeds); no test number enters the choice. ----
VAL_PER_CLASS = 200
SMOKE_VAL_PER_CLASS = 20  # smoke checks the code path, not numbers: a small split keeps its evaluations quick
TUNE_RHOS = (0.05, 0.1, 0.2, 0.3, 0.5)
SAM_METHODS = ("CE+SAM", "CE+DRW+SAM", "LDAM+DRW+SAM", "VS+SAM")
# After the paper (chapter 8): ImbSAM and CC-SAM on CE+DRW, their radius tuned by the same rule on one seed.
FOLLOWUP_METHODS = ("CE+DRW+ImbSAM", "CE+DRW+CC-SAM")
FOLLOWUP_RHOS = (0.05, 0.1, 0.2, 0.5)
TUNE_SEEDS = {"CE+DRW+SAM": (10, 11), "CE+SAM": (10,), "LDAM+DRW+SAM": (10,), "VS+SAM": (10,),
              "CE+DRW+ImbSAM": (10,), "CE+DRW+CC-SAM": (10,)}
TUNE_GRID = {**{m: TUNE_RHOS for m in SAM_METHODS}, **{m: FOLLOWUP_RHOS for m in FOLLOWUP_METHODS}}
PROTOCOL_SEEDS = (0, 1, 2, 3, 4)
CONTROL_SEEDS = (0, 1, 2)
CONTROL_METHODS = ("CE+DRW", "CE+DRW+SAM")


def protocol_config(method: str, scale: str, *, seed: int = 0, rho: float | None = None, **overrides) -> RunConfig:
    """A run of the validated protocol: validation split, subset_seed = seed; SAM methods need their rho."""
    if "SAM" in method and rho is None:
        raise ValueError(f"{method} in the validated protocol needs a rho (tuned_rho, or a tuning grid value)")
    if scale not in VALIDATED_SCALES:
        overrides.setdefault("val_per_class", 0)
    overrides.setdefault("val_per_class", SMOKE_VAL_PER_CLASS if scale == "smoke" else VAL_PER_CLASS)
    return method_config(method, scale, seed=seed, rho=rho, subset_seed=seed, **overrides)


def tune(scale: str, seeds=None, rhos=TUNE_RHOS, dataset_names=None) -> list[RunConfig]:
    """Every SAM method at every rho on its tuning seeds, and CE+DRW on CE+DRW+SAM's (the sweeps' rho = 0 end)."""
    sweep = [protocol_config(m, scale, seed=s, rho=r, dataset=d)
             for m in SAM_METHODS for s in (seeds or TUNE_SEEDS[m]) for d in dataset_names or datasets(scale)
             for r in rhos]
    anchors = [protocol_config("CE+DRW", scale, seed=s, dataset=d)
               for s in (seeds or TUNE_SEEDS["CE+DRW+SAM"]) for d in dataset_names or datasets(scale)]
    return sweep + anchors


def select_rho(val_acc_by_rho: dict[float, list[float]]) -> float:
    """The written rule: the rho of highest mean validation accuracy (ties to 0.01 points: the smaller rho)."""
    if not val_acc_by_rho or any(not accs for accs in val_acc_by_rho.values()):
        raise ValueError("select_rho needs at least one validation accuracy for every rho")
    mean = {rho: round(sum(accs) / len(accs), 2) for rho, accs in val_acc_by_rho.items()}
    return min(mean, key=lambda rho: (-mean[rho], rho))


def tuning_plan(method: str, scale: str) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The radii and seeds `method` is tuned on at `scale`: the regime scale tunes CE+DRW+SAM on a shorter plan."""
    if scale == REGIME_SCALE and method == "CE+DRW+SAM":
        return REGIME_TUNE_RHOS, REGIME_TUNE_SEEDS
    return TUNE_GRID[method], TUNE_SEEDS[method]


def tuning_table(method: str, scale: str, *, root: Path | None = None, rhos=None, dataset: str | None = None,
                 seeds=None) -> dict[float, list[float | None]]:
    """Final validation accuracy of each tuning run of `method` by rho (None: no record yet, or diverged)."""
    plan_rhos, plan_seeds = tuning_plan(method, scale)
    table = {}
    for rho in rhos or plan_rhos:
        table[rho] = []
        for seed in seeds or plan_seeds:
            record = find_record(protocol_config(method, scale, seed=seed, rho=rho, dataset=dataset), root)
            final = (record.get("metrics") or {}).get("final", {}) if record else {}
            table[rho].append(final.get("val", {}).get("acc"))
    return table


def tuned_rho(method: str, scale: str, *, root: Path | None = None, dataset: str | None = None) -> float | None:
    """`method`'s rho by select_rho once its tuning grid is recorded, else None (a diverged run counts as 0)."""
    table = tuning_table(method, scale, root=root, dataset=dataset)
    for rho in table:
        for seed, acc in zip(tuning_plan(method, scale)[1], table[rho]):
            if acc is None:
                record = find_record(protocol_config(method, scale, seed=seed, rho=rho, dataset=dataset), root)
                if record is None:
                    return None
                table[rho] = [0.0 if a is None else a for a in table[rho]]
    return select_rho(table)


def protocol_rho(method: str, scale: str, protocol: str) -> float | None:
    """A SAM method's radius under a chapter's protocol, 'validated' (tuned_rho) or 'paper' (Table 5); smoke: 0.5."""
    if scale == "smoke":
        return 0.5
    return tuned_rho(method, scale) if protocol == "validated" else table5_rho(method, datasets(scale)[0])


def chapter_config(method: str, scale: str, protocol: str, seed: int, rho: float | None = None) -> RunConfig:
    """The run of `method` under a chapter's protocol, 'validated' or 'paper' (subset 0)."""
    if protocol == "validated":
        return protocol_config(method, scale, seed=seed, rho=rho)
    return method_config(method, scale, seed=seed, rho=rho)


def table1_validated(scale: str, seeds=PROTOCOL_SEEDS, dataset_names=None, root: Path | None = None
                 ) -> list[RunConfig]:
    """Table 1 under the validated protocol, each SAM method at its tuned rho once its tuning is recorded."""
    configs = []
    for s in seeds:
        for d in dataset_names or datasets(scale):
            for m in METHODS:
                rho = tuned_rho(m, scale, root=root, dataset=d) if "SAM" in m else None
                if "SAM" not in m or rho is not None:
                    configs.append(protocol_config(m, scale, seed=s, rho=rho, dataset=d))
    return configs


def followups(scale: str, seeds=PROTOCOL_SEEDS, dataset_names=None, root: Path | None = None) -> list[RunConfig]:
    """Chapter 8: ImbSAM and CC-SAM tuned on one seed, then on `seeds` at the tuned radius beside CE+DRW(+SAM)."""
    configs = [protocol_config(m, scale, seed=s, rho=r, dataset=d) for m in FOLLOWUP_METHODS
               for s in TUNE_SEEDS[m] for d in dataset_names or datasets(scale) for r in FOLLOWUP_RHOS]
    for s in seeds:
        for d in dataset_names or datasets(scale):
            for m in ("CE+DRW", "CE+DRW+SAM") + FOLLOWUP_METHODS:
                rho = tuned_rho(m, scale, root=root, dataset=d) if m != "CE+DRW" else None
                if m == "CE+DRW" or rho is not None:
                    configs.append(protocol_config(m, scale, seed=s, rho=rho, dataset=d))
    return configs


def order_control(scale: str, seeds=CONTROL_SEEDS, dataset_names=None, root: Path | None = None) -> list[RunConfig]:
    """CE+DRW and CE+DRW+SAM (tuned rho) with Fashion-MNIST's natural class order."""
    rho = tuned_rho("CE+DRW+SAM", scale, root=root)
    return [protocol_config(m, scale, seed=s, rho=sam_rho(m, rho), class_order="natural")
            for s in seeds for m in CONTROL_METHODS if "SAM" not in m or rho is not None]


# ---- Runs for the mechanism and the statistics (declared before they trained): mechanism-cpu, ten-seeds,
# headline-radii. ----
MECHANISM_RHO = 0.5
EXTRA_SEEDS = (5, 6, 7, 8, 9)
HEADLINE_RHOS = (0.2, 0.5)


def mechanism_cpu(scale: str, seeds=PROTOCOL_SEEDS, dataset_names=None) -> list[RunConfig]:
    """CE+DRW+SAM at the paper's radius on the validated protocol's seeds (their CE+DRW runs are table1-validated's)."""
    return [protocol_config("CE+DRW+SAM", scale, seed=s, rho=MECHANISM_RHO, dataset=d)
            for s in seeds for d in dataset_names or datasets(scale)]


def ten_seeds(scale: str, seeds=EXTRA_SEEDS, dataset_names=None, root: Path | None = None) -> list[RunConfig]:
    """The headline's two runs on five more seeds (with table1-validated's 0-4: ten), SAM at its tuned rho."""
    rho = tuned_rho("CE+DRW+SAM", scale, root=root)
    return [protocol_config(m, scale, seed=s, rho=sam_rho(m, rho), dataset=d)
            for s in seeds for d in dataset_names or datasets(scale) for m in CONTROL_METHODS
            if "SAM" not in m or rho is not None]


def headline_radii(scale: str, seeds=PROTOCOL_SEEDS, rhos=HEADLINE_RHOS, dataset_names=None) -> list[RunConfig]:
    """CE+DRW+SAM at other radii than the tuned one on the validated seeds (rho 0.5 is mechanism_cpu's runs)."""
    return [protocol_config("CE+DRW+SAM", scale, seed=s, rho=r, dataset=d)
            for s in seeds for d in dataset_names or datasets(scale) for r in rhos]


# ---- A scale in the paper's regime: REGIME_RULE (applied by select_regime_scale), declared before its pilot. ----
REGIME_RULE = {"seed": 10, "rho": 0.5, "sgd_tail_fit": 95.0, "sam_tail_fit": 90.0}


def regime_pilot(scale: str = "cpu", seeds=None, dataset_names=None) -> list[RunConfig]:
    """The pilot runs of every regime candidate, each at its own scale (`scale` is ignored)."""
    seed = REGIME_RULE["seed"]
    return [protocol_config(m, candidate, seed=seed, rho=sam_rho(m, REGIME_RULE["rho"]))
            for candidate in REGIME_CANDIDATES for m in CONTROL_METHODS]


def select_regime_scale(tail_fit: dict[str, tuple[float, float]], minutes: dict[str, float]) -> tuple[str, bool]:
    """REGIME_RULE on candidate -> (CE+DRW, CE+DRW+SAM) tail fit in % and candidate -> minutes: (choice,
    qualified)."""
    if not tail_fit or set(tail_fit) - set(minutes):
        raise ValueError(f"select_regime_scale needs a cost for every candidate, got {sorted(minutes)} for "
                         f"{sorted(tail_fit)}")
    qualified = [c for c, (sgd, sam) in tail_fit.items()
                 if sgd >= REGIME_RULE["sgd_tail_fit"] and sam >= REGIME_RULE["sam_tail_fit"]]
    if qualified:
        return min(qualified, key=lambda c: (minutes[c], c)), True
    return max(tail_fit, key=lambda c: (tail_fit[c][1], -minutes[c])), False



# ---- The mechanism grid on the regime scale (declared before its runs): the pilot chose r8-n5000, where a run
# costs about ten cpu runs, so CE+DRW+SAM is tuned on a shorter plan (REGIME_TUNE_RHOS, seed 10). ----
REGIME_SCALE = "r8-n5000"
REGIME_TUNE_RHOS = (0.05, 0.2, 0.5)
REGIME_TUNE_SEEDS = (10,)


def regime_tune(scale: str = REGIME_SCALE, seeds=None, dataset_names=None) -> list[RunConfig]:
    """CE+DRW+SAM's tuning runs at the regime scale (the `scale` argument is ignored, as for regime_pilot)."""
    return [protocol_config("CE+DRW+SAM", REGIME_SCALE, seed=s, rho=r)
            for s in seeds or REGIME_TUNE_SEEDS for r in REGIME_TUNE_RHOS]


def mechanism_regime(scale: str = REGIME_SCALE, seeds=PROTOCOL_SEEDS, dataset_names=None,
                     root: Path | None = None) -> list[RunConfig]:
    """CE+DRW, CE+DRW+SAM at rho 0.5 and at the tuned rho, at the regime scale (`scale` is ignored)."""
    tuned = tuned_rho("CE+DRW+SAM", REGIME_SCALE, root=root)
    rhos = [MECHANISM_RHO] + ([tuned] if tuned is not None and tuned != MECHANISM_RHO else [])
    return [protocol_config("CE+DRW", REGIME_SCALE, seed=s) if rho is None else
            protocol_config("CE+DRW+SAM", REGIME_SCALE, seed=s, rho=rho)
            for s in seeds for rho in [None, *rhos]]


# ---- CIFAR-10-LT (JPEG copy), ResNet-32, the paper's protocol (official subset 0, Table 5's radii, fp32); declared
# on 2026-12-06 before its runs (claims: scorecard.CIFAR_CLAIMS), grids in priority order a, c, d, e. ----
CIFAR_SCALE = "cifar10-r32"
CIFAR_HEADLINE = ("CE+DRW", "CE+DRW+SAM")
CIFAR_LDAM = ("LDAM+DRW", "LDAM+DRW+SAM")
CIFAR_TABLE1_REST = ("CE", "CE+SAM", "VS", "VS+SAM")
CIFAR_RADII = (0.05, 0.1, 0.2, 0.8)
# b. The analyses of the headline's snapshots (saddle.analyse's cifar10-headline plan).
CIFAR_ANALYSES = {"iters": 100, "max_per_class": 256, "tail_whole": True, "epoch": "last",
                  "fig3_epochs": (10, 50, 160, 170, 190, 200), "fig3_classes": (0, 9), "fig3_seeds": (0, 1, 2),
                  "estimator_run": ("CE+DRW+SAM", 0), "estimator_class": 9}


def cifar_headline(scale: str = CIFAR_SCALE, seeds=PROTOCOL_SEEDS, dataset_names=None) -> list[RunConfig]:
    """Item a: CE+DRW and CE+DRW+SAM at Table 5's rho 0.5, seed-major (seeds 0-2 come first)."""
    return [method_config(m, CIFAR_SCALE, seed=s) for s in seeds for m in CIFAR_HEADLINE]


def cifar_ldam(scale: str = CIFAR_SCALE, seeds=SEEDS, dataset_names=None) -> list[RunConfig]:
    """Item c: LDAM+DRW and LDAM+DRW+SAM at Table 5's rho 0.8."""
    return [method_config(m, CIFAR_SCALE, seed=s) for s in seeds for m in CIFAR_LDAM]


def cifar_table1(scale: str = CIFAR_SCALE, seeds=(0,), dataset_names=None) -> list[RunConfig]:
    """Item d: the rest of Table 1's CIFAR-10 column, at Table 5's radii (VS trains 300 epochs)."""
    return [method_config(m, CIFAR_SCALE, seed=s) for s in seeds for m in CIFAR_TABLE1_REST]


def cifar_radii(scale: str = CIFAR_SCALE, seeds=(0,), dataset_names=None) -> list[RunConfig]:
    """Item e: CE+DRW+SAM across rho (with the headline's rho 0.5 and CE+DRW, Fig. 4's curve)."""
    return [method_config("CE+DRW+SAM", CIFAR_SCALE, seed=s, rho=r) for s in seeds for r in CIFAR_RADII]


# ---- bf16 against fp32 on the CPU (declared on 2026-12-06 before any bf16 run; claims: scorecard.PRECISION_*). ----
PRECISION_RUNS = (("CE+DRW", None), ("CE+DRW+SAM", MECHANISM_RHO))


def bf16_twins(scale: str = "cpu", seeds=PROTOCOL_SEEDS, dataset_names=None) -> list[RunConfig]:
    """The bf16 twins of PRECISION_RUNS on the validated seeds (their fp32 records are the other grids')."""
    return [protocol_config(m, scale, seed=s, rho=rho, precision="bf16") for s in seeds for m, rho in PRECISION_RUNS]


def large_table(dataset: str, seeds=(0,)) -> list[RunConfig]:
    """Table 3 (iNaturalist 2018) or 6 (ImageNet-LT): one torchrun job per run (chapter 5), so not in GRIDS."""
    return [method_config(m, "large", dataset=dataset, seed=s) for s in seeds for m in LARGE_METHODS]


# The regime scale's images per class in a whole-class spectrum: its head classes hold up to 5,000 images (every
# Hessian-vector product a pass over them), its tail classes 50-139, which this keeps whole.
REGIME_MAX_PER_CLASS = 256


def chapter_defaults(scale: str) -> dict:
    """The chapters' settings left None, at `scale`: the one place they live (the book and saddle.analyse)."""
    smoke = scale == "smoke"
    return {"seeds": [0] if smoke else list(SEEDS), "validated_seeds": [0] if smoke else list(PROTOCOL_SEEDS),
            "iters": 4 if smoke else 100,
            "max_per_class": 16 if smoke else REGIME_MAX_PER_CLASS if scale == REGIME_SCALE else None,
            "train_missing": scale != "cpu", "dataset_names": list(datasets(scale)),
            "imbalances": [100] if smoke else list(IMBALANCES),
            "rhos": [0.0, 0.05, 0.5, 0.8] if smoke else list(FIGURE4_RHOS),
            "tables": ["table1", "tables7-8"] if smoke else ["table1", "table2", "tables7-8"],
            "methods": list(METHODS)}


def tuning_sweep(scale: str, dataset: str, methods=("CE+DRW", "CE+DRW+SAM")) -> dict:
    """{(rho, seed): config} of the tuning grid's `methods` on `dataset` (rho 0 for SGD)."""
    return {(c.radius, c.seed): c
            for c in tune(scale, dataset_names=[dataset]) if c.label in methods}


GRIDS = {"table1": table1, "table2": table2, "table4": table4, "tables7-8": tables7_8, "figure4": figure4,
         "tune": tune, "table1-validated": table1_validated, "order-control": order_control, "followups": followups,
         "mechanism-cpu": mechanism_cpu, "ten-seeds": ten_seeds, "headline-radii": headline_radii,
         "regime-pilot": regime_pilot, "regime-tune": regime_tune, "mechanism-regime": mechanism_regime,
         "cifar10-headline": cifar_headline, "cifar10-ldam": cifar_ldam, "cifar10-table1": cifar_table1,
         "cifar10-radii": cifar_radii, "bf16-twins": bf16_twins}
# Grids whose runs depend on other runs' records (the tuned rho of these methods): re-read after every run.
DEPENDENT_GRIDS = {"table1-validated": tuple(m for m in METHODS if "SAM" in m), "order-control": ("CE+DRW+SAM",),
                   "followups": ("CE+DRW+SAM",) + FOLLOWUP_METHODS, "ten-seeds": ("CE+DRW+SAM",),
                   "mechanism-regime": ("CE+DRW+SAM",)}


def untuned(table: str, scale: str, root: Path | None = None) -> list[str]:
    """The methods whose tuned rho the dependent grid `table` still waits for (its rows at that rho are left out)."""
    scale = REGIME_SCALE if table == "mechanism-regime" else scale
    return [m for m in DEPENDENT_GRIDS[table]
            if any(tuned_rho(m, scale, root=root, dataset=d) is None for d in datasets(scale))]
