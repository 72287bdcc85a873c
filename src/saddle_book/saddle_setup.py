"""Chapter 2's setup: its parameters checked and resolved, the runs it reads (CE+DRW beside CE+DRW+SAM on each seed,
Fig. 3 C's radius sweep, the side comparisons where the scale trains them) and the estimator that reads (or, where
the notebook chooses, computes) their class spectra."""
from __future__ import annotations

from dataclasses import dataclass

from saddle import grid
from saddle.analyse import STORED, Source
from saddle.results import find_record


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
                    for m, config in chapter_pair(scale, protocol, s, rho)} for s in seeds}

    def recorded(self, scale: str, protocol: str, seeds, rho: float, epoch: int, tail) -> dict:
        """per_seed from the records that exist, for every seed alike: nothing trained or computed."""
        def read(config, which):
            record = find_record(config)
            return None if record is None else self.of(record, epoch, which, seed=config.seed, stored_only=True)
        return {s: {m: {"all": read(config, "all"), "tail": read(config, tail)}
                    for m, config in chapter_pair(scale, protocol, s, rho)} for s in seeds}


def chapter_pair(scale: str, protocol: str, seed: int, rho: float) -> tuple:
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
    from .notebook import BOOK_SCALES, chapter_settings as resolve, check_parameters
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
    configs = [config for _, config in chapter_pair(scale, protocol, seed, rho)]
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


def comparisons_trained(scale: str) -> bool:
    """Whether chapter 2's side comparisons, plain CE (Fig. 5) and LDAM+DRW (Fig. 7), have runs at `scale`: the
    regime scale trains its mechanism grid only (grid.mechanism_regime), one run there costing about ten cpu runs."""
    return scale != grid.REGIME_SCALE
