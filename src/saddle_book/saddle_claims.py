"""Chapter 2's reading of class spectra: is the tail at a saddle, and does SAM move it off?

Each function takes spectra records (spectra.run_spectra's dicts) or tables built from them and returns what
the chapter shows: panels, tables, the texts it glues, and claims as (key, text, {seed: difference}, kind) for
rule.Verdicts to judge by the one rule. Claims about a group average over the whole group on every seed
that has its spectra; a claim measured on one seed only is scored as not tested."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from saddle import grid, optim

from . import book, catalog, mechanism, rule
from saddle.hessian import Spectrum
from saddle.analyse import STORED, Source
from saddle.spectra import AVERAGE, ESTIMATOR_ITERS, IMAGE_SETS, spectra_rows
from saddle.results import find_record
from saddle.runs import train_command


def stat(result: dict, c, key: str) -> float:
    """One spectral statistic (lambda_min, lambda_max or ratio) of class `c` (or AVERAGE) in a spectra record."""
    return getattr(Spectrum.from_dict(result["spectra"][str(c)]), key)


def group_stat(result: dict, members, key: str) -> float:
    """Mean of a spectral statistic over a group's classes."""
    return sum(stat(result, c, key) for c in members) / len(members)


def per_seed(spectra_by_seed: dict, fn) -> dict:
    """seed -> fn(that seed's spectra), for the seeds where fn has what it needs (a missing record is None)."""
    out = {}
    for s, got in spectra_by_seed.items():
        try:
            out[s] = fn(got)
        except (TypeError, KeyError):  # spectra missing for this seed
            pass
    return out


@dataclass
class Estimator:
    """The chapter's Lanczos settings, the seed it plots and where its spectra come from (`source`, chosen by the
    notebook: the stored records, or computed where missing): spectra are computed for the plotted seed's runs only;
    other seeds enter where their spectra records already exist."""
    iters: int
    max_per_class: int | None
    seed: int
    source: Source = STORED

    def of(self, record: dict, epoch: int, which="all", seed: int | None = None, stored_only: bool = False,
           **settings) -> dict | None:
        """A run's spectra at `epoch` (probe vectors seeded by `seed`, default the plotted one); stored_only: read
        the stored record whatever the source (None where missing)."""
        return (STORED if stored_only else self.source).spectra(
            record, epoch, which, iters=self.iters, seed=self.seed if seed is None else seed,
            max_per_class=self.max_per_class, **settings)

    def of_seed(self, config, epoch: int, which="all") -> dict | None:
        """Spectra of `config`'s recorded run (None where it is not trained): from the source if it is the plotted
        seed, else read where stored."""
        record = find_record(config)
        plotted = config.seed == self.seed
        return None if record is None else self.of(record, epoch, which, seed=config.seed, stored_only=not plotted)

    def per_seed(self, scale: str, protocol: str, seeds, rho: float, epoch: int, tail) -> dict:
        """seed -> method -> {'all': every class's spectra, 'tail': the `tail` classes'} for CE+DRW and CE+DRW+SAM
        at `rho` (None where a seed's run or its spectra are not recorded): what the group claims pair by seed."""
        return {s: {m: {"all": self.of_seed(config, epoch), "tail": self.of_seed(config, epoch, tail)}
                    for m, config in _pair(scale, protocol, s, rho)} for s in seeds}

    def recorded(self, scale: str, protocol: str, seeds, rho: float, epoch: int, tail) -> dict:
        """per_seed from the records that exist, for every seed alike: nothing trained or computed."""
        def read(config, which):
            record = find_record(config)
            return None if record is None else self.of(record, epoch, which, seed=config.seed, stored_only=True)
        return {s: {m: {"all": read(config, "all"), "tail": read(config, tail)}
                    for m, config in _pair(scale, protocol, s, rho)} for s in seeds}


def _pair(scale: str, protocol: str, seed: int, rho: float) -> tuple:
    """The (method, config) pair chapter 2 compares on one seed: CE+DRW, and CE+DRW+SAM at `rho`."""
    return (("CE+DRW", grid.chapter_config("CE+DRW", scale, protocol, seed)),
            ("CE+DRW+SAM", grid.chapter_config("CE+DRW+SAM", scale, protocol, seed, rho)))


def seeds_with_spectra(per_seed: dict, which: str = "all") -> str:
    """The seeds of Estimator.per_seed whose two runs both have `which` spectra, for prose ('none' if no seed)."""
    return ", ".join(str(s) for s, runs in per_seed.items()
                     if all(runs[m][which] is not None for m in ("CE+DRW", "CE+DRW+SAM"))) or "none"


def resolve_parameters(scale: str, protocol: str, rho, rho_sweep, sweep_seeds, seeds, iters, max_per_class,
                       source: Source = STORED) -> tuple:
    """Chapter 2's parameters checked, with None resolved by protocol and scale: (seeds, sweep_seeds, rho_sweep, rho,
    estimator). The validated protocol plots its evaluation seeds and sweeps its tuning plan (grid.tuning_plan: the
    regime scale's is shorter); the paper protocol plots seeds 0-2 and sweeps Fig. 4's radii; rho is CE+DRW+SAM's
    radius under the protocol. Besides the book's scales the chapter reads the regime scale, where only the
    validated protocol is trained. `source`: where the estimator's spectra come from (the notebook's choice)."""
    from .book import BOOK_SCALES, chapter_settings as resolve, check_parameters
    from saddle.checks import check_choice
    scales = (*BOOK_SCALES, grid.REGIME_SCALE)
    check_choice("protocol", protocol, ("validated", "paper"))
    check_parameters(scale, rho=rho, seeds=seeds, scales=scales)
    check_parameters(scale, seeds=sweep_seeds, scales=scales)
    for r in rho_sweep or ():
        check_parameters(scale, rho=r, scales=scales)
    validated = protocol == "validated"
    if scale == grid.REGIME_SCALE and not validated:
        raise ValueError(f"protocol 'paper' has no runs at scale {scale}, which trains the validated protocol only "
                         "(grid mechanism-regime); accepted there: protocol 'validated'")
    seeds, iters, max_per_class = resolve(scale, **{"validated_seeds" if validated else "seeds": seeds}, iters=iters,
                                          max_per_class=max_per_class)
    smoke = scale == "smoke"
    plan_rhos, plan_seeds = grid.tuning_plan("CE+DRW+SAM", scale)
    sweep_seeds = sweep_seeds or ([10 if validated else 0] if smoke else list(plan_seeds) if validated else seeds)
    rho_sweep = rho_sweep or ([0.5] if smoke else list(plan_rhos) if validated
                              else [r for r in grid.FIGURE4_RHOS if r])
    rho = rho or grid.protocol_rho("CE+DRW+SAM", scale, protocol)
    if rho is None:
        raise ValueError(f"CE+DRW+SAM's radius is not tuned yet at scale {scale}; train its tuning grid with "
                         f"python -m saddle grid {'regime-tune' if scale == grid.REGIME_SCALE else 'tune'} "
                         f"--methods CE+DRW+SAM --scale {scale}, or pass -p rho")
    return seeds, sweep_seeds, rho_sweep, rho, Estimator(iters, max_per_class, seeds[0], source)


