"""The analyses chapters read, computed by the pipeline (`python -m saddle analyse <plan>`), never by a chapter.

A plan names the analysis records one reader needs: a grid's declared ones (cifar10-headline: grid.CIFAR_ANALYSES)
or a chapter's (chapter2, chapter3, chapter6, chapter8, with the chapter's settings; None: its default). An analysis
whose snapshot does not exist yet is waiting; a run without a record is listed with its command. A chapter calls
`require` before it reads through STORED: a missing analysis stops it with the command that makes it."""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field

from . import grid, runner, theorem2
from .checkpoints import CHECKPOINT_FRACTIONS, checkpoint_path
from .config import RunConfig
from .curvature import split_record
from .results import MissingRecordError
from .runs import analyse_command, train_command
from .spectra import (AVERAGE, ESTIMATOR_ITERS, ESTIMATOR_PROBES, IMAGE_SETS, estimator_check, run_spectra,
                      sweep_rows)


class MissingAnalysisError(MissingRecordError):
    """A chapter reads an analysis that is not recorded; the message names the command that computes it."""


@dataclass(frozen=True)
class Source:
    """Where analyses come from: the stored records alone (STORED: a missing one reads as None), or computed where
    missing (Source(compute=True), for a script). No notebook builds one (tests/test_architecture.py)."""
    compute: bool = False

    def spectra(self, record: dict, epoch: int, classes="all", **settings) -> dict | None:
        return run_spectra(record, epoch, classes, compute=self.compute, **settings)

    def sweep_rows(self, runs: dict, **settings) -> list[dict]:
        return sweep_rows(runs, compute=self.compute, **settings)

    def estimator_rows(self, records: dict, classes, **settings) -> list[dict]:
        return estimator_check(records, classes, compute=self.compute, **settings)

    def split(self, record: dict, **settings) -> dict | None:
        return split_record(record, compute=self.compute, **settings)

    def check3(self, scale: str, rhos, seed: int = 0, **effort) -> dict | None:
        return theorem2.check3(scale, rhos, seed, compute=self.compute, **effort)


STORED = Source()


@dataclass(frozen=True)
class Analysis:
    """One analysis of one run: spectra of `classes`, the G/R split of the tail, or check 3 of Theorem 2."""
    kind: str  # "spectra", "split" or "check3"
    run: dict  # the run's record
    epoch: int
    classes: object  # "all", a list of class indices, or None (the split: the tail)
    iters: int
    seed: int  # the Lanczos probe's (check 3: also its minibatches')
    max_per_class: int | None = None
    extra: dict = field(default_factory=dict)  # check 3: rhos, n_batches, batch_size; spectra: images

    @property
    def name(self) -> str:
        what = {"split": "G/R split of the tail",
                "check3": f"check 3 of Theorem 2 (radii {self.extra.get('rhos')}, {self.extra.get('n_batches')} "
                          f"minibatches of {self.extra.get('batch_size')})"}.get(
            self.kind, f"spectra of classes {self.classes}"
                       + (f" on the {self.extra['images']} images" if "images" in self.extra else ""))
        per_class = f", {self.max_per_class} images per class" if self.max_per_class is not None else ""
        return f"{self.run['id']} epoch {self.epoch}: {what} ({self.iters} steps, probe {self.seed}{per_class})"

    def compute(self, compute: bool = True, data_root=None) -> dict | None:
        """The analysis record: read, or computed and written (compute=False: None where missing)."""
        if self.kind == "split":
            return split_record(self.run, self.epoch, iters=self.iters, seed=self.seed, compute=compute)
        if self.kind == "check3":
            return theorem2.get_or_check_trained(self.run, self.epoch, self.extra["rhos"], self.classes,
                                                 self.extra["n_batches"], self.extra["batch_size"], self.iters,
                                                 self.seed, data_root=data_root, compute=compute, progress=False)
        return run_spectra(self.run, self.epoch, self.classes, iters=self.iters, seed=self.seed,
                           max_per_class=self.max_per_class, compute=compute, progress=False, data_root=data_root,
                           images=self.extra.get("images", "train"))


