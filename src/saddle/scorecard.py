"""The paper's claims about accuracy, each with its verdict at a scale, and its tables side by side with ours.

A claim compares a method with its baseline on one metric of one table ('SAM raises CE+DRW's tail accuracy',
Table 1). The paper's side comes from its tables (book/data/paper_results.json), ours from the run records, seeds
averaged. Verdicts:

- reproduced: our difference has the claimed sign and exceeds twice its standard error over seeds (a 'keeps'
  claim: our difference is within KEEP_TOLERANCE points);
- direction reproduced: the sign is right but one seed only, or within the noise of the seeds (a 'keeps' claim:
  outside the tolerance by less than twice the standard error);
- not reproduced: the sign is wrong (or, for 'keeps', the difference is outside the tolerance beyond the noise);
- not run here: a record the claim needs does not exist at this scale.

At the cpu scale the data set is Fashion-MNIST-LT, not CIFAR: only differences between methods are compared,
never the absolute accuracies."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import book, grid

VERDICTS = ("reproduced", "direction reproduced", "not reproduced", "not run here")
KEEP_TOLERANCE = 2.0  # accuracy points
PAPER_DATASET = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


@dataclass(frozen=True)
class Claim:
    id: str
    text: str  # the claim in our words
    table: int | str  # the paper's table it rests on ('fig4': Fig. 4, as Sec. 5.2 states it)
    method: str
    baseline: str
    metric: str = "acc"  # acc, head, mid or tail
    kind: str = "raises"  # 'raises' / 'lowers': method above / below baseline; 'keeps': within KEEP_TOLERANCE
    profile: str = "exp"
    imbalance: float = 100.0
    rho: float | None = None  # SAM's radius for `method` (None: Table 5's)
    baseline_rho: float | None = None


def sam_claim(method: str, table: int, metric: str = "acc", profile: str = "exp", imbalance: float = 100.0,
              kind: str = "raises") -> Claim:
    """'SAM raises (or keeps) <metric> of <method>': <method>+SAM against <method>, at Table 5's rho."""
    words = {"acc": "overall", "head": "head", "mid": "mid", "tail": "tail"}[metric]
    what = "keeps" if kind == "keeps" else "raises"
    where = f"{profile} profile, imbalance {imbalance:g}"
    return Claim(f"t{table}-{method.lower()}-sam-{metric}-{profile}-{imbalance:g}",
                 f"SAM {what} the {words} accuracy of {method} ({where})", table, f"{method}+SAM", method, metric,
                 kind, profile, imbalance)


# Sec. 5.1 and App. F: what SAM does to each method's accuracy (Tables 1, 2, 7, 8) and Table 4's comparison.
CLAIMS = (
    [sam_claim("CE+DRW", 1, m) for m in ("acc", "tail", "mid")] + [sam_claim("CE+DRW", 1, "head", kind="keeps")]
    + [sam_claim(m, 1, k) for m in ("LDAM+DRW", "VS") for k in ("acc", "tail")]
    + [Claim("t1-ce-sam-tail", "Without re-weighting, SAM leaves the tail accuracy about where it was "
             "(CE+SAM against CE)", 1,
             "CE+SAM", "CE", "tail", "keeps")]
    + [sam_claim(m, 2, k, profile="step") for m in ("CE+DRW", "LDAM+DRW", "VS") for k in ("acc", "tail")]
    + [sam_claim(m, 7, k, imbalance=b) for b in grid.IMBALANCES if b != 100  # imbalance 100 is Table 1
       for m in ("CE+DRW", "LDAM+DRW") for k in ("acc", "tail")]
    + [Claim(f"t4-{o.lower()}-tail", f"{o} raises CE+DRW's tail accuracy", 4, f"CE+DRW+{o}", "CE+DRW", "tail")
       for o in ("PGD", "LPF-SGD")]
    + [Claim(f"t4-sam-beats-{o.lower()}", f"CE+DRW+SAM beats CE+DRW+{o} overall", 4, "CE+DRW+SAM",
             f"CE+DRW+{o}") for o in ("PGD", "LPF-SGD")]
    + [Claim("f4-tail-rises", "Raising rho from 0.05 to 0.8 raises CE+DRW+SAM's tail accuracy", "fig4",
             "CE+DRW+SAM", "CE+DRW+SAM", "tail", rho=0.8, baseline_rho=0.05),
       Claim("f4-default-rho", "SAM's default rho 0.05 gives no real gain over SGD (CE+DRW)", "fig4", "CE+DRW+SAM",
             "CE+DRW", "acc", "keeps", rho=0.05),
       Claim("f4-large-rho-head", "A very large rho (0.8 against 0.5) lowers the head accuracy", "fig4",
             "CE+DRW+SAM", "CE+DRW+SAM", "head", "lowers", rho=0.8, baseline_rho=0.5)]
)

# Fig. 4 as the paper's text gives it (Sec. 5.2, CIFAR-10-LT, CE+DRW+SAM): tail accuracy about 63 % at rho 0.05 and
# 73 % at rho 0.8; the other points of the figure are not printed. Rho 0 and 0.5 are Table 1's CE+DRW(+SAM).
FIGURE4_PAPER = {0.05: {"tail": 63.0}, 0.8: {"tail": 73.0}}