LT_NAMES = {"fashion-mnist": "Fashion-MNIST-LT", "cifar10": "CIFAR-10-LT", "cifar100": "CIFAR-100-LT"}


def scale_words(scale: str) -> str:
    """The data and scale a chapter-2 caption names, e.g. 'Fashion-MNIST-LT, cpu scale'; the regime scale says
    what it is (its network and head size)."""
    from saddle.config import SCALES
    settings = SCALES[scale]
    data = LT_NAMES.get(settings["dataset"], settings["dataset"])
    if scale == grid.REGIME_SCALE:
        return f"{data}, {scale} scale (ResNet-8, {settings['n_max']:,}-image head)"
    return f"{data}, {scale} scale"


def protocol_words(protocol: str) -> str:
    """The runs a chapter-2 protocol names, for its prose."""
    return ("the validated protocol (validation split, a new subset per seed, rho tuned on validation)"
            if protocol == "validated" else "the paper's protocol (subset 0, Table 5's rho, no validation split)")


def sweep_configs(scale: str, protocol: str, seeds, rhos) -> dict:
    """{(rho, seed): config} of Fig. 3 C's radius sweep: CE+DRW at rho 0, CE+DRW+SAM at each of `rhos`."""
    return {(r, s): grid.chapter_config("CE+DRW+SAM", scale, protocol, s, r) if r else
            grid.chapter_config("CE+DRW", scale, protocol, s) for s in seeds for r in (0.0, *rhos)}


def sweep_records(scale: str, protocol: str, seeds, rhos) -> dict:
    """{(rho, seed): record, None where not trained} of Fig. 3 C's radius sweep (sweep_configs)."""
    return {key: find_record(config) for key, config in sweep_configs(scale, protocol, seeds, rhos).items()}


def chapter_configs(scale: str, protocol: str, seed: int, rho: float, sweep_seeds, rho_sweep) -> list:
    """Every run chapter 2 reads and trains where missing (the notebook's one call to runner.records): the plotted
    seed's CE+DRW and CE+DRW+SAM at `rho`, Fig. 3 C's sweep and, where the scale trains them, plain CE, LDAM+DRW
    and LDAM+DRW+SAM at its tuned radius (the other seeds enter where recorded)."""
    configs = [config for _, config in _pair(scale, protocol, seed, rho)]
    configs += list(sweep_configs(scale, protocol, sweep_seeds, rho_sweep).values())
    if comparisons_trained(scale):
        configs += [grid.chapter_config(m, scale, protocol, seed) for m in ("CE", "LDAM+DRW")]
        ldam_rho = grid.protocol_rho("LDAM+DRW+SAM", scale, protocol)
        if ldam_rho is not None:
            configs.append(grid.chapter_config("LDAM+DRW+SAM", scale, protocol, seed, ldam_rho))
    return configs


def check_classes(n_classes: int, *classes) -> None:
    """Fail, naming the class and the accepted range, when a chapter parameter names a class the data lacks."""
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
            raise ValueError(f"class {c!r} out of range; accepted: 0..{n_classes - 1}")


def fig2_panels(records: dict, final: dict, average: dict, head_class: int, tail_class: int) -> dict:
    """Fig. 2's panels: per method the average loss's spectrum, then the head and tail class's."""
    panels = {}
    for name, record in records.items():
        classes = record["class_names"]
        panels[f"{name}: average loss"] = Spectrum.from_dict(average[name]["spectra"][AVERAGE])
        for c in (head_class, tail_class):
            acc = record["metrics"]["final"]["per_class"][c]
            panels[f"{name}: class {c} {classes[c]} | test {acc:.0f}%"] = Spectrum.from_dict(
                final[name]["spectra"][str(c)])
    return panels


def fig6_panels(records: dict, final: dict, classes) -> dict:
    """Fig. 6's panels: per method the spectrum of each of `classes`, titled with its group."""
    owner = group_of(records["CE+DRW"])
    names = records["CE+DRW"]["class_names"]
    return {f"{name}: class {c} {names[c]} ({owner[c]})": Spectrum.from_dict(final[name]["spectra"][str(c)])
            for name in records for c in classes}


def group_of(record: dict) -> dict:
    """class -> 'head' | 'mid' | 'tail'."""
    return {c: g for g in ("head", "mid", "tail") for c in record["groups"].get(g, [])}


def at_point(final: dict, records: dict) -> pd.DataFrame:
    """Per method and class at the analysed point: lambda_min beside the class loss and its gradient norm (None
    where the spectra record predates them)."""
    rows = []
    for name, result in final.items():
        classes, owner = records[name]["class_names"], group_of(records[name])
        stored = result.get("at_point")
        for c in range(len(classes)):
            rows.append({"method": name, "class": f"{c} {classes[c]}", "group": owner[c],
                         "lambda_min": stat(result, c, "lambda_min"),
                         "loss": stored[str(c)]["loss"] if stored else None,
                         "gradient norm": stored[str(c)]["grad_norm"] if stored else None})
    return pd.DataFrame(rows)


def train_and_test_images(records: dict, estimator: Estimator, epoch: int, tail, **kwargs) -> pd.DataFrame:
    """Each tail class's loss over its training images and over its test images, per method at `epoch`: lambda_min,
    lambda_max, the loss and its gradient norm side by side (runs whose spectra the source lacks: left out).
    Negative curvature on the training images alone marks images the network memorised; on both, the class."""
    rows = []
    for name, record in records.items():
        for images in IMAGE_SETS:
            result = estimator.of(record, epoch, list(tail), images=images, **kwargs)
            for key, stored in (result or {}).get("spectra", {}).items():
                spectrum, point = Spectrum.from_dict(stored), result["at_point"][key]
                rows.append({"method": name, "class": f"{key} {result['class_names'][int(key)]}", "images": images,
                             "lambda_min": spectrum.lambda_min, "lambda_max": spectrum.lambda_max,
                             "loss": point["loss"], "gradient norm": point["grad_norm"]})
    return pd.DataFrame(rows)


def checkpoint_rows(scale: str, protocol: str, seeds, rho: float, estimator: Estimator, tail) -> pd.DataFrame:
    """The tail group's mean lambda_min at the last epoch and at the best-validation checkpoint (the one the paper
    analysed), per seed and method of chapter 2's pair, where the run kept that snapshot (only runs trained from
    2026-12-04 on keep it) and the two epochs differ; the spectra from the estimator's source."""
    from saddle.checkpoints import checkpoint_path
    rows = []
    for seed in seeds:
        for method, config in _pair(scale, protocol, seed, rho):
            record = find_record(config)
            best = (record or {}).get("metrics", {}).get("best_val", {}).get("epoch")
            if best is None or best == config.epochs:
                continue
            try:
                checkpoint_path(config.run_id, best)
            except FileNotFoundError:  # trained before the best-validation snapshot was kept
                continue
            lam = {}
            for which, epoch in (("final", config.epochs), ("best_val", best)):
                result = estimator.of(record, epoch, list(tail), seed=seed)
                lam[which] = None if result is None else group_stat(result, tail, "lambda_min")
            rows.append({"seed": seed, "method": method, "best-validation epoch": best,
                         "DRW on": optim.drw_active(best - 1, config.epochs, config.drw_epoch),
                         "lambda_min, last epoch": lam["final"], "lambda_min, best validation": lam["best_val"],
                         "tail test acc, last": record["metrics"]["final"]["tail"],
                         "tail test acc, best validation": record["metrics"]["best_val"]["tail"]})
    return pd.DataFrame(rows)


