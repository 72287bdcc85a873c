"""Chapter 2's setup: its parameters checked and resolved, the runs it reads (CE+DRW beside CE+DRW+SAM on each seed,
Fig. 3 C's radius sweep, the side comparisons where the scale trains them) and the estimator that reads their class
spectra through analyse.STORED (the pipeline computes them: `python -m saddle analyse chapter2`)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from saddle import analyse, grid
from saddle.analyse import STORED
from saddle.results import find_record


@dataclass
class Estimator:
    """The chapter's Lanczos settings and the seed it plots; its spectra are read from the stored records (None
    where missing: analyse.require('chapter2', ...) has stopped the chapter before on what it must have)."""
    iters: int
    max_per_class: int | None
    seed: int

    def of(self, record: dict, epoch: int, which="all", seed: int | None = None, **settings) -> dict | None:
        """A run's stored spectra at `epoch` (probe vectors seeded by `seed`, default the plotted one)."""
        return STORED.spectra(record, epoch, which, iters=self.iters, seed=self.seed if seed is None else seed,
                              max_per_class=self.max_per_class, **settings)

    def of_seed(self, config, epoch: int, which="all") -> dict | None:
        """Spectra of `config`'s recorded run, probe seeded by its seed (None where the run or its spectra are not
        recorded)."""
        record = find_record(config)
        return None if record is None else self.of(record, epoch, which, seed=config.seed)

    def per_seed(self, scale: str, protocol: str, seeds, rho: float, epoch: int, tail) -> dict:
        """seed -> method -> {'all': every class's spectra, 'tail': the `tail` classes'} for CE+DRW and CE+DRW+SAM
        at `rho` (None where a seed's run or its spectra are not recorded): what the group claims pair by seed."""
        return {s: {m: {"all": self.of_seed(config, epoch), "tail": self.of_seed(config, epoch, tail)}
                    for m, config in chapter_pair(scale, protocol, s, rho)} for s in seeds}

    recorded = per_seed  # the closing section's reading of another scale: the same stored records


def chapter_pair(scale: str, protocol: str, seed: int, rho: float) -> tuple:
    """The (method, config) pair chapter 2 compares on one seed: CE+DRW, and CE+DRW+SAM at `rho`."""
    return analyse.chapter2_pair(scale, protocol, seed, rho)


def seeds_with_spectra(per_seed: dict, which: str = "all") -> str:
    """The seeds of Estimator.per_seed whose two runs both have `which` spectra, for prose ('none' if no seed)."""
    return ", ".join(str(s) for s, runs in per_seed.items()
                     if all(runs[m][which] is not None for m in ("CE+DRW", "CE+DRW+SAM"))) or "none"


def resolve_parameters(scale: str, protocol: str, rho, rho_sweep, sweep_seeds, seeds, iters, max_per_class
                       ) -> tuple:
    """Chapter 2's parameters checked, with None resolved by protocol and scale (analyse.chapter2_settings, the
    plan's): (seeds, sweep_seeds, rho_sweep, rho, estimator). The validated protocol plots its evaluation seeds and
    sweeps its tuning plan (grid.tuning_plan: the regime scale's is shorter); the paper protocol plots seeds 0-2 and
    sweeps Fig. 4's radii; rho is CE+DRW+SAM's radius under the protocol. Besides the book's scales the chapter
    reads the regime scale, where only the validated protocol is trained."""
    from .notebook import BOOK_SCALES, chapter_settings, check_parameters
    from saddle.checks import check_choice
    scales = (*BOOK_SCALES, grid.REGIME_SCALE)
    check_choice("protocol", protocol, ("validated", "paper"))
    check_parameters(scale, rho=rho, seeds=seeds, scales=scales)
    check_parameters(scale, seeds=sweep_seeds, scales=scales)
    for r in rho_sweep or ():
        check_parameters(scale, rho=r, scales=scales)
    if scale == grid.REGIME_SCALE and protocol != "validated":
        raise ValueError(f"protocol 'paper' has no runs at scale {scale}, which trains the validated protocol only "
                         "(grid mechanism-regime); accepted there: protocol 'validated'")
    chapter_settings(scale, iters=iters, max_per_class=max_per_class)  # checked: positive integers or None
    p = analyse.chapter2_settings(scale, protocol, rho, rho_sweep, sweep_seeds, seeds, iters, max_per_class)
    if p["rho"] is None:
        raise ValueError(f"CE+DRW+SAM's radius is not tuned yet at scale {scale}; train its tuning grid with "
                         f"python -m saddle grid {'regime-tune' if scale == grid.REGIME_SCALE else 'tune'} "
                         f"--methods CE+DRW+SAM --scale {scale}, or pass -p rho")
    return (p["seeds"], p["sweep_seeds"], p["rho_sweep"], p["rho"],
            Estimator(p["iters"], p["max_per_class"], p["seeds"][0]))