def cifar_plan(records: dict[str, dict | None], plan: dict = grid.CIFAR_ANALYSES) -> list[Analysis]:
    """grid.CIFAR_ANALYSES for the recorded runs of cifar10-headline, in its order of priority."""
    runs = [r for r in records.values() if r is not None and r["status"] == "complete"]
    settings = dict(iters=plan["iters"], max_per_class=plan["max_per_class"])
    out = [Analysis("spectra", r, r["config"]["epochs"], "all", seed=r["config"]["seed"], **settings) for r in runs]
    out += [Analysis("split", r, r["config"]["epochs"], None, plan["iters"], r["config"]["seed"]) for r in runs]
    out += [Analysis("spectra", r, e, list(plan["fig3_classes"]), seed=r["config"]["seed"], **settings)
            for r in runs if r["config"]["seed"] in plan["fig3_seeds"] for e in plan["fig3_epochs"]]
    method, seed = plan["estimator_run"]
    for r in runs:
        if r["label"] == method and r["config"]["seed"] == seed:
            out += [Analysis("spectra", r, r["config"]["epochs"], [plan["estimator_class"]], steps, probe,
                             plan["max_per_class"]) for steps in ESTIMATOR_ITERS for probe in ESTIMATOR_PROBES]
    return out


def tail_spectra(records: dict, iters: int, max_per_class: int | None) -> list[Analysis]:
    """The tail classes' spectra at the last epoch of each complete run, the probe seeded by the run's seed."""
    return [Analysis("spectra", r, r["config"]["epochs"], r["groups"]["tail"], iters, r["config"]["seed"],
                     max_per_class) for r in records.values() if r is not None and r.get("status") == "complete"]


def unrecorded(records: dict, configs) -> list[RunConfig]:
    return [c for c in runner.unique(configs) if records[c.run_id] is None]


def cifar10_headline() -> tuple[list[Analysis], list[RunConfig]]:
    """grid.CIFAR_ANALYSES for the recorded runs of cifar10-headline (runs not trained yet: `grid` trains them)."""
    return cifar_plan(runner.records(grid.GRIDS["cifar10-headline"]())), []


def chapter3(scale: str = "cpu", table5_rhos=None, seeds=None) -> tuple[list[Analysis], list[RunConfig]]:
    """Chapter 3's check 3 at `scale` (theorem2.check3_config's run), probes seeded by the chapter's first seed."""
    rhos, seeds = resolve("chapter3", scale, table5_rhos=table5_rhos, seeds=seeds)
    seed = seeds[0]
    config = theorem2.check3_config(scale)
    record = runner.records([config])[config.run_id]
    if record is None:
        return [], [config]
    effort = theorem2.check3_effort(scale)
    return [Analysis("check3", record, config.epochs, record["groups"]["tail"], effort["iters"], seed,
                     extra=dict(rhos=rhos, n_batches=effort["n_batches"], batch_size=effort["batch_size"]))], []


def chapter6(scale: str = "cpu", seeds=None, rhos=None, dataset_names=None, iters=None, max_per_class=None
             ) -> tuple[list[Analysis], list[RunConfig]]:
    """Chapter 6's tail spectra: Fig. 4's radius sweep on its first data set, and the CE+DRW(+SAM) tuning runs."""
    seeds, rhos, dataset_names, iters, max_per_class = resolve(
        "chapter6", scale, seeds=seeds, rhos=rhos, dataset_names=dataset_names, iters=iters, max_per_class=max_per_class)
    sweep = [c for c in grid.figure4(scale, seeds, rhos, dataset_names) if c.dataset == dataset_names[0]]
    configs = runner.unique(sweep + list(grid.tuning_sweep(scale, dataset_names[0]).values()))
    records = runner.records(configs)
    return tail_spectra(records, iters, max_per_class), unrecorded(records, configs)


FOLLOWUP_CURVATURE_METHODS = ("CE+DRW", "CE+DRW+SAM") + grid.FOLLOWUP_METHODS  # chapter 8's, in its order


def chapter8(scale: str = "cpu", seeds=None, iters=None, max_per_class=None) -> tuple[list[Analysis], list[RunConfig]]:
    """Chapter 8's tail spectra: CE+DRW and the SAM methods at their tuned radii on the validated seeds."""
    seeds, iters, max_per_class = resolve("chapter8", scale, seeds=seeds, iters=iters, max_per_class=max_per_class)
    dataset = grid.datasets(scale)[0]
    configs = []
    for method in FOLLOWUP_CURVATURE_METHODS:
        rho = None if "SAM" not in method else grid.tuned_rho(method, scale, dataset=dataset)
        if "SAM" not in method or rho is not None:  # a SAM method whose tuning is not recorded: no run yet
            configs += [grid.protocol_config(method, scale, seed=s, rho=rho, dataset=dataset) for s in seeds]
    records = runner.records(configs)
    return tail_spectra(records, iters, max_per_class), unrecorded(records, configs)


CHAPTER2_EPOCHS = CHECKPOINT_FRACTIONS  # Fig. 3's epochs of 200 (book/02_saddle_points.ipynb's `epochs`)