def checkpoint_sentence(rows: pd.DataFrame) -> str:
    """What checkpoint_rows shows, run by run: the tail's lambda_min at the best-validation checkpoint against the
    last epoch's (methods can move in opposite directions, so no average over them)."""
    measured = rows.dropna(subset=["lambda_min, best validation", "lambda_min, last epoch"]) if len(rows) else rows
    if measured.empty:
        return ("No run here has a best-validation snapshot apart from its last epoch with its tail spectra: the "
                "chapter's spectra are the last epoch's.")
    return "Tail lambda_min at the best-validation checkpoint against the last epoch: " + "; ".join(
        f"seed {r['seed']} {r['method']} (epoch {r['best-validation epoch']}"
        f"{'' if r.get('DRW on', True) else ', before DRW switches on'}) {r['lambda_min, best validation']:.3g} "
        f"against {r['lambda_min, last epoch']:.3g}" for _, r in measured.iterrows()) + "."


def _direction(value: float, reference: float) -> str:
    """'more negative' / 'less negative' where both are below zero, else 'higher' / 'lower'."""
    if value < 0 and reference < 0:
        return "more negative" if value < reference else "less negative"
    return "higher" if value > reference else "lower"


def images_sentence(rows: pd.DataFrame) -> str:
    """What train_and_test_images shows, per method with both image sets: the tail's mean lambda_min and loss on test
    against training images, and which way lambda_min moves; the methods without test-image spectra are named."""
    both = [m for m in dict.fromkeys(rows.get("method", [])) if rows[rows["method"] == m]["images"].nunique() == 2]
    if not both:
        return "The tail's spectra on its test images are not computed at this scale yet."
    means = rows.groupby(["method", "images"])[["lambda_min", "loss"]].mean()
    parts = []
    for method in both:
        train, test = means.loc[(method, "train")], means.loc[(method, "test")]
        parts.append(f"{method}: lambda_min {test['lambda_min']:.3g} on test images against {train['lambda_min']:.3g} "
                     f"on training images ({_direction(test['lambda_min'], train['lambda_min'])}), "
                     f"loss {test['loss']:.3g} against {train['loss']:.3g}")
    missing = [m for m in dict.fromkeys(rows["method"]) if m not in both]
    return ("Means over the tail classes. " + "; ".join(parts) + "." +
            (f" Not computed on test images yet: {', '.join(missing)}." if missing else ""))


def gradient_sentence(table: pd.DataFrame) -> str:
    """How much steeper the tail's class losses are than the head's at the analysed point, from at_point()."""
    if table["loss"].isna().all():
        return "These spectra records carry no gradient norms yet."
    norm = table.groupby(["method", "group"])["gradient norm"].mean()
    methods = list(dict.fromkeys(table["method"]))
    steeper = {m: norm[(m, "tail")] / norm[(m, "head")] for m in methods}
    return "The mean gradient norm of the tail group's class losses is " + "; ".join(
        f"{norm[(m, 'tail')]:.3g} against the head group's {norm[(m, 'head')]:.3g} with {m} ({steeper[m]:.1f} times)"
        for m in methods) + (". Each tail class ends on a slope of its own loss (the optimiser follows the "
                             "re-weighted total loss, not the class's): not a stationary point of the class loss, so "
                             "not a saddle of it in the strict sense." if min(steeper.values()) > 2 else ".")


def fig2_texts(final: dict, average: dict, groups: dict, head_class: int, tail_class: int) -> dict:
    """The numbers Fig. 2's discussion quotes: group ratios, and the extremes of the plotted classes and of the
    average loss, per method ('drw' for CE+DRW, 'sam' for CE+DRW+SAM)."""
    texts = {}
    for m, key in (("CE+DRW", "drw"), ("CE+DRW+SAM", "sam")):
        texts[f"{key}_tailgroup_ratio"] = f"{group_stat(final[m], groups['tail'], 'ratio'):.3f}"
        texts[f"{key}_headgroup_ratio"] = f"{group_stat(final[m], groups['head'], 'ratio'):.3f}"
        for c, which in ((tail_class, "tailclass"), (head_class, "headclass"), (AVERAGE, "avg")):
            result = average[m] if c == AVERAGE else final[m]
            texts[f"{key}_{which}_min"] = f"{stat(result, c, 'lambda_min'):.3g}"
            texts[f"{key}_{which}_max"] = f"{stat(result, c, 'lambda_max'):.3g}"
            texts[f"{key}_{which}_ratio"] = f"{stat(result, c, 'ratio'):.3f}"
    return texts


def group_claims(spectra_by_seed: dict, groups: dict, n_classes: int) -> list[tuple]:
    """The paired claims on whole groups, every seed with spectra: spectra_by_seed[seed][method] holds 'all'
    (every class) and 'tail' (tail classes only) spectra records, None where missing."""
    tail, head, every = groups["tail"], groups["head"], list(range(n_classes))

    def change(which, members, key):
        return per_seed(spectra_by_seed, lambda g: group_stat(g["CE+DRW+SAM"][which], members, key)
                        - group_stat(g["CE+DRW"][which], members, key))

    def gradient(result, members):
        return sum(result["at_point"][str(c)]["grad_norm"] for c in members) / len(members)

    return [
        ("tail_saddle", "tail classes end at larger |lambda_min/lambda_max| than head classes (CE+DRW)",
         per_seed(spectra_by_seed, lambda g: group_stat(g["CE+DRW"]["all"], tail, "ratio")
                  - group_stat(g["CE+DRW"]["all"], head, "ratio")), "raises"),
        ("tail_stationary", "the tail classes end with a smaller class gradient norm than the head classes (CE+DRW; "
         "the paper reads a low gradient there as a stationary saddle)",
         per_seed(spectra_by_seed, lambda g: gradient(g["CE+DRW"]["all"], tail) - gradient(g["CE+DRW"]["all"], head)),
         "lowers"),
        ("sam_ratio", "SAM lowers the tail group's |lambda_min/lambda_max|", change("tail", tail, "ratio"), "lowers"),
        ("sam_flatter", "SAM lowers the head group's lambda_max", change("all", head, "lambda_max"), "lowers"),
        ("sam_tail_max", "SAM lowers the tail group's lambda_max", change("tail", tail, "lambda_max"), "lowers"),
        ("sam_tail_min", "SAM raises the tail group's lambda_min (less negative curvature)",
         change("tail", tail, "lambda_min"), "raises"),
        ("sam_shrinks_all", "SAM raises lambda_min toward zero, shrinking |lambda_min| (mean over all classes)",
         change("all", every, "lambda_min"), "raises"),
    ]


def average_claim(final: dict, average: dict, tail, seed: int) -> tuple:
    """The average loss hides the tail's saddle: measured on the plotted seed only."""
    return ("average_hides", "the average loss's |lambda_min/lambda_max| is below the tail group's (CE+DRW)",
            {seed: group_stat(final["CE+DRW"], tail, "ratio") - stat(average["CE+DRW"], AVERAGE, "ratio")}, "raises")


