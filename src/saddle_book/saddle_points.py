"""Chapter 2's reading of class spectra: is the tail at a saddle, and does SAM move it off?

Each function takes spectra records (spectra.run_spectra's dicts) or tables built from them and returns what
the chapter shows for Figs. 2, 3 and 5-7: panels, tables, the texts it glues, and claims as (key, text, {seed:
difference}, kind) for rule.Verdicts to judge by the one rule; a claim measured on one seed only is scored as not
tested. The chapter's parameters, runs and estimator are saddle_setup's; its closing section across scales is
saddle_story."""
from __future__ import annotations

import pandas as pd

from saddle import grid, optim
from saddle.analyse import STORED, Source
from saddle.hessian import Spectrum
from saddle.results import find_record
from saddle.runs import train_command
from saddle.spectra import AVERAGE, ESTIMATOR_ITERS, IMAGE_SETS, spectra_rows

from .saddle_setup import Estimator, chapter_pair, comparisons_trained, seeds_with_spectra
from .spectra_claims import group_stat, stat


def last_epoch_spectra(records: dict, estimator: Estimator, epoch: int) -> tuple[dict, dict]:
    """Per method, its classes' stored spectra and its average loss's at `epoch`: Fig. 2's two kinds of panel."""
    return ({name: estimator.of(record, epoch) for name, record in records.items()},
            {name: estimator.of(record, epoch, [AVERAGE]) for name, record in records.items()})


CLASS_COLUMNS = ["method", "class", "group", "lambda_min", "lambda_max", "ratio", "gradient norm", "loss", "test acc",
                 "train acc"]


def class_table(records: dict, final: dict, average: dict, point: pd.DataFrame) -> pd.DataFrame:
    """Every class and the average loss per method at the analysed point: the spectrum's extremes beside the
    class loss, its gradient norm (`point`: at_point()) and the accuracies, so the ranking can be read whole."""
    table = pd.DataFrame([row for name in records for row in spectra_rows(final[name], records[name], name)
                          + spectra_rows(average[name], records[name], name)])
    return table.merge(point[["method", "class", "gradient norm", "loss"]], on=["method", "class"],
                       how="left")[CLASS_COLUMNS]


IMAGES_COLUMNS = ["method", "class", "images", "lambda_min", "gradient norm", "loss"]  # train_and_test_images shown
LDAM_COLUMNS = ["method", "class", "group", "lambda_min", "lambda_max", "ratio"]  # ldam_comparison's rows shown


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
        for method, config in chapter_pair(scale, protocol, seed, rho):
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


def fig2_texts(final: dict, average: dict, groups: dict, head_class: int, tail_class: int,
               class_names: list[str]) -> dict:
    """The numbers Fig. 2's discussion quotes: the plotted classes by name, group ratios, and the extremes of the
    plotted classes and of the average loss, per method ('drw' for CE+DRW, 'sam' for CE+DRW+SAM)."""
    texts = {"tail_name": f"{tail_class} {class_names[tail_class]}",
             "head_name": f"{head_class} {class_names[head_class]}"}
    for m, key in (("CE+DRW", "drw"), ("CE+DRW+SAM", "sam")):
        texts[f"{key}_tailgroup_ratio"] = f"{group_stat(final[m], groups['tail'], 'ratio'):.3f}"
        texts[f"{key}_headgroup_ratio"] = f"{group_stat(final[m], groups['head'], 'ratio'):.3f}"
        for c, which in ((tail_class, "tailclass"), (head_class, "headclass"), (AVERAGE, "avg")):
            result = average[m] if c == AVERAGE else final[m]
            texts[f"{key}_{which}_min"] = f"{stat(result, c, 'lambda_min'):.3g}"
            texts[f"{key}_{which}_max"] = f"{stat(result, c, 'lambda_max'):.3g}"
            texts[f"{key}_{which}_ratio"] = f"{stat(result, c, 'ratio'):.3f}"
    return texts


def average_claim(final: dict, average: dict, tail, seed: int) -> tuple:
    """The average loss hides the tail's saddle: measured on the plotted seed only."""
    return ("average_hides", "the average loss's |lambda_min/lambda_max| is below the tail group's (CE+DRW)",
            {seed: group_stat(final["CE+DRW"], tail, "ratio") - stat(average["CE+DRW"], AVERAGE, "ratio")}, "raises")


def drw_epoch(last: int) -> int:
    """The epoch DRW's re-weighting starts in a run of `last` epochs: 80% of training (160 of the paper's 200)."""
    return round(0.8 * last)


def spectra_over_training(records: dict, estimator: Estimator, epochs) -> pd.DataFrame:
    """Every class's extremes and ratio per method at each of `epochs` (spectra_rows of the stored spectra): Fig. 3
    A/B's lines."""
    return pd.DataFrame([row for name, record in records.items() for epoch in epochs
                         for row in spectra_rows(estimator.of(record, epoch), record, name)])


def ratio_by_group(rows: pd.DataFrame) -> pd.DataFrame:
    """The mean ratio per (method, group), a column per epoch: the bold lines of Fig. 3 A/B, which its claims read."""
    return rows.groupby(["method", "group", "epoch"])["ratio"].mean().unstack("epoch")


def epochs_as_columns(by_group: pd.DataFrame) -> pd.DataFrame:
    """ratio_by_group() as a page table: method and group as columns, each epoch a column headed by its number."""
    return by_group.rename(columns=str).reset_index()


def over_training(by_group: pd.DataFrame, run_epochs, last: int, seed: int) -> tuple[list[tuple], dict]:
    """Fig. 3 A/B: the tail group's ratio before and after DRW starts (80% of training), and SAM against SGD
    at each epoch; `by_group` is the ratio's mean per (method, group) by epoch. Spectra over training exist for the
    plotted seed only, so both claims are one seed's."""
    drw_start = max(e for e in run_epochs if e <= drw_epoch(last))
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


def radius_means(rho_table: pd.DataFrame) -> pd.DataFrame:
    """Fig. 3 C's table: per tail class and radius, lambda_min and the training and test accuracy, means over the
    sweep's seeds."""
    return rho_table.groupby(["class", "rho"])[["lambda_min", "train acc", "test acc"]].mean()


def tail_above_head(rows: pd.DataFrame, method: str) -> tuple[float, float]:
    """(tail, head) group means of the ratio of one method in spectra_rows()."""
    by_method = rows.groupby(["method", "group"])["ratio"].mean()
    return by_method.loc[(method, "tail")], by_method.loc[(method, "head")]


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


def figure_seeds(seed: int, sweep_seeds, per_seed: dict) -> dict:
    """The seeds each of chapter 2's figures rests on, as its verdict section glues them."""
    return {"spectra_seeds": ", ".join(str(s) for s in sweep_seeds) or "none",
            "all_class_seeds": seeds_with_spectra(per_seed), "plot_seed": seed}