def chapter2_settings(scale: str = "cpu", protocol=None, rho=None, rho_sweep=None, sweep_seeds=None, seeds=None,
                      iters=None, max_per_class=None, epochs=None) -> dict:
    """Chapter 2's parameters with None resolved by protocol and scale (the one place they are): the validated
    protocol plots its evaluation seeds and sweeps its tuning plan (grid.tuning_plan), the paper protocol plots
    seeds 0-2 and sweeps Fig. 4's radii; rho is CE+DRW+SAM's radius under the protocol (None: not tuned yet)."""
    protocol = protocol or "validated"
    validated = protocol == "validated"
    d = grid.chapter_defaults(scale)
    seeds = list(d["validated_seeds" if validated else "seeds"] if seeds is None else seeds)
    smoke = scale == "smoke"
    plan_rhos, plan_seeds = grid.tuning_plan("CE+DRW+SAM", scale)
    return {"protocol": protocol, "seeds": seeds,
            "sweep_seeds": list(sweep_seeds or ([10 if validated else 0] if smoke else plan_seeds if validated
                                                else seeds)),
            "rho_sweep": list(rho_sweep or ([0.5] if smoke else plan_rhos if validated
                                            else [r for r in grid.FIGURE4_RHOS if r])),
            "rho": rho or grid.protocol_rho("CE+DRW+SAM", scale, protocol),
            "iters": d["iters"] if iters is None else iters,
            "max_per_class": d["max_per_class"] if max_per_class is None else max_per_class,
            "epochs": list(epochs or CHAPTER2_EPOCHS)}


def chapter2_pair(scale: str, protocol: str, seed: int, rho: float) -> tuple:
    """The (method, config) pair chapter 2 compares on one seed: CE+DRW, and CE+DRW+SAM at `rho`."""
    return (("CE+DRW", grid.chapter_config("CE+DRW", scale, protocol, seed)),
            ("CE+DRW+SAM", grid.chapter_config("CE+DRW+SAM", scale, protocol, seed, rho)))


def chapter2_sweep(scale: str, protocol: str, seeds, rhos) -> dict:
    """{(rho, seed): config} of Fig. 3 C's radius sweep: CE+DRW at rho 0, CE+DRW+SAM at each of `rhos`."""
    return {(r, s): grid.chapter_config("CE+DRW+SAM", scale, protocol, s, r) if r else
            grid.chapter_config("CE+DRW", scale, protocol, s) for s in seeds for r in (0.0, *rhos)}


def chapter2_comparisons(scale: str, protocol: str, seed: int) -> list[RunConfig]:
    """Chapter 2's side comparisons where the scale trains them (not the regime scale): plain CE, LDAM+DRW and
    LDAM+DRW+SAM at its radius under the protocol (once tuned)."""
    if scale == grid.REGIME_SCALE:
        return []
    configs = [grid.chapter_config(m, scale, protocol, seed) for m in ("CE", "LDAM+DRW")]
    ldam_rho = grid.protocol_rho("LDAM+DRW+SAM", scale, protocol)
    if ldam_rho is not None:
        configs.append(grid.chapter_config("LDAM+DRW+SAM", scale, protocol, seed, ldam_rho))
    return configs