def over_training(by_group: pd.DataFrame, run_epochs, last: int, seed: int) -> tuple[list[tuple], dict]:
    """Fig. 3 A/B: the tail group's ratio before and after DRW starts (80% of training), and SAM against SGD
    at each epoch; `by_group` is the ratio's mean per (method, group) by epoch. Spectra over training exist for the
    plotted seed only, so both claims are one seed's."""
    drw_start = max(e for e in run_epochs if e <= round(0.8 * last))
    after = [e for e in run_epochs if e > drw_start]
    tail = by_group.xs("tail", level="group")
    claims = [("drw_drives", "after DRW starts, the tail group's ratio rises (CE+DRW)",
               {seed: tail.loc["CE+DRW", after].mean() - tail.loc["CE+DRW", drw_start]} if after else {}, "raises"),
              ("sam_lower_throughout", "SAM keeps the tail group's ratio below SGD's at every epoch (largest gap "
               "shown)", {seed: float((tail.loc["CE+DRW+SAM"] - tail.loc["CE+DRW"]).max())}, "lowers")]
    before, later = tail.loc["CE+DRW", drw_start], tail.loc["CE+DRW", after].mean() if after else None
    below = tail.loc["CE+DRW+SAM"] < tail.loc["CE+DRW"]
    texts = {"drw_tail_before": f"{before:.3f}", "drw_tail_after": "n/a" if not after else f"{later:.3f}",
             "drw_start": drw_start, "drw_tail_direction": "n/a" if not after else "falls" if later < before
             else "rises", "sam_below_epochs": f"{int(below.sum())} of {len(below)}"}
    return claims, texts


def radius_sweep(rho_table: pd.DataFrame, sweep_seeds, n_tail: int) -> tuple[tuple, dict]:
    """Fig. 3 C: the largest radius against SGD (rho 0) on the tail group's mean lambda_min, per sweep seed."""
    top = float(rho_table["rho"].max())
    tail_lam = rho_table.groupby(["seed", "rho"])["lambda_min"].mean()  # the tail group's mean, per run
    claim = ("rho_raises", f"rho {top:g} raises the tail group's lambda_min over SGD's",
             {s: tail_lam[(s, top)] - tail_lam[(s, 0.0)] for s in sweep_seeds}, "raises")
    mean_by_rho = rho_table.groupby("rho")["lambda_min"].mean()
    by_class = rho_table.pivot_table(index="rho", columns="class", values="lambda_min")  # mean over the seeds
    raised = int((by_class.loc[top] > by_class.loc[0.0]).sum())
    texts = {"rho_raised_classes": f"{raised} of {n_tail}", "rho_lam_sgd": f"{mean_by_rho.loc[0.0]:.3g}",
             "rho_lam_max": f"{mean_by_rho.loc[top]:.3g}", "rho_max": f"{top:g}",
             "sweep_seeds_text": " and ".join(map(str, sweep_seeds))}
    return claim, texts


def tail_above_head(rows: pd.DataFrame, method: str) -> tuple[float, float]:
    """(tail, head) group means of the ratio of one method in spectra_rows()."""
    by_method = rows.groupby(["method", "group"])["ratio"].mean()
    return by_method.loc[(method, "tail")], by_method.loc[(method, "head")]


def comparisons_trained(scale: str) -> bool:
    """Whether chapter 2's side comparisons, plain CE (Fig. 5) and LDAM+DRW (Fig. 7), have runs at `scale`: the
    regime scale trains its mechanism grid only (grid.mechanism_regime), one run there costing about ten cpu runs."""
    return scale != grid.REGIME_SCALE


def ce_comparison(scale: str, protocol: str, seed: int, estimator: Estimator, records: dict, final: dict,
                  epoch: int) -> dict:
    """Fig. 5's reading: every class's ratio at `epoch` for CE+DRW and CE+DRW+SAM (`records`, their spectra
    `final`) and plain CE where it is trained at this scale; the claim that CE's tail ratio is above its head's, the
    texts chapter 2 glues and a note on what is not trained here (or None)."""
    results = {name: (records[name], final[name]) for name in records}
    note = None
    config = grid.chapter_config("CE", scale, protocol, seed)
    ce = find_record(config) if comparisons_trained(scale) else None
    if ce is not None:
        results["CE"] = ce, estimator.of(ce, epoch)
    elif comparisons_trained(scale):
        note = f"Plain CE has no seed-{seed} run at scale {scale} yet: {train_command(config)}"
    else:
        note = f"Plain CE is not trained at scale {scale}: its grid holds CE+DRW and CE+DRW+SAM only."
    rows = pd.DataFrame([row for name, (record, result) in results.items()
                         for row in spectra_rows(result, record, name)])
    difference, texts = {}, {"ce_sentence": note}
    if "CE" in results:
        tail, head = tail_above_head(rows, "CE")
        difference = {seed: tail - head}
        texts = {"ce_sentence": f"Under plain CE the tail group's mean ratio is {tail:.3f} against {head:.3f} for "
                                "the head."}
    claim = ("ce_tail_saddle", "without re-weighting (CE) the tail group's ratio is above the head group's",
             difference, "raises")
    return {"rows": rows, "claim": claim, "texts": texts, "note": note}


def extremes_moved(final: dict, n_classes: int) -> tuple[int, int, int]:
    """Over every class: in how many SAM lowers lambda_max, shrinks |lambda_min|, and grows |lambda_min|."""
    sgd, sam = final["CE+DRW"], final["CE+DRW+SAM"]
    size = [(abs(stat(sam, c, "lambda_min")), abs(stat(sgd, c, "lambda_min"))) for c in range(n_classes)]
    return (sum(stat(sam, c, "lambda_max") < stat(sgd, c, "lambda_max") for c in range(n_classes)),
            sum(a < b for a, b in size), sum(a > b for a, b in size))


def spectrum_change(final: dict, n_classes: int, seed: int) -> dict:
    """Over every class of the plotted seed: in how many SAM lowers lambda_max and shrinks |lambda_min|, and the
    sentence that says what that means."""
    max_falls, min_shrinks, _ = extremes_moved(final, n_classes)
    both_grow = 2 * max_falls < n_classes and 2 * min_shrinks < n_classes
    both_shrink = 2 * max_falls > n_classes and 2 * min_shrinks > n_classes
    sentence = (f"Over all classes of seed {seed}, lambda_max falls with SAM in {max_falls} of {n_classes} classes "
                f"and |lambda_min| shrinks in {min_shrinks} of {n_classes}: " + (
                    "at this radius SAM sharpens both sides of the spectrum." if both_grow else
                    "SAM shrinks both sides of the spectrum in every class." if min(max_falls, min_shrinks) == n_classes
                    else "SAM shrinks both sides of the spectrum in most classes, not in all." if both_shrink else
                    "SAM does not shrink the whole spectrum."))
    return {"shrunk_classes": f"{min_shrinks} of {n_classes}", "fig6_sentence": sentence,
            "max_falls_classes": f"{max_falls} of {n_classes}",
            "min_grows_classes": f"{n_classes - min_shrinks} of {n_classes}"}