def method_runs(method: str, scale: str, dataset: str, seeds, records: dict, profile: str = "exp",
                imbalance: float = 100.0, rho: float | None = None) -> list[dict] | None:
    """The completed records of one method over those of the seeds that ran, or None if none did (not run here)."""
    runs = [records.get(grid.method_config(method, scale, dataset=dataset, profile=profile, imbalance=imbalance,
                                           seed=s, rho=rho).run_id) for s in seeds]
    return [r for r in runs if r is not None and r["status"] == "complete"] or None


def mean_std(runs: list[dict], metric: str, which: str = "final") -> tuple[float, float, int]:
    values = [r["metrics"][which][metric] for r in runs]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return mean, std, len(values)


def paper_table(table, dataset: str):
    """The paper's table for a data set: the imbalance tables are 7 for CIFAR-10 (and the cpu scale), 8 for
    CIFAR-100."""
    return 8 if table == 7 and grid.RHO_COLUMN[dataset] == "cifar100" else table


def paper_value(method: str, table, dataset: str, metric: str, profile: str = "exp",
                imbalance: float = 100.0, rho: float | None = None) -> float | None:
    """A number of the paper's tables (the CIFAR-10 column stands in for the 10-class cpu scale), or of Fig. 4
    (table 'fig4', by rho)."""
    if table == "fig4":
        if rho is None or "SAM" not in method or rho == grid.table5_rho(method, dataset):
            return paper_value(method, 1, dataset, metric, profile, imbalance)
        return FIGURE4_PAPER.get(rho, {}).get(metric) if grid.RHO_COLUMN[dataset] == "cifar10" else None
    rows = book.paper_results(table=paper_table(table, dataset), dataset=PAPER_DATASET[grid.RHO_COLUMN[dataset]],
                              imbalance="LT" if profile == "exp" else "step", beta=int(imbalance),
                              method=method.replace("+", " + "))
    return rows[0]["metrics"].get(metric) if rows else None


def assess(claim: Claim, scale: str, dataset: str, seeds, records: dict, which: str = "final") -> dict:
    """One row of the scorecard: the paper's difference, ours (mean over the seeds that ran, with its standard
    error when both sides have two or more), verdict. `seeds`: a list, or a dict from table number to list."""
    table = paper_table(claim.table, dataset)
    if isinstance(seeds, dict):
        seeds = seeds[claim.table]
    sides = ((claim.method, claim.rho), (claim.baseline, claim.baseline_rho))
    paper = [paper_value(m, table, dataset, claim.metric, claim.profile, claim.imbalance, rho) for m, rho in sides]
    row = {"claim": claim.text, "table": table, "metric": claim.metric,
           "paper": None if None in paper else round(paper[0] - paper[1], 2)}
    runs = [method_runs(m, scale, dataset, seeds, records, claim.profile, claim.imbalance, rho) for m, rho in sides]
    if None in runs:
        return {**row, "ours": None, "s.e.": None, "seeds": 0, "verdict": "not run here"}
    (a, sa, na), (b, sb, nb) = (mean_std(r, claim.metric, which) for r in runs)
    diff = a - b
    se = math.sqrt(sa ** 2 / na + sb ** 2 / nb) if min(na, nb) > 1 else None
    if claim.kind == "keeps":
        if abs(diff) <= KEEP_TOLERANCE:
            verdict = "reproduced"
        else:  # outside the tolerance: inside the noise of the seeds at best
            verdict = "direction reproduced" if se is not None and abs(diff) - 2 * se <= KEEP_TOLERANCE else \
                "not reproduced"
    else:
        signed = diff if claim.kind == "raises" else -diff
        if signed <= 0:
            verdict = "not reproduced"
        else:
            verdict = "reproduced" if se is not None and signed > 2 * se else "direction reproduced"
    return {**row, "ours": round(diff, 2), "s.e.": None if se is None else round(se, 2), "seeds": min(na, nb),
            "verdict": verdict}


def assess_all(claims, scale: str, dataset: str, seeds, records: dict, which: str = "final") -> pd.DataFrame:
    return pd.DataFrame([assess(c, scale, dataset, seeds, records, which) for c in claims])


def side_by_side(methods, scale: str, dataset: str, seeds, records: dict, table: int, metrics=("acc", "head",
                 "mid", "tail"), profile: str = "exp", imbalance: float = 100.0, which: str = "final") -> pd.DataFrame:
    """A table as the paper prints it, ours (mean +- std over seeds) next to the paper's, one row per method."""
    rows = []
    for method in methods:
        runs = method_runs(method, scale, dataset, seeds, records, profile, imbalance)
        row = {"method": method}
        for metric in metrics:
            if runs is None:
                ours = "not run here"
            else:
                mean, std, n = mean_std(runs, metric, which)
                ours = f"{mean:.1f}" + (f" ± {std:.1f}" if n > 1 else "")
            paper = paper_value(method, table, dataset, metric, profile, imbalance)
            row[(metric, "ours")] = ours
            row[(metric, "paper")] = "" if paper is None else f"{paper:.1f}"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("method")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