def chapter2(scale: str = "cpu", protocol=None, rho=None, rho_sweep=None, sweep_seeds=None, seeds=None, iters=None,
             max_per_class=None, epochs=None) -> tuple[list[Analysis], list[RunConfig]]:
    """Chapter 2's analyses: its pair's spectra (all classes over Fig. 3's epochs, the average loss, the tail on
    its training and test images, each seed's all-class and tail spectra, the best-validation checkpoint's where
    kept), Fig. 3 C's sweep, the CE and LDAM comparisons, the G/R splits and the estimator check."""
    p = chapter2_settings(scale, protocol, rho, rho_sweep, sweep_seeds, seeds, iters, max_per_class, epochs)
    protocol, seeds, iters, max_per_class, rho = p["protocol"], p["seeds"], p["iters"], p["max_per_class"], p["rho"]
    if rho is None:
        return [], []  # CE+DRW+SAM not tuned yet: the chapter stops on that first
    seed = seeds[0]
    pairs = {s: dict(chapter2_pair(scale, protocol, s, rho)) for s in seeds}
    sweep = chapter2_sweep(scale, protocol, p["sweep_seeds"], p["rho_sweep"])
    comparisons = chapter2_comparisons(scale, protocol, seed)
    mechanism = chapter2_sweep(scale, "validated", seeds, sorted({rho, grid.MECHANISM_RHO}))  # the splits' runs
    needed = [*pairs[seed].values(), *sweep.values(), *comparisons]  # what the chapter trains where missing
    records = runner.records(runner.unique([c for pair in pairs.values() for c in pair.values()] + needed
                                           + list(mechanism.values())))
    if records[pairs[seed]["CE+DRW"].run_id] is None:
        return [], unrecorded(records, needed)

    def spectra(config, epoch, classes, probe, steps=iters, images=None, per_class=max_per_class):
        return Analysis("spectra", records[config.run_id], epoch, classes, steps, probe, per_class,
                        {} if images in (None, "train") else {"images": images})  # train: the plain record

    tail = records[pairs[seed]["CE+DRW"].run_id]["groups"]["tail"]
    last = pairs[seed]["CE+DRW"].epochs
    out = []
    for config in pairs[seed].values():  # the plotted seed: Figs. 2, 3 A/B and 6, the images check
        if records[config.run_id] is not None:
            out += [spectra(config, e, "all", seed) for e in sorted({max(1, round(e * last / 200))
                                                                     for e in p["epochs"]} | {last})]
            out += [spectra(config, last, [AVERAGE], seed)]
            out += [spectra(config, last, list(tail), seed, images=i) for i in IMAGE_SETS]
    for s in seeds:  # the group claims, seed by seed, and the best-validation checkpoint
        for config in pairs[s].values():
            record = records[config.run_id]
            if record is None:
                continue
            out += [spectra(config, last, "all", s), spectra(config, last, list(tail), s)]
            best = record.get("metrics", {}).get("best_val", {}).get("epoch")
            if best is not None and best != config.epochs:
                try:
                    checkpoint_path(config.run_id, best)
                except FileNotFoundError:  # trained before the best-validation snapshot was kept
                    continue
                out += [spectra(config, best, list(tail), s)]
    out += [spectra(c, c.epochs, records[c.run_id]["groups"]["tail"], s) for (_, s), c in sweep.items()
            if (records[c.run_id] or {}).get("status") == "complete"]
    out += [spectra(c, last, "all", seed) for c in comparisons if records[c.run_id] is not None]
    out += [Analysis("split", records[c.run_id], c.epochs, None, iters, s) for (_, s), c in mechanism.items()
            if records[c.run_id] is not None]
    steps = (iters, 2 * iters) if scale == "smoke" else ESTIMATOR_ITERS
    for r in sorted({0.0, rho, grid.MECHANISM_RHO}):
        config = mechanism[(r, seed)]
        if records[config.run_id] is not None:
            out += [spectra(config, config.epochs, list(tail), probe, n, per_class=None)
                    for n in steps for probe in ESTIMATOR_PROBES]
    return list({a.name: a for a in reversed(out)}.values())[::-1], unrecorded(records, needed)


# plan name -> a function of the plan's settings (keyword arguments, None: the default) returning its analyses of
# the recorded runs and the runs it needs that have no record yet.
PLANS = {"cifar10-headline": cifar10_headline, "chapter2": chapter2, "chapter3": chapter3, "chapter6": chapter6,
         "chapter8": chapter8}


def settings_of(plan: str) -> tuple[str, ...]:
    """The settings a plan takes (its function's keyword arguments), scale first where it has one."""
    check_plan(plan)
    return tuple(inspect.signature(PLANS[plan]).parameters)


def check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise ValueError(f"no declared analyses for {plan!r}; accepted: {', '.join(PLANS)}")


def make_plan(plan: str, **settings) -> tuple[list[Analysis], list[RunConfig]]:
    """The plan's analyses and the runs it waits for, with `settings` (None: the plan's default)."""
    check_plan(plan)
    accepted = settings_of(plan)
    unknown = [k for k, v in settings.items() if v is not None and k not in accepted]
    if unknown:
        takes = ", ".join(f"--{k.replace('_', '-')}" for k in accepted) or "no settings"
        raise ValueError(f"analyse {plan} takes {takes}; not {', '.join('--' + k.replace('_', '-') for k in unknown)}")
    return PLANS[plan](**{k: v for k, v in settings.items() if v is not None})


def command(plan: str, scale: str | None = None, data_root=None, **settings) -> str:
    """The `python -m saddle analyse` line of `plan` with each setting that differs from its default."""
    check_plan(plan)
    accepted = settings_of(plan)
    unknown = [name for name in settings if name not in accepted or name == "scale"]
    if unknown:
        raise ValueError(f"analyse {plan} has no setting {', '.join(unknown)}; it takes {', '.join(accepted)}")
    if plan == "chapter3" and settings.get("seeds"):
        settings["seeds"] = list(settings["seeds"])[:1]  # the probe seed: the chapter's first
    scale = scale or ("cpu" if "scale" in accepted else None)
    defaults = default_settings(plan, scale, settings.get("protocol"))
    plain = lambda v: list(v) if isinstance(v, tuple) else v  # a tuple and a list of the same values are the same
    options = {name: value for name, value in settings.items()
               if value is not None and plain(value) != plain(defaults.get(name))}
    if data_root is not None:
        options["data_root"] = data_root
    return analyse_command(plan, scale, **options)


