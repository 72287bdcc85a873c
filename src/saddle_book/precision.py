"""bf16 against fp32: does training under bf16 autocast change what the book measures?

Each run of grid.PRECISION_RUNS on the validated seeds is paired with its bf16 twin (grid.bf16_twins: the same
config, precision alone differs). The family `precision, cpu` (catalog.PRECISION_IDS, declared before the bf16
runs) judges bf16 minus fp32 as 'keeps' claims: overall and tail accuracy at the final epoch, and the tail group's
lambda_min at the last epoch (the spectra chapter 2 computes: tail classes, 100 Lanczos steps, probe seed = the
run's seed), each at its declared margin. Read only: a missing record or spectrum leaves its seed out."""
from __future__ import annotations


import pandas as pd

from saddle import grid

from . import catalog, page_tables, rule
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


def chapter_texts(family: pd.DataFrame, dirty: list[tuple[str, int]]) -> dict:
    """What chapter 4's precision section quotes: the seed pairs behind the accuracy claims, the fp32 twins trained
    from a dirty tree (dirty_twins), the margins and level of the keeps rule, the family's size, and each claim's
    verdict after Holm as bf16_<method>_<metric>."""
    pairs = family.loc[[k for k in family.index if k.endswith("-acc")], "seeds"].sum()
    return ({"bf16_pairs": str(int(pairs)), "bf16_dirty": ", ".join(f"{m} seed {s}" for m, s in dirty) or "none",
             "bf16_margins": catalog.margins_text(("acc", "tail")),
             "bf16_lambda_margin": f"{catalog.PRECISION_LAMBDA_MARGIN:g}",
             "bf16_level": f"{rule.EQUIVALENCE_LEVEL:.0%}", "bf16_family_size": str(len(catalog.PRECISION_IDS))}
            | {"bf16_" + key.removeprefix("bf16-").replace("+", "_").replace("-", "_"): row["verdict (Holm)"]
               for key, row in family.iterrows()})


TABLE_TITLE = ("bf16 minus float32 (cpu scale, validated protocol, final epoch): keeps within the margin; Holm "
               "within the family precision, cpu")


def verdict_table(family: pd.DataFrame) -> str:
    """HTML: the family's claims (verdicts()) verdict first, under TABLE_TITLE."""
    return page_tables.verdict_groups({TABLE_TITLE: family.reset_index()}, paper=False)