def plotted_runs(scale: str, protocol: str, seed: int, rho: float) -> tuple[dict, int]:
    """The plotted seed's pair (chapter_pair) as {method: record} and the runs' length in epochs (the last epoch,
    the one analysed); a missing record stops the chapter with the command that trains it."""
    from saddle.runs import require_record
    pair = dict(chapter_pair(scale, protocol, seed, rho))
    return {method: require_record(config) for method, config in pair.items()}, pair["CE+DRW"].epochs


def run_epochs(epochs, last: int) -> list[int]:
    """The `epochs` parameter, given as epochs of the paper's 200, at a run of `last` epochs: scaled, rounded, at
    least 1, each once."""
    return sorted({max(1, round(e * last / 200)) for e in epochs})


def chapter_texts(scale: str, protocol: str, rho: float) -> dict:
    """The radius, the data and scale, and the protocol the chapter's captions and prose name."""
    from .notebook import scale_words
    return {"chapter_rho": f"{rho:g}", "chapter_scale": scale_words(scale),
            "chapter_protocol": protocol_words(protocol)}


def protocol_words(protocol: str) -> str:
    """The runs a chapter-2 protocol names, for its prose."""
    return ("the validated protocol (validation split, a new subset per seed, rho tuned on validation)"
            if protocol == "validated" else "the paper's protocol (subset 0, Table 5's rho, no validation split)")


def sweep_configs(scale: str, protocol: str, seeds, rhos) -> dict:
    """{(rho, seed): config} of Fig. 3 C's radius sweep: CE+DRW at rho 0, CE+DRW+SAM at each of `rhos`."""
    return analyse.chapter2_sweep(scale, protocol, seeds, rhos)


def sweep_records(scale: str, protocol: str, seeds, rhos) -> dict:
    """{(rho, seed): record, None where not trained} of Fig. 3 C's radius sweep (sweep_configs)."""
    return {key: find_record(config) for key, config in sweep_configs(scale, protocol, seeds, rhos).items()}


def sweep_table(scale: str, protocol: str, seeds, rhos, estimator: Estimator) -> pd.DataFrame:
    """Fig. 3 C's rows from the stored spectra: each tail class's lambda_min and accuracies per recorded run of the
    sweep (sweep_records), with the chapter's Lanczos settings."""
    return pd.DataFrame(STORED.sweep_rows(sweep_records(scale, protocol, seeds, rhos), iters=estimator.iters,
                                          max_per_class=estimator.max_per_class))


def chapter_configs(scale: str, protocol: str, seed: int, rho: float, sweep_seeds, rho_sweep) -> list:
    """Every run chapter 2 reads and trains where missing (the notebook's one call to runner.records): the plotted
    seed's CE+DRW and CE+DRW+SAM at `rho`, Fig. 3 C's sweep and, where the scale trains them, plain CE, LDAM+DRW
    and LDAM+DRW+SAM at its tuned radius (the other seeds enter where recorded)."""
    return ([config for _, config in chapter_pair(scale, protocol, seed, rho)]
            + list(sweep_configs(scale, protocol, sweep_seeds, rho_sweep).values())
            + analyse.chapter2_comparisons(scale, protocol, seed))


def check_classes(n_classes: int, *classes) -> None:
    """Fail, naming the class and the accepted range, when a chapter parameter names a class the data lacks."""
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
            raise ValueError(f"class {c!r} out of range; accepted: 0..{n_classes - 1}")


def comparisons_trained(scale: str) -> bool:
    """Whether chapter 2's side comparisons, plain CE (Fig. 5) and LDAM+DRW (Fig. 7), have runs at `scale`: the
    regime scale trains its mechanism grid only (grid.mechanism_regime), one run there costing about ten cpu runs."""
    return scale != grid.REGIME_SCALE
