"""bf16 against fp32: does training under bf16 autocast change what the book measures?

Each run of grid.PRECISION_RUNS on the validated seeds is paired with its bf16 twin (grid.bf16_twins: the same
config, precision alone differs). The family `precision, cpu` (catalog.PRECISION_IDS, declared before the bf16
runs) judges bf16 minus fp32 as 'keeps' claims: overall and tail accuracy at the final epoch, and the tail group's
lambda_min at the last epoch (the spectra chapter 2 computes: tail classes, 100 Lanczos steps, probe seed = the
run's seed), each at its declared margin. Read only: a missing record or spectrum leaves its seed out."""
from __future__ import annotations


import pandas as pd

from saddle import grid

from . import catalog, rule
from saddle.results import find_record
from saddle.analyse import STORED

TAIL_SPECTRA = {"iters": 100, "max_per_class": None}  # chapter 2's tail spectra, probe seed = the run's seed


def margin(metric: str) -> float:
    """The declared equivalence margin of a precision claim's metric."""
    if metric == "tail_lambda_min":
        return catalog.PRECISION_LAMBDA_MARGIN
    return catalog.equivalence_margin(metric)


def twins(scale: str = "cpu", seeds=grid.PROTOCOL_SEEDS) -> list[tuple]:
    """(method, seed, fp32 config, bf16 config) for every run of grid.PRECISION_RUNS on `seeds`."""
    out = []
    for method, rho in grid.PRECISION_RUNS:
        for seed in seeds:
            fp32 = grid.protocol_config(method, scale, seed=seed, rho=rho)
            out.append((method, seed, fp32, fp32.with_precision("bf16")))
    return out


def value(record: dict | None, metric: str) -> float | None:
    """A run's number for a precision claim: final test accuracy (overall or tail), or the mean of the tail classes'
    lambda_min in its recorded last-epoch spectra; None where the record or the spectra are missing."""
    if record is None or record.get("metrics") is None:
        return None
    if metric in ("acc", "tail"):
        return record["metrics"]["final"][metric]
    tail = record["groups"]["tail"]
    spectra = STORED.spectra(record, record["config"]["epochs"], list(tail), seed=record["config"]["seed"],
                             **TAIL_SPECTRA)
    if spectra is None:
        return None
    return sum(spectra["spectra"][str(c)]["lambda_min"] for c in tail) / len(tail)


def differences(scale: str = "cpu", seeds=grid.PROTOCOL_SEEDS) -> dict[str, dict[int, float]]:
    """claim id -> {seed: bf16 minus fp32}, over the seeds where both twins have the number."""
    pairs = twins(scale, seeds)
    records = {c.run_id: find_record(c) for _, _, fp32, bf16 in pairs for c in (fp32, bf16)}
    diffs = {}
    for method, seed, fp32, bf16 in pairs:
        for metric in catalog.PRECISION_METRICS:
            ours, base = value(records[bf16.run_id], metric), value(records[fp32.run_id], metric)
            key = f"bf16-{method.lower()}-{metric}"
            diffs.setdefault(key, {})
            if ours is not None and base is not None:
                diffs[key][seed] = ours - base
    return diffs


def verdicts(scale: str = "cpu", seeds=grid.PROTOCOL_SEEDS) -> pd.DataFrame:
    """The family `precision, cpu`: one row per claim (bf16 minus fp32, 95% interval, p, verdict, and after Holm)."""
    diffs = differences(scale, seeds)
    rows = []
    for key in catalog.PRECISION_IDS:
        method, metric = key.removeprefix("bf16-").rsplit("-", 1)
        text = f"bf16 keeps {method.upper()}'s {metric.replace('_', ' ')} of fp32 (within {margin(metric):g})"
        rows.append({"key": key, "metric": metric,
                     **rule.claim_row(text, diffs[key], "keeps", tolerance=margin(metric))})
    frame, family = pd.DataFrame(rows).set_index("key"), f"precision, {scale}"
    return rule.holm_within(family, frame) if family in catalog.FAMILIES else rule.holm_verdicts(frame)


def dirty_twins(scale: str = "cpu", seeds=grid.PROTOCOL_SEEDS) -> list[tuple[str, int]]:
    """(method, seed) of the fp32 twins whose record names a commit with uncommitted changes ('-dirty')."""
    out = []
    for method, seed, fp32, _ in twins(scale, seeds):
        record = find_record(fp32)
        if record is not None and record["provenance"].get("git_commit", "").endswith("-dirty"):
            out.append((method, seed))
    return out