# Each table's cells: (table, methods, metrics, profile, imbalances) and the row every other row is read against.
TABLE_LAYOUT = (
    (1, grid.METHODS, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (2, grid.METHODS, ("acc", "head", "tail"), "step", (100,)),
    (4, grid.BASELINES, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (7, ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM"), ("acc", "head", "mid", "tail"), "exp", grid.IMBALANCES),
)
REFERENCE = {1: "CE", 2: "CE", 4: "CE+DRW", 7: "CE+DRW"}
NOT_RUN_TABLES = {3: "ImageNet-LT and iNaturalist 2018 (chapter 5: no large-scale run here)",
                  9: "IB loss and PaCo (not implemented here)"}


def cells(scale: str, dataset: str, seeds, records: dict, which: str = "final") -> pd.DataFrame:
    """Every cell of the paper's CIFAR tables beside ours, with a verdict per cell. On the paper's own data a cell
    is reproduced when ours is within max(1 point, 2 std over seeds) of the paper's; elsewhere (the cpu scale) a
    cell is compared through its difference from the table's reference row (CE, or CE+DRW): same sign as the
    paper's difference is 'direction reproduced' (a paper difference under half a point asks ours to stay within
    KEEP_TOLERANCE). `seeds`: a list, or a dict from table number to list."""
    same_data = dataset in PAPER_DATASET
    rows = []
    for table, methods, metrics, profile, imbalances in TABLE_LAYOUT:
        table_seeds = seeds[table] if isinstance(seeds, dict) else seeds
        for b in imbalances:
            reference = method_runs(REFERENCE[table], scale, dataset, table_seeds, records, profile, b)
            for method in methods:
                runs = method_runs(method, scale, dataset, table_seeds, records, profile, b)
                for metric in metrics:
                    paper = paper_value(method, table, dataset, metric, profile, b)
                    paper_ref = paper_value(REFERENCE[table], table, dataset, metric, profile, b)
                    row = {"table": paper_table(table, dataset), "method": method,
                           "profile": profile, "imbalance": b, "metric": metric, "paper": paper, "ours": None,
                           "std": None, "seeds": 0, "verdict": "not run here"}
                    if runs is not None:
                        mean, std, n = mean_std(runs, metric, which)
                        row.update(ours=round(mean, 2), std=None if n < 2 else round(std, 2), seeds=n)
                        row["verdict"] = _cell_verdict(mean, std, n, paper, paper_ref, reference, metric, which,
                                                       same_data, method == REFERENCE[table])
                    rows.append(row)
    for table, why in NOT_RUN_TABLES.items():
        for r in book.paper_results(table=table):
            for metric, value in r["metrics"].items():
                rows.append({"table": table, "method": r["method"].replace(" + ", "+"), "profile": r["imbalance"],
                             "imbalance": r["beta"], "metric": metric, "paper": value, "ours": None, "std": None,
                             "seeds": 0, "verdict": "not run here"})
    return pd.DataFrame(rows)


def _cell_verdict(mean, std, n, paper, paper_ref, reference, metric, which, same_data, is_reference) -> str:
    if same_data and paper is not None:
        return "reproduced" if abs(mean - paper) <= max(1.0, 2 * std if n > 1 else 0) else (
            "not reproduced" if is_reference or reference is None else _direction(
                mean - mean_std(reference, metric, which)[0], paper - paper_ref))
    if is_reference:
        return "reference"
    if reference is None or paper is None or paper_ref is None:
        return "not run here" if reference is None else "no paper number"
    return _direction(mean - mean_std(reference, metric, which)[0], paper - paper_ref)


def _direction(ours: float, paper: float) -> str:
    if abs(paper) < 0.5:
        return "direction reproduced" if abs(ours) <= KEEP_TOLERANCE else "not reproduced"
    return "direction reproduced" if ours * paper > 0 else "not reproduced"


def count(verdicts: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict (all four keys, zeros included)."""
    return {v: int((verdicts["verdict"] == v).sum()) for v in VERDICTS}


def sentence(row) -> str:
    """A verdict row as one line of prose (markdown): the claim, the paper's difference, ours, the verdict."""
    paper = "the paper prints no number" if pd.isna(row["paper"]) else f"paper {row['paper']:+.1f}"
    if pd.isna(row["ours"]):
        ours = "no run at this scale yet"
    else:
        noise = "" if pd.isna(row["s.e."]) else f" ± {row['s.e.']:.1f} (s.e.)"
        ours = f"ours {row['ours']:+.1f}{noise} over {book.seeds_phrase([row['seeds']])}"
    where = f"Table {row['table']}" if row["table"] != "fig4" else "Fig. 4"
    data = f", {row['data']}" if "data" in row else ""
    return f"- **{row['claim']}** ({where}{data}): {paper}; {ours}. *{row['verdict']}*."