def curvature_points(curvature: pd.DataFrame, runs: dict, epoch_rule: str = "final") -> tuple[pd.DataFrame, float]:
    """One point per run (radius, seed): the tail group's mean lambda_min beside the run's tail test accuracy at
    epoch rule `epoch_rule` (runs: (rho, seed) -> record); and the rank (Spearman) correlation of the two, computed
    without scipy."""
    per_run = curvature.groupby(["rho", "seed"]).agg(lambda_min=("lambda_min", "mean")).reset_index()
    per_run["tail acc"] = [runs[(r, s)]["metrics"][epoch_rule]["tail"] for r, s in zip(per_run["rho"], per_run["seed"])]
    return per_run, per_run["lambda_min"].rank().corr(per_run["tail acc"].rank())


def correlation_words(correlation: float) -> tuple[str, str]:
    """The rank correlation as the text says it, and what it reads as (undefined with fewer than two runs)."""
    if pd.isna(correlation):
        return "not defined", "too few runs to rank"
    return f"{correlation:+.2f}", ("less negative curvature goes with lower tail accuracy" if correlation < 0
                                   else "less negative curvature goes with higher tail accuracy")


def curvature_reading(curvature: pd.DataFrame, runs: dict, epoch_rule: str, key: str,
                      within_seed: bool = False) -> tuple[pd.DataFrame | None, dict]:
    """Chapter 6's reading of tail lambda_min against tail accuracy: the points (None without spectra) and the texts
    `key`_rank, `key`_runs, `key`_reading (and `key`_within_seed: the correlation over each seed's radii)."""
    if not len(curvature):
        return None, {f"{key}_rank": "not computed", f"{key}_runs": 0, f"{key}_reading": "no spectra to compare"} | (
            {f"{key}_within_seed": "not computed"} if within_seed else {})
    points, correlation = curvature_points(curvature, runs, epoch_rule)
    rank, reading = correlation_words(correlation)
    texts = {f"{key}_rank": rank, f"{key}_runs": len(points), f"{key}_reading": reading}
    if within_seed:
        texts[f"{key}_within_seed"] = "; ".join(
            f"seed {s}: {correlation_words(curvature_points(group, runs, epoch_rule)[1])[0]}"
            for s, group in curvature.groupby("seed"))
    return points, texts


def tail_lambda_min_by_seed(curvature: pd.DataFrame, method: str) -> dict:
    """seed -> the tail group's mean lambda_min for one method (seeds with spectra only)."""
    rows = curvature[curvature["method"] == method] if len(curvature) else curvature
    return rows.groupby("seed")["lambda_min"].mean().to_dict() if len(rows) else {}


def ldam_comparison(scale: str, protocol: str, seed: int, estimator: Estimator, classes: list[int],
                    class_names: list[str], epoch: int) -> dict:
    """Fig. 7's reading: LDAM+DRW's class spectra at `epoch`, and LDAM+DRW+SAM's beside them once its radius is
    tuned and its run has spectra (a read-only build shows what exists). Returns the panels, the per-class rows,
    the two claims, the texts chapter 2 glues and a note on what is still missing (or None)."""
    if not comparisons_trained(scale):
        return _ldam_reading(seed, {}, {}, None, classes, class_names,
                             f"LDAM+DRW is not trained at scale {scale}: its grid holds CE+DRW and CE+DRW+SAM only.")
    rho = grid.protocol_rho("LDAM+DRW+SAM", scale, protocol)
    ldam = grid.chapter_config("LDAM+DRW", scale, protocol, seed)
    records = {"LDAM+DRW": find_record(ldam)}
    if records["LDAM+DRW"] is None:
        return _ldam_reading(seed, {}, {}, rho, classes, class_names,
                             f"LDAM+DRW has no seed-{seed} run at scale {scale} yet: {train_command(ldam)}")
    spectra = {"LDAM+DRW": estimator.of(records["LDAM+DRW"], epoch)}
    note = None
    if rho is None:
        note = (f"LDAM+DRW+SAM's radius is not tuned yet at this scale: its panels and the claim on it wait for "
                f"python -m saddle grid tune --methods LDAM+DRW+SAM --scale {scale}")
    else:
        config = grid.chapter_config("LDAM+DRW+SAM", scale, protocol, seed, rho)
        record = find_record(config)
        result = record and estimator.of(record, epoch)
        if result is None:
            note = (f"LDAM+DRW+SAM at its tuned rho {rho:g} has no seed-{seed} run with spectra yet: "
                    f"{train_command(config)}, then python -m saddle hessian --run {config.run_id} --epoch {epoch}")
        else:
            records["LDAM+DRW+SAM"], spectra["LDAM+DRW+SAM"] = record, result
    return _ldam_reading(seed, records, spectra, rho, classes, class_names, note)


def _ldam_reading(seed: int, records: dict, spectra: dict, rho, classes: list[int], class_names: list[str],
                  note) -> dict:
    """ldam_comparison's panels, rows, claims and texts from the runs it found (none: every claim untested)."""
    panels = {f"{name}: class {c} {class_names[c]} | test {records[name]['metrics']['final']['per_class'][c]:.0f}%":
              Spectrum.from_dict(spectra[name]["spectra"][str(c)]) for name in records for c in classes}
    rows = pd.DataFrame([row for name in records for row in spectra_rows(spectra[name], records[name], name)],
                        columns=["method", "class", "group", "lambda_min", "lambda_max", "ratio"] if not records
                        else None)
    last = classes[-1]
    texts = {"ldam_rho": "not tuned yet" if rho is None else f"{rho:g}", "ldam_tail_name": f"{last} {class_names[last]}",
             "ldam_sentence": note, "ldam_sam_sentence": ""}
    above, raised = {}, {}
    if "LDAM+DRW" in records:
        tail, head = tail_above_head(rows, "LDAM+DRW")
        above = {seed: tail - head}
        texts.update(ldam_sentence=f"Under LDAM+DRW the tail group's mean ratio is {tail:.3f} against {head:.3f} "
                     f"for the head: on this seed the tail's ratio is {'above' if tail > head else 'below'} the "
                     "head's.",
                     ldam_sam_sentence="The SAM side waits for LDAM+DRW+SAM's tuned run and its spectra (the line "
                     "above the figure says which).")
    if "LDAM+DRW+SAM" in records:
        tail_min = rows[rows.group == "tail"].groupby("method")["lambda_min"].mean()
        raised = {seed: tail_min["LDAM+DRW+SAM"] - tail_min["LDAM+DRW"]}
        class_min = {name: stat(spectra[name], last, "lambda_min") for name in records}
        texts["ldam_sam_sentence"] = (f"Tail class {last} {class_names[last]} has lambda_min "
                                      f"{class_min['LDAM+DRW']:.3g} with SGD and {class_min['LDAM+DRW+SAM']:.3g} "
                                      "with SAM.")
    claims = [("ldam_tail_saddle", "under LDAM+DRW the tail group's ratio is above the head group's", above, "raises"),
              ("ldam_sam_raises", "with SAM, LDAM+DRW's tail group has a higher lambda_min", raised, "raises")]
    return {"panels": panels, "rows": rows, "claims": claims, "texts": texts, "note": note}