def default_settings(plan: str, scale: str | None, protocol: str | None = None) -> dict:
    """What a plan's settings resolve to where left None (the chapters' defaults at `scale`; chapter 2's also
    depend on its protocol)."""
    if plan == "chapter2":  # the other settings' defaults under `protocol`; the protocol's own: validated
        return {**chapter2_settings(scale, protocol), "protocol": "validated"} if scale is not None else {}
    if plan == "chapter3":
        return {"table5_rhos": list(theorem2.TABLE5_RHOS), "seeds": [0]}
    if scale is None:
        return {}
    d = grid.chapter_defaults(scale)
    return {"seeds": d["validated_seeds"] if plan == "chapter8" else d["seeds"],
            **{k: d[k] for k in ("rhos", "dataset_names", "iters", "max_per_class")}}


def resolve(plan: str, scale: str, **given) -> tuple:
    """The given settings in order, None replaced by the plan's default at `scale`."""
    defaults = default_settings(plan, scale)
    return tuple(defaults[k] if v is None else v for k, v in given.items())


def snapshot_ready(analysis: Analysis, cache=None) -> bool:
    """Whether the snapshot the analysis reads exists (the cache's, or the committed one)."""
    try:
        return checkpoint_path(RunConfig.from_dict(analysis.run["config"]).run_id, analysis.epoch, cache).exists()
    except FileNotFoundError:
        return False


def status(plan: str, cache=None, **settings) -> dict:
    """A plan's analyses by state, computing nothing: 'present', 'missing' (snapshot there), 'waiting' (no
    snapshot), and the 'unrecorded' runs it needs."""
    analyses, runs = make_plan(plan, **settings)
    out = {"present": [], "missing": [], "waiting": [], "unrecorded": runs}
    for analysis in analyses:
        key = ("present" if analysis.compute(compute=False) is not None else
               "missing" if snapshot_ready(analysis, cache) else "waiting")
        out[key].append(analysis)
    return out


def require(plan: str, *, cache=None, data_root=None, **settings) -> dict:
    """What a chapter calls before it reads: the plan's status, or MissingAnalysisError naming the command that
    computes what is missing. Waiting analyses and unrecorded runs do not stop it; the chapter leaves them out."""
    found = status(plan, cache, **settings)
    if found["missing"]:
        n = len(found["missing"])
        names = "; ".join(a.name for a in found["missing"][:3]) + ("; ..." if n > 3 else "")
        raise MissingAnalysisError(
            f"{n} of the {len(found['present']) + n + len(found['waiting'])} analyses this chapter reads "
            f"{'is' if n == 1 else 'are'} not recorded ({names}). Compute {'it' if n == 1 else 'them'} with: "
            f"{command(plan, data_root=data_root, **settings)}   (then run the chapter again)")
    return found


def run(plan: str, *, list_only: bool = False, cache=None, data_root=None, log=print, **settings) -> dict:
    """Compute every missing analysis of `plan` whose snapshot exists (list_only: only say what is there); returns
    counts of 'present', 'computed', 'waiting' and 'unrecorded'."""
    analyses, runs = make_plan(plan, **settings)
    counts = {"present": 0, "computed": 0, "waiting": 0, "unrecorded": len(runs)}
    for config in runs:
        log(f"no run   {config.run_id} ({config.label}, seed {config.seed}): train it with {train_command(config)}")
    for analysis in analyses:
        if analysis.compute(compute=False) is not None:
            counts["present"] += 1
            log(f"done     {analysis.name}")
        elif not snapshot_ready(analysis, cache):
            counts["waiting"] += 1
            log(f"waiting  {analysis.name}: no snapshot at epoch {analysis.epoch} yet")
        elif list_only:
            log(f"missing  {analysis.name}")
        else:
            started = time.time()
            analysis.compute(data_root=data_root)
            counts["computed"] += 1
            log(f"computed {analysis.name} in {time.time() - started:.0f} s")
    log(f"{len(analyses)} {'analysis' if len(analyses) == 1 else 'analyses'}: {counts['present']} recorded, {counts['computed']} computed now, "
        f"{counts['waiting']} waiting for their snapshot"
        + (f"; {len(runs)} runs without a record (their analyses are not listed)" if runs else ""))
    return counts