def estimator_sentence(rows: pd.DataFrame, steps: int = 100, more: int = 200) -> str:
    """What the estimator check's rows say about the book's estimator (`steps` Lanczos steps, one probe): how
    far apart the probes put lambda_min, and how far `more` steps move it."""
    if rows.empty or not {steps, more} <= set(rows["Lanczos steps"]):
        return "The estimator check has no spectra at this scale yet."
    at = rows[rows["Lanczos steps"] == steps].set_index(["method", "class"])
    longer = rows[rows["Lanczos steps"] == more].set_index(["method", "class"])
    relative = (at["lambda_min spread"] / at["lambda_min"].abs()).max()
    moved = (longer["lambda_min"] - at["lambda_min"]).abs().reindex(at.index)
    return (f"At {steps} Lanczos steps the probes put a tail class's lambda_min at most "
            f"{at['lambda_min spread'].max():.2g} apart ({100 * relative:.2g}% of its size at most); {more} steps "
            + (f"move the probes' mean by at most {moved.max():.2g}." if moved.max() > 0 else
               "leave the probes' mean where it was (to the stored precision)."))


def estimator_reading(mechanism_runs: dict, rho: float, seed: int, scale: str, iters: int, tail,
                    source: Source = STORED) -> tuple:
    """The estimator check of the plotted seed's runs (CE+DRW and SAM at both radii, from mechanism.runs) on the
    tail classes: (table, sentence). Smoke compares iters and 2 x iters steps: the code path, not the check."""
    runs = {f"CE+DRW+SAM rho {r:g}" if r else "CE+DRW": mechanism_runs.get((r, seed))
            for r in sorted({0.0, rho, grid.MECHANISM_RHO})}
    steps = (iters, 2 * iters) if scale == "smoke" else ESTIMATOR_ITERS
    table = pd.DataFrame(source.estimator_rows(runs, tail, iters=steps))
    return table, estimator_sentence(table, steps[-2], steps[-1])


# The mechanism's claims, in the order chapter 2's closing reads them, each worded for every scale (a scale's tuned
# radius differs): what the table across scales shows.
MECHANISM_CLAIMS = {
    "tail_saddle": "tail classes end at a larger |lambda_min/lambda_max| than head classes (CE+DRW; tail minus head)",
    "tail_stationary": "the tail classes end with a smaller class gradient norm than the head classes (CE+DRW; tail "
                       "minus head)",
    "sam_large_rho_tail_min": f"SAM at the paper's rho {grid.MECHANISM_RHO:g} raises the tail group's lambda_min "
                              "over CE+DRW's",
    "sam_ratio": "SAM at the scale's tuned rho lowers the tail group's |lambda_min/lambda_max| under CE+DRW's "
                 "(Fig. 3B)",
    "sam_tail_min": "SAM at the scale's tuned rho raises the tail group's lambda_min over CE+DRW's",
    "lmin_tracks_tail_acc": "over the tail classes within each run, lambda_min rises with test accuracy (rank "
                            "correlation per run, a seed's three runs averaged)",
    "negative_in_residual": "the book's own hypothesis, not the paper's: |lambda_min(R)| grows with the class's "
                            "unfitted training loss (rank correlation within each run, a seed's runs averaged)",
}


def recorded_mechanism(scale: str) -> pd.DataFrame:
    """The mechanism's claims at `scale` from the records that exist (nothing trained or computed), each judged by
    the one rule, indexed by key: the group claims on class spectra (the validated protocol's seeds, its tuned
    radius), Fig. 3 C's radius sweep and the curvature split's claims at the tuned radius and the paper's: every
    claim of the scale's mechanism family that chapter 2 judges on more than one seed, so that Holm's correction
    over them is the chapter's. What chapter 2 sets beside its other scale."""
    split = mechanism.recorded_claims(scale)
    if grid.protocol_rho("CE+DRW+SAM", scale, "validated") is None:
        return split
    seeds, sweep_seeds, rho_sweep, rho, estimator = resolve_parameters(scale, "validated", *[None] * 6)
    baseline = find_record(grid.protocol_config("CE+DRW", scale, seed=seeds[0]))
    if baseline is None:
        return split
    groups, n_classes = baseline["groups"], len(baseline["class_names"])
    spectra = estimator.recorded(scale, "validated", seeds, rho, baseline["config"]["epochs"], groups["tail"])
    claims = list(group_claims(spectra, groups, n_classes))
    sweep = pd.DataFrame(STORED.sweep_rows(sweep_records(scale, "validated", sweep_seeds, rho_sweep),
                                           iters=estimator.iters, max_per_class=estimator.max_per_class))
    if len(sweep):
        runs = set(zip(sweep["seed"], sweep["rho"]))
        swept = [s for s in sweep_seeds if {(s, 0.0), (s, max(rho_sweep))} <= runs]
        if swept:
            claims.append(radius_sweep(sweep[sweep["seed"].isin(swept)], swept, len(groups["tail"]))[0])
    rows = pd.DataFrame([{"key": key, **rule.claim_row(text, diffs, kind)}
                         for key, text, diffs, kind in claims]).set_index("key")
    return pd.concat([rows, split.drop(index=list(rows.index), errors="ignore")])


def _cell(row) -> str:
    """One claim at one scale as a table cell: difference, 95% interval, verdict (and Holm's where it differs),
    seeds."""
    if not row["seeds"]:
        return "not measured"
    interval = "" if pd.isna(row["low"]) else f" [{row['low']:+.2f}, {row['high']:+.2f}]"
    return f"{row['ours']:+.2f}{interval}, {rule.holm_phrase(row)} ({rule.seeds_phrase([row['seeds']])})"


def across_scales(by_scale: dict) -> pd.DataFrame:
    """{scale: recorded_mechanism(scale)} as one table: a row per mechanism claim, a column per scale; Holm's
    correction runs over each scale's declared mechanism family (one family a scale), as in chapter 2."""
    keys = [k for k in MECHANISM_CLAIMS if any(k in frame.index for frame in by_scale.values())]
    family = {scale: mechanism_verdicts(frame, scale) for scale, frame in by_scale.items()}
    return pd.DataFrame([{"claim": MECHANISM_CLAIMS[k], **{scale: _cell(frame.loc[k]) if k in frame.index
                                                           else "not measured" for scale, frame in family.items()}}
                         for k in keys], index=pd.Index(keys, name="key"))


def scale_cells(table: pd.DataFrame, scale: str, keys) -> dict:
    """One scale's cells of across_scales for prose, by key ('not measured yet' where the table has none)."""
    column = table[scale] if scale in table.columns else pd.Series(dtype=object)
    return {key: column.get(key, "not measured yet") for key in keys}


def mechanism_verdicts(frame: pd.DataFrame, scale: str) -> pd.DataFrame:
    """One scale's claims of its declared mechanism family (catalog.mechanism_family: `mechanism, <scale>`, the
    claims of catalog.MECHANISM_IDS) with Holm's correction within it (rule.holm_within), as chapter 2, chapter 7
    and the landing page apply it; a scale without a declared family corrects over its mechanism claims alone."""
    rows = frame.loc[[k for k in catalog.MECHANISM_IDS if k in frame.index]]
    family = catalog.mechanism_family(scale)
    return rule.holm_within(family, rows) if family else rule.holm_verdicts(rows)


def _counts(family: pd.DataFrame) -> tuple[int, int, int] | None:
    """Of a scale's mechanism family (Holm applied): how many of the paper's claims in the table across scales are
    measured, how many hold and how many run against the paper after Holm's correction (the book's own hypotheses
    are not counted); None where none is measured."""
    shown = family.loc[[k for k in MECHANISM_CLAIMS if k in family.index]]
    measured = shown[shown["seeds"] > 0]
    if measured.empty:
        return None
    reproduced, contradicted = rule.VERDICTS[:2]
    papers = measured.drop(index=list(catalog.OWN_HYPOTHESES), errors="ignore")  # the book's are not counted
    return (len(papers), int((papers["verdict (Holm)"] == reproduced).sum()),
            int((papers["verdict (Holm)"] == contradicted).sum()))


def held_counts(by_scale: dict) -> str:
    """Per scale, in a phrase: of the paper's mechanism claims measured there, how many hold and how many run
    against the paper after Holm's correction within the scale's family ('at cpu 0 of 6 hold and 0 run against
    the paper; ...')."""
    parts = []
    for scale, frame in by_scale.items():
        counts = _counts(mechanism_verdicts(frame, scale))
        if counts is None:
            parts.append(f"at {scale} none is measured yet")
            continue
        n, held, against = counts
        parts.append(f"at {scale} {held} of {n} {'holds' if held == 1 else 'hold'} and {against} "
                     f"{'runs' if against == 1 else 'run'} against the paper")
    return "; ".join(parts)


def stationary_reach(split: pd.DataFrame) -> str:
    """Whether CE+DRW's tail is stationary on the scale SAM perturbs (`split`: mechanism.summary_across_scales):
    how far a step's first-order change of the class loss outweighs its negative curvature's second-order one, in
    a sentence ('' without a CE+DRW row with negative curvature)."""
    if split.empty or not {"H_min", "grad_norm"} <= set(split.columns):
        return ""
    sgd = split.xs(0.0, level="rho")
    sgd = sgd[sgd["H_min"] < 0]
    if not len(sgd):
        return ""
    # The largest first-order change of the class loss over a step of length r is ||g|| r; the largest
    # second-order one from negative curvature is |lambda_min| r^2 / 2: the first outweighs the second while
    # r < 2 ||g|| / |lambda_min|.
    reach = {scale: 2 * r["grad_norm"] / abs(r["H_min"]) for scale, r in sgd.iterrows()}
    slope = min(reach.values()) > grid.MECHANISM_RHO
    return (
        "Is CE+DRW's tail stationary where its curvature is measured? Its gradient norm is " +
        ", ".join(f"{r['grad_norm']:.3g} at {scale}" for scale, r in sgd.iterrows()) + " against lambda_min " +
        ", ".join(f"{r['H_min']:.3g}" for _, r in sgd.iterrows()) + " (means over the tail classes and seeds), "
        "so a step's first-order change of the class loss outweighs the negative curvature's second-order one "
        "up to a step of about " + ", ".join(f"{d:.2f}" for d in reach.values()) + " in parameter space "
        "(2 ||g|| / |lambda_min|), " +
        (f"beyond the paper's radius {grid.MECHANISM_RHO:g}: on the scale SAM perturbs, the class gradient is "
         "not small next to the negative curvature, so the tail's end point fails the first condition of a "
         "saddle." if slope else
         f"inside the paper's radius {grid.MECHANISM_RHO:g} at one scale at least: there SAM's perturbation "
         "feels the curvature before the slope."))


# The section "Is the saddle story right?": the claims it gathers, in its order, each with the family it is judged
# in: the scale's declared mechanism family, the family added after its data (mechanism.AFTER_DATA_IDS), or the
# declared family again for the book's own hypothesis, which no count for or against the paper includes.
EVIDENCE = {
    "tail_stationary": ("the tail's class gradient norm is smaller than the head's (CE+DRW; tail minus head)",
                        "declared"),
    "sam_large_rho_tail_min": (f"SAM at rho {grid.MECHANISM_RHO:g} raises the tail's lambda_min (SAM minus CE+DRW)",
                               "declared"),
    "sam_ratio": ("SAM at the tuned rho lowers the tail's |lambda_min/lambda_max| (Fig. 3B)", "declared"),
    "sam_large_rho_ratio": (f"SAM at rho {grid.MECHANISM_RHO:g} lowers the tail's |lambda_min/lambda_max| (Fig. 3B)",
                            "added after its data"),
    "large_rho_tail_acc": (f"SAM at rho {grid.MECHANISM_RHO:g} raises CE+DRW's tail accuracy (points)",
                           "added after its data"),
    "large_rho_acc": (f"SAM at rho {grid.MECHANISM_RHO:g} raises CE+DRW's overall accuracy (points)",
                      "added after its data"),
    "lmin_tracks_tail_acc": ("within each run, lambda_min rises with a tail class's test accuracy (rank correlation)",
                             "declared"),
    "negative_in_residual": ("|lambda_min(R)| rises with a tail class's training loss, within each run (rank "
                             "correlation)", "declared; the book's own hypothesis"),
}
CORRELATIONS = {"lmin_tracks_tail_acc": ("H_min", "test acc", None), "negative_in_residual": ("R_min", "loss", "abs")}


def scale_slug(scale: str) -> str:
    """A scale in glue keys: 'regime' for the regime scale (its name has a dash), else the scale's name."""
    return "regime" if scale == grid.REGIME_SCALE else scale


def evidence(by_scale: dict, after_by_scale: dict, rows_by_scale: dict) -> tuple[pd.DataFrame, dict]:
    """The section's table, a row per EVIDENCE claim and a column per scale (difference, 95% interval, verdict after
    Holm's correction within its family, seeds), and the numbers it glues, per scale slug: story_<slug>_<key> (the
    cell), story_<slug>_<key>_verdict (its verdict words), the split's means over seeds and tail classes for CE+DRW
    ('sgd') and SAM at the paper's radius ('large'): hmin, hmax, ratio (the tail group's |lambda_min/lambda_max|) and
    fit (training accuracy, %), and each correlation's mean per arm over seeds and its pooled mean ('<key>_arms',
    '<key>_pooled'). by_scale: recorded_mechanism per scale; after_by_scale: mechanism.after_data_claims (Holm
    applied); rows_by_scale: mechanism.split_rows."""
    texts, columns = {}, {}
    for scale in by_scale:
        slug, family = scale_slug(scale), mechanism_verdicts(by_scale[scale], scale)
        frames = {"declared": family, "added after its data": after_by_scale.get(scale, pd.DataFrame())}
        column = {}
        for key, (_, where) in EVIDENCE.items():
            frame = frames[where.split(";")[0]]
            measured = key in frame.index and frame.loc[key, "seeds"]
            column[key] = _cell(frame.loc[key]) if measured else "not measured"
            texts[f"story_{slug}_{key}"] = column[key]
            texts[f"story_{slug}_{key}_verdict"] = rule.holm_phrase(frame.loc[key]) if measured else \
                "not measured"
        columns[scale] = column
        texts.update(_split_numbers(rows_by_scale.get(scale, pd.DataFrame()), slug))
    table = pd.DataFrame([{"claim": text, "family": where, **{scale: columns[scale][key] for scale in columns}}
                          for key, (text, where) in EVIDENCE.items()], index=pd.Index(list(EVIDENCE), name="key"))
    return table, texts


def _split_numbers(rows: pd.DataFrame, slug: str) -> dict:
    """evidence()'s numbers from one scale's split rows ('n/a' without them)."""
    names = [f"{side}_{name}" for side in ("sgd", "large") for name in ("hmin", "hmax", "ratio", "fit")]
    texts = {f"story_{slug}_{name}": "n/a" for name in names}
    texts.update({f"story_{slug}_{key}_{part}": "n/a" for key in CORRELATIONS for part in ("arms", "pooled")})
    if rows.empty:
        return texts
    per_run = rows.assign(ratio=(rows["H_min"] / rows["H_max"]).abs()).groupby(["rho", "seed"]).mean(
        numeric_only=True).groupby("rho").mean()  # the tail group's mean per run, then the mean over seeds
    for side, rho in (("sgd", 0.0), ("large", grid.MECHANISM_RHO)):
        if rho in per_run.index:
            values = per_run.loc[rho]
            texts.update({f"story_{slug}_{side}_hmin": f"{values['H_min']:.3g}",
                          f"story_{slug}_{side}_hmax": f"{values['H_max']:.3g}",
                          f"story_{slug}_{side}_ratio": f"{values['ratio']:.3f}",
                          f"story_{slug}_{side}_fit": f"{values['train acc']:.0f}"})
    for key, (x, y, transform) in CORRELATIONS.items():
        table = mechanism.rank_correlations(rows, x, y, transform).mean()
        arms = [c for c in table.index if isinstance(c, float)]
        texts[f"story_{slug}_{key}_arms"] = ", ".join(
            f"{'CE+DRW' if rho == 0 else f'SAM {rho:g}'} {table[rho]:+.2f}" for rho in sorted(arms))
        texts[f"story_{slug}_{key}_pooled"] = f"{table['pooled']:+.2f}"
    return texts


# The claims of the section "Is the saddle story right?" with those the table across scales adds, in the order
# the paper's story runs: the tail at a saddle, stationary; what SAM does to it; what it costs; the correlations.
EVIDENCE_ORDER = ("tail_saddle", "tail_stationary", "sam_large_rho_tail_min", "sam_tail_min", "sam_ratio",
                  "sam_large_rho_ratio", "large_rho_tail_acc", "large_rho_acc", "lmin_tracks_tail_acc",
                  "negative_in_residual")


def evidence_table(story: pd.DataFrame, across: pd.DataFrame) -> pd.DataFrame:
    """One table of the chapter's evidence at both scales: evidence()'s rows, and those of across_scales() that it
    lacks (judged in the scale's declared mechanism family, as evidence()'s declared rows are), each claim once, in
    EVIDENCE_ORDER; the columns of `story` (claim, family, one per scale)."""
    extra = across.drop(index=list(story.index), errors="ignore").assign(family="declared")
    table = pd.concat([story, extra[[c for c in story.columns if c in extra.columns]]])
    order = [k for k in EVIDENCE_ORDER if k in table.index] + [k for k in table.index if k not in EVIDENCE_ORDER]
    return table.loc[order]


def _two_lines(cell: str) -> str:
    """An evidence cell ('+3.20 [+1.41, +4.98], contradicted before Holm's correction, inconclusive after it
    (5 seeds)') in two lines for a narrow table, the verdict first: the verdict after Holm's correction (with the
    one before it where they differ), then the difference with its interval, unbroken, and the seeds. Any other
    text ('not measured') as it is."""
    match = re.fullmatch(r"([^,\[]+(?: \[[^\]]*\])?), (.+) \(([^()]*seeds?)\)", cell)
    if not match:
        return cell
    numbers, verdict, seeds = match.groups()
    changed = re.fullmatch(r"(.+) before Holm's correction, (.+) after it", verdict)
    if changed:
        verdict = f"{changed.group(2)} after Holm ({changed.group(1)} before)"
    return f"{verdict}\n{numbers.replace(' ', chr(0xA0))} ({seeds})"


def evidence_display(table: pd.DataFrame) -> pd.DataFrame:
    """evidence_table() for a page at a laptop's width: the family named in the claim where it is not the declared
    one, the quantities as symbols, and each scale's cell in two lines, verdict first (_two_lines); columns claim
    and one per scale."""
    claims = [book.symbols(claim if family == "declared" else f"{claim} ({family.removeprefix('declared; ')})")
              for claim, family in zip(table["claim"], table["family"])]
    scales = [c for c in table.columns if c not in ("claim", "family")]
    return pd.DataFrame({"claim": claims, **{s: [_two_lines(c) for c in table[s]] for s in scales}},
                        index=table.index)


def recorded_evidence(scales=("cpu", grid.REGIME_SCALE)) -> tuple[pd.DataFrame, dict, dict]:
    """evidence() from the committed records of `scales` (nothing trained or computed), and the recorded_mechanism
    frames it read (both_scales takes them)."""
    by_scale = {s: recorded_mechanism(s) for s in scales}
    runs, rows, after = {}, {}, {}
    for s in scales:
        runs[s], rows[s], _ = mechanism.recorded_runs_and_rows(s)
        after[s] = mechanism.after_data_claims(rows[s], runs[s], scale=s)
    table, texts = evidence(by_scale, after, rows)
    return table, texts, by_scale


def both_scales(scales=("cpu", grid.REGIME_SCALE), by_scale: dict | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Chapter 2's side-by-side section from committed records: the claims table across `scales`, the split's
    means per scale and radius, and the texts it glues (the closing paragraph, its counts and its sentence on
    stationarity apart, every mechanism claim's regime cell).
    by_scale: recorded_mechanism of each scale where already read."""
    by_scale = by_scale if by_scale is not None else {s: recorded_mechanism(s) for s in scales}
    split = mechanism.summary_across_scales(by_scale)
    table = across_scales(by_scale)
    large = (grid.REGIME_SCALE, grid.MECHANISM_RHO)
    texts = {"evidence_counts": held_counts(by_scale),
             "evidence_reach": stationary_reach(split),
             "regime_large_fit": f"{split.loc[large, 'train acc']:.0f}%" if large in split.index else "n/a",
             **{f"regime_{key}": text for key, text in scale_cells(table, grid.REGIME_SCALE, MECHANISM_CLAIMS).items()}}
    return table, split, texts


def split_beside(split_by_scale: pd.DataFrame, scale: str, split_table: pd.DataFrame) -> pd.DataFrame:
    """The split's means per scale and radius (both_scales) with this chapter's own scale's (mechanism.summary,
    indexed by radius) added where it is not one of them: each scale's rows once."""
    if split_table.empty or (len(split_by_scale) and scale in split_by_scale.index.get_level_values("scale")):
        return split_by_scale
    return pd.concat([split_by_scale, pd.concat({scale: split_table}, names=["scale"])])


def figure_seeds(seed: int, sweep_seeds, per_seed: dict) -> dict:
    """The seeds each of chapter 2's figures rests on, as its verdict section glues them."""
    return {"spectra_seeds": ", ".join(str(s) for s in sweep_seeds) or "none",
            "all_class_seeds": seeds_with_spectra(per_seed), "plot_seed": seed}
